"""Equation Editor 3.0 objects (HUE-11.5/ole-object): the font-name overflow of CVE-2017-11882.

An ``Equation Native`` stream is a 28-byte header (EQNOLEFILEHDR, its first two bytes give
its length) and an equation in MathType's MTEF version 3: a 5-byte header, then records, a
tag byte each (low nibble the type, high nibble options). Equation Editor 3.0
(EQNEDT32.EXE) copies the name of a FONT record into a fixed stack buffer:
CVE-2017-11882 and CVE-2018-0802 are names long enough to overwrite the return address
(the public exploits and the RTF weaponisers used against Vietnamese agencies write a
command and 44 or more bytes there). A font's name has at most 31 characters (LOGFONT's
lfFaceName is 32 with its terminator), so a longer one is an exploit, not an equation.

The records are walked in order (an object list is simply the records that follow, up to an
END): a record of an unknown type, or one that runs past the data, stops the walk, and what
was found before counts. Linear in the stream, at most ``MAX_RECORDS`` records.
"""

from __future__ import annotations

LONGEST_FONT_NAME = 31
MAX_RECORDS = 100_000
_HEADER = 28  # EQNOLEFILEHDR
_MTEF_HEADER = 5  # version, platform, product, product version, product subversion
_NUDGE = 0x08  # option: nudge values follow the tag
_RULER = 0x02  # LINE and PILE option: a ruler follows
_LSPACE = 0x04  # LINE option: a line spacing value follows


def longest_font_name(native: bytes) -> int:
    """The length of the longest FONT name the walk reaches (an unterminated name runs to
    the end of the stream); 0 when there is none."""
    start = int.from_bytes(native[:2], "little") if len(native) >= 2 else _HEADER
    if not _HEADER <= start < len(native):  # a header that lies: read where Office writes
        start = _HEADER
    mtef = native[start:]
    n, pos, longest = len(mtef), _MTEF_HEADER, 0
    for _ in range(MAX_RECORDS):
        if pos >= n:
            break
        tag = mtef[pos]
        kind, options = tag & 0x0F, tag >> 4
        pos += 1
        if kind in (1, 2, 3, 4, 5, 6) and options & _NUDGE:
            big = pos + 1 < n and mtef[pos] == 128 and mtef[pos + 1] == 128
            pos += 6 if big else 2
        if kind == 0 or 10 <= kind <= 14:  # END; FULL, SUB, SUB2, SYM, SUBSYM sizes
            continue
        if kind == 8:  # FONT: typeface, style, then the name up to its terminator
            end = mtef.find(b"\0", pos + 2)
            name_end = n if end < 0 else end
            longest = max(longest, name_end - (pos + 2))
            pos = name_end + 1
        elif kind == 1:  # LINE
            pos += 2 if options & _LSPACE else 0
            pos = _ruler(mtef, pos) if options & _RULER else pos
        elif kind == 2 or kind == 3:  # CHAR: typeface, MTCode; TMPL: selector, variation, options
            pos += 3
        elif kind == 4:  # PILE: halign, valign
            pos += 2
            pos = _ruler(mtef, pos) if options & _RULER else pos
        elif kind == 5:  # MATRIX: valign, h_just, v_just, rows, cols, partition line types
            if pos + 5 > n:
                break
            rows, cols = mtef[pos + 3], mtef[pos + 4]
            pos += 5 + -(-(rows + 1) * 2 // 8) + -(-(cols + 1) * 2 // 8)
        elif kind == 6:  # EMBELL: its type
            pos += 1
        elif kind == 7:  # RULER
            pos = _ruler(mtef, pos)
        elif kind == 9:  # SIZE: 101 and a point size, 100 and lsize and a large dsize, or two
            pos += 3 if pos < n and mtef[pos] == 101 else 4 if pos < n and mtef[pos] == 100 \
                else 2
        else:
            break  # not an MTEF 3 record: the walk stops here
    return longest


def _ruler(mtef: bytes, pos: int) -> int:
    """Past a ruler: a count of tab stops, 3 bytes each."""
    return pos + 1 + 3 * mtef[pos] if pos < len(mtef) else pos + 1


def overflow(native: bytes) -> int:
    """The font name's length when it is longer than any font's, else 0."""
    longest = longest_font_name(native)
    return longest if longest > LONGEST_FONT_NAME else 0
