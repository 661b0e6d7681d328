"""HUE-11.5: the attachments of an Outlook message saved as a file (``.msg``, MS-OXMSG).

A ``.msg`` is an OLE2 compound file. Each attachment is a storage named
``__attach_version1.0_#`` and eight hex digits (``#00000000`` for the first), holding its
data (``__substg1.0_37010102``, PidTagAttachDataBinary) and its names
(PidTagAttachLongFilename 0x3707, PidTagAttachFilename 0x3704, Unicode ``001F`` or 8-bit
``001E``); an attached message is a storage
``__substg1.0_3701000D`` (PidTagAttachDataObject) with the same layout inside. Outlook shows
these attachments when the file is opened, and a ``.zip`` or ``.html`` in one is opened with
a double-click: until 2026-12-02 the scanner only looked for OLE Package objects in a
``.msg``, so whatever it carried passed unseen.

Pure: bytes in, (name, bytes) out. Nesting is bounded (``MAX_DEPTH``); how many attachments
and bytes are taken out is decided by the expander's ``take`` for each one.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import olefile

from .filetypes import safe_name

ATTACH = "__attach_version1.0_#"
_DATA = "__substg1.0_37010102"
_EMBEDDED = "__substg1.0_3701000D"
# Long file name, then the 8.3 one; Unicode, then 8-bit.
_NAMES = ("__substg1.0_3707001F", "__substg1.0_3707001E",
          "__substg1.0_3704001F", "__substg1.0_3704001E")
MAX_DEPTH = 8  # messages attached to messages; the expander's depth limit applies on top
MAX_ATTACHMENTS = 1_000  # read at most (the default [scan] max_members): the rest a finding


def is_msg(names: list[list[str]]) -> bool:
    """An OLE2 file with the property stream and attachment storages of an Outlook item."""
    return any(p[0].startswith(ATTACH) for p in names) and ["__properties_version1.0"] in names


def attachments(data: bytes) -> Iterator[tuple[str, bytes]]:
    """(file name, content) of every attachment with data, those of attached messages too
    (their names after the attached message's own: ``thu-chuyen-tiep/hoa-don.exe``)."""
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        names = ole.listdir()
        yield from _attachments(ole, {tuple(p) for p in names}, (), "", 0)


def _attachments(ole: olefile.OleFileIO, paths: set[tuple[str, ...]], prefix: tuple[str, ...],
                 label: str, depth: int) -> Iterator[tuple[str, bytes]]:
    if depth > MAX_DEPTH:
        return
    n = len(prefix)
    storages = sorted({p[:n + 1] for p in paths
                       if len(p) > n + 1 and p[:n] == prefix and p[n].startswith(ATTACH)})
    for i, storage in enumerate(storages, 1):
        name = _name(ole, paths, storage) or f"attachment-{i}.bin"
        shown = f"{label}/{name}" if label else name
        if (*storage, _DATA) in paths:
            yield shown, ole.openstream([*storage, _DATA]).read()
        inner = (*storage, _EMBEDDED)
        if any(p[:len(inner)] == inner for p in paths):
            yield from _attachments(ole, paths, inner, shown, depth + 1)


def _name(ole: olefile.OleFileIO, paths: set[tuple[str, ...]], storage: tuple[str, ...]) -> str:
    for stream in _NAMES:
        if (*storage, stream) in paths:
            raw = ole.openstream([*storage, stream]).read(2048)
            text = raw.decode("utf-16-le" if stream.endswith("1F") else "cp1252", "replace")
            if name := safe_name(text, ""):
                return name
    return ""
