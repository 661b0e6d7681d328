"""Issue 17: a container opened once is not opened again for the next message
(``content.ExpansionCache``): the replay adds exactly the files and events a new opening
would, under the new message's paths, and only when the message has room left under every
limit; an opening shaped by a limit is not remembered."""

from __future__ import annotations

import io
import zipfile

from congvu_guard.detectors.budget import ScanBudget
from congvu_guard.detectors.content import Content, ScanLimits, expand, expansion_cache
from congvu_guard.message import parse_message
from tests import samples
from tests.helpers import EICAR
from tests.office_samples import word_doc


def encrypted_zip() -> bytes:
    """One member with the encryption flag set (enough for the "encrypted" event)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("secret.txt", b"x" * 100)
    data = bytearray(buf.getvalue())
    data[6] |= 1  # local header flags
    cd = data.find(b"PK\x01\x02")
    data[cd + 8] |= 1  # central directory flags
    return bytes(data)


def bundle() -> bytes:
    """A zip with a document, a nested zip holding EICAR, and an encrypted zip."""
    inner = samples.zip_of({"eicar.com": EICAR, "ghi-chu.txt": b"Xin chao"})
    return samples.zip_of({"bao-cao.docx": word_doc("Bao cao thang"), "goi.zip": inner,
                           "khoa.zip": encrypted_zip()})


def message(*zips: tuple[str, bytes], subject: str = "goi tai lieu") -> bytes:
    return samples.mime_message(subject, [(name, "application/zip", data)
                                          for name, data in zips])


def shape(content: Content) -> tuple[object, ...]:
    return (tuple((f.path, f.name, f.declared_type, f.data, f.depth, f.level, f.container,
                   f.kind, f.sha256) for f in content.files),
            tuple((e.path, e.event, e.detail) for e in content.events),
            content.expanded_bytes)


def expanded(raw: bytes, cache=None, limits: ScanLimits | None = None) -> Content:
    limits = limits or ScanLimits()
    return expand(parse_message(raw), limits, ScanBudget(max_bytes=limits.max_total_bytes),
                  cache)


def test_a_container_seen_before_is_replayed_as_a_new_opening_would_add_it() -> None:
    cache = expansion_cache()
    first = expanded(message(("goi.zip", bundle())), cache)
    assert len(cache) >= 1 and cache.hits == 0
    assert {e.event for e in first.events} >= {"encrypted"}
    # Elsewhere in another message: one text part more moves every path.
    raw = message(("truoc.zip", samples.zip_of({"a.txt": b"a"})), ("goi.zip", bundle()))
    again = expanded(raw, cache)
    assert cache.hits >= 1
    assert shape(again) == shape(expanded(raw))
    assert any(f.path.endswith("goi.zip:goi.zip:eicar.com") and f.data == EICAR
               for f in again.files)


def test_a_replay_that_would_not_fit_the_message_limits_opens_the_container_again() -> None:
    cache = expansion_cache()
    expanded(message(("goi.zip", bundle())), cache)
    members = expanded(message(("goi.zip", bundle()))).files
    # Room for the first bundle's members, not for the second's: the second must end in
    # the same "too-many" event and names-only members as without the cache.
    limits = ScanLimits(max_members=len([f for f in members if f.data]) + 1)
    raw = message(("mot.zip", bundle()), ("hai.zip", bundle()))
    assert shape(expanded(raw, cache, limits)) == shape(expanded(raw, None, limits))
    assert any(e.event == "too-many" for e in expanded(raw, cache, limits).events)


def test_an_opening_cut_by_a_message_limit_is_not_remembered() -> None:
    cache = expansion_cache()
    content = expanded(message(("goi.zip", bundle())), cache, ScanLimits(max_members=2))
    assert any(e.event == "too-many" for e in content.events)
    remembered = [rec.origin for rec, _ in cache._items.values()]
    # The document before the cut was opened in full and may be kept; the zip was cut.
    assert "2/goi.zip" not in remembered and "2/goi.zip:goi.zip" not in remembered


def test_the_cache_off_opens_every_container() -> None:
    from congvu_guard.verdict_cache import VerdictCache

    off = VerdictCache(max_entries=0)
    expanded(message(("goi.zip", bundle())), off)
    expanded(message(("goi.zip", bundle())), off)
    assert len(off) == 0 and off.hits == 0


def test_a_pdf_seen_before_keeps_its_reading_and_its_findings() -> None:
    from congvu_guard.detectors import pdf

    cache = expansion_cache()
    raw = samples.mime_message("cong van", [("cv.pdf", "application/pdf", samples.pdf(True))])
    first = next(f for f in expanded(raw, cache).files if f.kind == "pdf")
    again = next(f for f in expanded(raw, cache).files if f.kind == "pdf")
    assert again is not first and cache.hits >= 1
    report = pdf.report_of(again)  # not read a second time: the first reading is shared
    assert report is not None and report is pdf.report_of(first)
    assert any("JavaScript" in r.label for r in report.risks)
