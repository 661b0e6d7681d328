"""Equation Editor 3.0 objects: the MTEF walk that finds CVE-2017-11882's long font names
(HUE-11.5/ole-object). The benign streams are LibreOffice's (tests/corpus/office/equation/)
and Equation Editor's own layout built by tests/office_samples.py."""

from __future__ import annotations

import struct
from pathlib import Path

import olefile

from congvu_guard.detectors import equation
from tests import office_samples as S

LIBREOFFICE_DOC = Path(__file__).parent / "corpus" / "office" / "equation" / "de-thi-toan.doc"


def _native(mtef: bytes) -> bytes:
    return struct.pack("<HIHIIIII", 28, 0x00020000, 0xC16D, len(mtef), 0, 0, 0, 0) + mtef


def test_the_equations_libreoffice_writes_have_no_long_font_name() -> None:
    ole = olefile.OleFileIO(str(LIBREOFFICE_DOC))
    streams = [p for p in ole.listdir() if p[-1] == "Equation Native"]
    assert len(streams) == 2
    for path in streams:
        assert equation.overflow(ole.openstream(path).read()) == 0


def test_a_font_record_is_read_to_its_terminator() -> None:
    assert equation.longest_font_name(S.equation_native(b"Times New Roman")) == 15
    assert equation.overflow(S.equation_native(b"Times New Roman")) == 0
    assert equation.overflow(S.equation_native(b"F" * 31)) == 0
    assert equation.overflow(S.equation_native(b"F" * 32)) == 32


def test_the_public_exploit_shape_is_an_overflow() -> None:
    assert equation.overflow(S.equation_native(S.EXPLOIT_FONT)) == len(S.EXPLOIT_FONT)


def test_a_name_without_terminator_runs_to_the_end_of_the_stream() -> None:
    mtef = b"\x03\x01\x01\x03\x0a\x0a\x01\x08\x5a\x5a" + b"A" * 40
    assert equation.overflow(_native(mtef)) == 40


def test_the_font_record_is_found_after_nudged_matrices_rulers_and_sizes() -> None:
    # A nudged LINE (large nudge: 128 128 and two 16-bit offsets) with line spacing and a
    # ruler of two stops, a MATRIX 2x3 (partitions: 1 byte for rows, 1 for columns), an
    # EMBELL, SIZE records of all three forms, then the FONT record.
    line = bytes([0x01 | (0x08 | 0x04 | 0x02) << 4])
    records = (line + b"\x80\x80\x10\x00\x20\x00" + b"\x05\x00"
               + b"\x02" + b"\x00\x10\x00\x01\x20\x00"
               + b"\x05\x01\x02\x01\x02\x03" + b"\x00" + b"\x00"
               + b"\x06\x05" + b"\x09\x65\x40\x01" + b"\x09\x64\x01\x00\x01" + b"\x09\x02\x80"
               + b"\x08\x83\x00" + b"N" * 50 + b"\x00" + b"\x00")
    assert equation.longest_font_name(_native(b"\x03\x01\x01\x03\x0a" + records)) == 50


def test_a_record_of_no_known_type_stops_the_walk() -> None:
    mtef = b"\x03\x01\x01\x03\x0a" + b"\x0f" + b"\x08\x83\x00" + b"N" * 50 + b"\x00"
    assert equation.longest_font_name(_native(mtef)) == 0


def test_a_header_that_lies_about_its_length_is_read_where_office_writes() -> None:
    good = S.equation_native(S.EXPLOIT_FONT)
    for cb in (0, 2, 0xFFFF):
        assert equation.overflow(struct.pack("<H", cb) + good[2:]) == len(S.EXPLOIT_FONT)


def test_truncated_and_empty_streams_do_not_raise() -> None:
    good = S.equation_native(S.EXPLOIT_FONT)
    for cut in range(len(good)):
        equation.longest_font_name(good[:cut])
