"""Message text for people (issue 21): header values decoded whatever the sender's
charset, the original header block for the detail page, long tokens shortened."""

from __future__ import annotations

import codecs
import email.header
import unicodedata

# Charset labels mail clients write that Python does not know by that name.
_ALIASES = {"utf8": "utf-8", "unicode-1-1-utf-7": "utf-7", "x-unknown": "utf-8",
            "unknown-8bit": "utf-8", "windows-874": "cp874", "x-viet-vps": "cp1258",
            "viscii": "cp1258", "tcvn": "cp1258", "x-user-defined": "latin-1"}
MAX_HEADER_BLOCK = 64 * 1024


def _codec(charset: str | None) -> str:
    name = (charset or "utf-8").strip().lower().split("*", 1)[0]  # RFC 2231 language
    name = _ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "utf-8"


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Bytes in a declared charset; undeclared 8-bit text is tried as UTF-8, then as
    Windows-1258 (Vietnamese), and never raises."""
    if charset:
        return data.decode(_codec(charset), "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1258", "replace")


def decode_header_text(value: str, limit: int = 2000) -> str:
    """A header value as text: RFC 2047 words decoded in any charset (unknown ones as
    UTF-8), 8-bit bytes kept as surrogates decoded, whitespace collapsed."""
    value = value[:limit * 4]
    if "=?" in value and "?=" in value:  # encoded words (the stdlib finds them)
        try:
            chunks = email.header.decode_header(value)
            value = "".join(d.decode(_codec(c), "replace") if isinstance(d, bytes) else d
                            for d, c in chunks)
        except (ValueError, LookupError, AssertionError, IndexError):
            pass
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        value = decode_bytes(value.encode("utf-8", "surrogateescape"))
    # NFC: Windows-1258 writes tone marks as combining characters; search needs one form.
    return unicodedata.normalize("NFC", " ".join(value.split()))[:limit]


def header_block(raw: bytes) -> str:
    """The message's header block as stored (up to the first empty line), as text."""
    end = len(raw)
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = raw.find(sep, 0, MAX_HEADER_BLOCK)
        if i >= 0:
            end = min(end, i)
    return decode_bytes(raw[:min(end, MAX_HEADER_BLOCK)])


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters; the cut is marked with an ellipsis."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def raw_header(raw: bytes, name: str) -> str | None:
    """The first ``name`` header straight from the bytes, decoded for people: 8-bit values
    (SMTPUTF8 or old clients) as UTF-8 or Windows-1258, encoded words in any charset. The
    stdlib parser turns each 8-bit byte into a replacement character (issue 21)."""
    block = raw[:MAX_HEADER_BLOCK]
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = block.find(sep)
        if i >= 0:
            block = block[:i]
    want = name.lower().encode() + b":"
    lines = block.replace(b"\r\n", b"\n").split(b"\n")
    for n, line in enumerate(lines):
        if line[:len(want)].lower() == want:
            value = line[len(want):]
            for cont in lines[n + 1:]:
                if cont[:1] not in (b" ", b"\t"):
                    break
                value += b" " + cont.strip()
            return decode_header_text(decode_bytes(value.strip()))
    return None
