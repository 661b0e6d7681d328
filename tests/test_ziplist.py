"""The zip member list (detectors/ziplist.py): the signature search that skips the listed
members' data finds exactly what a search of every byte finds outside that data."""

from __future__ import annotations

import struct
import zipfile

from hypothesis import given, settings
from hypothesis import strategies as st

from congvu_guard.detectors import ziplist
from congvu_guard.detectors.ziplist import Entry
from tests import samples


def _reference(data: bytes) -> list[Entry]:
    """The plain definition: a search of every byte; a signature inside a listed member's
    data is that member's content (a stored zip in a zip), and a header's name is not
    searched for further headers."""
    central = ziplist.central_entries(data)
    seen = {e.name for e in central}
    spans = ziplist._data_spans(data, central)
    out: list[Entry] = []
    pos = data.find(b"PK\x03\x04")
    while pos >= 0 and pos + 30 <= len(data):
        if any(a <= pos < b for a, b in spans):
            pos = data.find(b"PK\x03\x04", pos + 1)
            continue
        flags, method, comp, usize, nlen = struct.unpack_from("<2xHH8xIIH", data, pos + 4)
        name = ziplist._name(data[pos + 30:pos + 30 + nlen], flags)
        if name and name not in seen:
            out.append(Entry(name, method, flags, comp, usize, pos, "local"))
        pos = data.find(b"PK\x03\x04", pos + 30 + nlen)
    return central + out


def _zip(members: dict[str, bytes]) -> bytes:
    return samples.zip_of(members, zipfile.ZIP_STORED)


def test_local_headers_inside_a_stored_member_are_not_members_of_the_outer_zip() -> None:
    inner = _zip({"hoa-don.exe": b"MZ" + b"\0" * 100})
    outer = _zip({"ho-so.zip": inner, "a.txt": b"x"})
    names = [e.name for e in ziplist.all_entries(outer)]
    assert names == ["ho-so.zip", "a.txt"]


def test_a_member_hidden_from_the_central_directory_is_still_listed() -> None:
    shown = _zip({"a.txt": b"hello"})
    hidden = _zip({"hoa-don.pdf.exe": b"MZ"})
    cd = hidden.rfind(b"PK\x01\x02")
    data = hidden[:cd] + shown  # a local header before an archive that does not list it
    # The outer directory's offsets now point too early; the names still come out.
    assert "hoa-don.pdf.exe" in [e.name for e in ziplist.all_entries(data)]


_PIECES = st.sampled_from([b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"\0" * 30, b"a.txt",
                           b"x" * 7, b"\xff" * 4])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text("abc/.", min_size=1, max_size=6), st.binary(max_size=300),
                       max_size=4),
       st.booleans(), st.lists(st.tuples(st.integers(0, 2000), _PIECES), max_size=6))
def test_skipping_member_data_lists_what_a_search_of_every_byte_lists(
        members: dict[str, bytes], nest: bool, edits: list[tuple[int, bytes]]) -> None:
    if nest:  # a stored zip inside a stored zip: signatures inside member data
        members = {**members, "inner.zip": _zip(members or {"i.txt": b"i"})}
    data = bytearray(_zip(members))
    for at, piece in edits:  # planted signatures and damage anywhere, directory included
        at = at % (len(data) + 1)
        data[at:at + len(piece)] = piece
    raw = bytes(data)
    assert ziplist.all_entries(raw) == _reference(raw)
