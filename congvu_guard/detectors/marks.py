"""HUE-11.2: is a block of text a state-secret classification mark (dấu chỉ độ mật)?

A mark is a block of its own, not a word in a sentence (Law on Protection of State Secrets
2018, Art. 8; Circular 24/2020/TT-BCA: the stamp "MẬT", "TỐI MẬT" or "TUYỆT MẬT", or the
line "Độ mật: ..."):

- a block that *is* a level, whatever the spacing ("M Ậ T", "TỐI  MẬT"), in NFC or NFD,
  Unicode or the legacy TCVN3 (.VnTime) and VNI encodings;
- "Độ mật: <one level>".

*mật khẩu*, *bảo mật*, *bí mật* never match (the block must be the level and nothing
else); neither do urgency marks (KHẨN, THƯỢNG KHẨN, HỎA TỐC), which are another kind of
mark (Decree 30/2020). Whether a standalone level counts also depends on where it is and how
it is written; :func:`judge` decides that for one document.

Everything works on blocks of at most a few hundred characters: no regular expression here
can backtrack.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .doctext import Block, BlockFilter

# Level names as in the law, by their key (spaces removed, lower case, NFC).
LEVELS = {"mật": "mat", "tốimật": "toi-mat", "tuyệtmật": "tuyet-mat"}
LEVEL_NAMES = {"mat": "MẬT", "toi-mat": "TỐI MẬT", "tuyet-mat": "TUYỆT MẬT"}
ORDER = {"mat": 1, "toi-mat": 2, "tuyet-mat": 3}
_DO_MAT = "độmật"
# Vietnamese typed without diacritics (common in mail): only the unambiguous forms, the
# two-word levels in upper case and the "Do mat: ..." line; a bare "MAT" is an English word.
_ASCII_LEVELS = {"toimat": "toi-mat", "tuyetmat": "tuyet-mat"}
_ASCII_EXPLICIT = {"mat": "mat", **_ASCII_LEVELS}
MAX_MARK_CHARS = 40  # "ĐỘ MẬT: TUYỆT MẬT" spaced out letter by letter is 33 characters
NEAR = 40  # a standalone upper-case level counts within the first NEAR blocks of a source
FIRST = 5  # mixed case ("Tối mật") only as one of the first FIRST blocks, or in a header
_INVISIBLE_CHARS = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_INVISIBLE = dict.fromkeys(map(ord, _INVISIBLE_CHARS), None)
_EDGE = " \t*-–—_.:;()[]{}<>\"'“”‘’«»|/\\#=~+!•·"

# TCVN3 (ABC, .VnTime fonts): the letters a mark needs and the rest of the lower-case table
# (the upper-case-only code points 0xA1-0xA7 included); .VnTimeH upper-case fonts store the
# lower-case code points, so a decoded block has no case.
_TCVN3 = dict(zip(
    map(ord, "µ¸¶·¹¨»¾¼½Æ©ÇÊÈÉË®ÌÐÎÏÑªÒÕÓÔÖ×ÝØÜÞßãáâä«åèæçé¬êíëìîïóñòô­õøö÷ùúýûüþ¡¢£¤¥¦§"),
    "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵĂÂÊÔƠƯĐ",
    strict=True))
# VNI: a base letter followed by one or two mark characters.
_VNI_MARKS = {
    "ø": "\u0300", "ù": "\u0301", "û": "\u0309", "õ": "\u0303", "ï": "\u0323",
    "â": "\u0302", "à": "\u0302\u0300", "á": "\u0302\u0301", "å": "\u0302\u0309",
    "ã": "\u0302\u0303", "ä": "\u0302\u0323",
    "ê": "\u0306", "è": "\u0306\u0300", "é": "\u0306\u0301", "ú": "\u0306\u0309",
    "ü": "\u0306\u0303", "ë": "\u0306\u0323",
}
_VNI_MARKS |= {k.upper(): v for k, v in _VNI_MARKS.items()}
_VNI_LETTERS = {"ô": "ơ", "Ô": "Ơ", "ö": "ư", "Ö": "Ư", "ñ": "đ", "Ñ": "Đ",
                "ò": "ị", "Ò": "Ị", "ó": "ĩ", "Ó": "Ĩ", "æ": "ỉ", "Æ": "Ỉ"}


def tcvn3_to_unicode(text: str) -> str:
    return text.translate(_TCVN3)


def vni_to_unicode(text: str) -> str:
    out: list[str] = []
    for ch in text:
        mark = _VNI_MARKS.get(ch)
        if mark is not None and out and out[-1][-1:].isalpha():
            out.append(mark)
        else:
            out.append(_VNI_LETTERS.get(ch, ch))
    return unicodedata.normalize("NFC", "".join(out))


@dataclass(frozen=True, slots=True)
class Candidate:
    level: str  # "mat", "toi-mat", "tuyet-mat"
    explicit: bool  # an "Độ mật: ..." line
    upper: bool  # written in upper case (or in a caseless legacy encoding)
    encoding: str  # "unicode", "tcvn3", "vni"


def _has_invisible(text: str) -> bool:
    # Six substring searches in C: under 1 µs on a 75-character Vietnamese line, where
    # the translate that removes them costs 7 µs even when there is nothing to remove.
    for char in _INVISIBLE_CHARS:  # noqa: SIM110 - any() over a generator is slower
        if char in text:
            return True
    return False


def _clean(text: str) -> str:
    if text.isascii():  # nothing invisible, already NFC: most lines of most mail
        return text.strip(_EDGE)
    if _has_invisible(text):
        text = text.translate(_INVISIBLE)
    text = unicodedata.normalize("NFC", text).replace("Ð", "Đ")
    return text.strip(_EDGE)


def _short(text: str) -> str | None:
    """``text`` cleaned, when it is short enough to be a mark."""
    if len(text) > 4 * MAX_MARK_CHARS:
        return None
    base = _clean(text)
    return base if 0 < len(base) <= MAX_MARK_CHARS else None


def may_be_mark(text: str) -> bool:
    """False when ``text`` cannot be a mark (``candidate`` would say None): the first test
    of ``candidate``, on its own. A message's text is made into blocks only where this
    holds (``BLOCK_FILTER``)."""
    return _short(text) is not None


# Lines of prose, proven in C not to be marks (``doctext.BlockFilter``): 41 characters or
# more from a letter or digit to a letter or digit, all of them Latin letters, digits,
# ASCII or typographic punctuation, or spaces, within the line's first 99 characters. None
# of these characters is invisible, a combining mark, or joined to the character before it
# by NFC, so each stays one character of the cleaned block, between its edges (the two
# letters): the cleaned block is longer than MAX_MARK_CHARS. NFD text, invisible
# characters and other scripts are not matched: those lines go through ``may_be_mark``.
_LETTER = r"0-9A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_PUNCT = r"\t\x20-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e\u2013\u2014\u2018\u2019\u201c\u201d\u2026"
_PROSE = (f"[{_PUNCT}]{{0,20}}+[{_LETTER}][{_PUNCT}{_LETTER}]{{{MAX_MARK_CHARS - 1},77}}"
          f"[{_LETTER}]")
BLOCK_FILTER = BlockFilter(may_be_mark, _PROSE)


def candidate(text: str) -> Candidate | None:
    """The level a block states, if the block is nothing but a mark."""
    base = _short(text)
    if base is None:
        return None
    if base.isascii():
        return _ascii_candidate(base)
    variants = [("unicode", base), ("tcvn3", _clean(tcvn3_to_unicode(base))),
                ("vni", _clean(vni_to_unicode(base)))]
    for encoding, s in variants:
        key = "".join(s.split())
        low = key.lower()
        level = LEVELS.get(low)
        if level is not None:
            upper = key.isupper() or (encoding == "tcvn3" and s != base)
            return Candidate(level, False, upper, encoding)
        if low.startswith(_DO_MAT):
            rest = low[len(_DO_MAT):].lstrip(":").strip(_EDGE)
            if low[len(_DO_MAT):len(_DO_MAT) + 1] == ":" and rest in LEVELS:
                return Candidate(LEVELS[rest], True, True, encoding)
    return None


def _ascii_candidate(text: str) -> Candidate | None:
    key = "".join(text.split())
    low = key.lower()
    if low in _ASCII_LEVELS and key.isupper():
        return Candidate(_ASCII_LEVELS[low], False, True, "ascii")
    if low.startswith("domat:") and low[6:].strip(_EDGE) in _ASCII_EXPLICIT:
        return Candidate(_ASCII_EXPLICIT[low[6:].strip(_EDGE)], True, True, "ascii")
    return None


def subject_candidate(subject: str) -> Candidate | None:
    """A subject that is a level, or starts with one: "[MẬT] Kế hoạch ...", "TỐI MẬT - ..."."""
    head = subject.strip()[:4 * MAX_MARK_CHARS]
    found = candidate(head)
    if found is not None:
        return found
    if head[:1] in ("[", "("):
        close = head.find("]" if head[0] == "[" else ")", 1, MAX_MARK_CHARS + 2)
        if close > 0:
            return candidate(head[1:close])
        return None
    for sep in (" - ", " – ", ":"):
        cut = head.find(sep, 1, MAX_MARK_CHARS + 1)
        if cut > 0:
            c = candidate(head[:cut])
            if c is not None and c.upper and not c.explicit:
                return c
    return None


@dataclass(frozen=True, slots=True)
class Mark:
    level: str
    where: str
    encoding: str


def judge(blocks: Sequence[Block]) -> list[Mark]:
    """The marks of one document (all its blocks, every source).

    - "Độ mật: X" always counts;
    - a standalone upper-case level counts near the start of its source (first NEAR
      blocks) or in a page header/footer; mixed case ("Tối mật") only in the first FIRST
      blocks or a header;
    - a document that shows two or more different levels as standalone blocks is *about* the
      levels (a training table of the three stamps), not classified: those do not count,
      except in a page header.
    """
    explicit: list[Mark] = []
    standalone: list[Mark] = []
    headers: list[Mark] = []  # no training text puts a level in its page header
    shown: set[str] = set()  # levels standing alone anywhere in the document
    for b in blocks:
        c = candidate(b.text)
        if c is None:
            continue
        mark = Mark(c.level, b.where, c.encoding)
        if c.explicit:
            explicit.append(mark)
            continue
        shown.add(c.level)
        if b.header:
            headers.append(mark)
        elif b.rank < (NEAR if c.upper else FIRST):
            standalone.append(mark)
    if len(shown) > 1:
        standalone = []
    return explicit + headers + standalone


def highest(marks: Iterable[Mark]) -> str:
    return max((m.level for m in marks), key=ORDER.__getitem__, default="")
