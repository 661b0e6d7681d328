"""PDFs made by real programs for tests/test_pdf.py: img2pdf (scanned letters), pikepdf
(libqpdf: actions, attachments, forms, object streams), the qpdf command (object streams)
and Ghostscript's ps2pdf (text documents). Nothing here is shipped."""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import img2pdf
import pikepdf
from pikepdf import Array, Dictionary, Name, String
from PIL import Image

MIB = 1024 * 1024
HAVE_QPDF = shutil.which("qpdf") is not None
HAVE_GS = shutil.which("ps2pdf") is not None
HAVE_SOFFICE = shutil.which("soffice") is not None


def _jpeg_head() -> bytes:
    """The header of a real A4 300 dpi JPEG up to its scan data."""
    buf = io.BytesIO()
    Image.new("L", (2480, 3508), 255).save(buf, "JPEG")
    j = buf.getvalue()
    sos = j.index(b"\xff\xda")
    return j[:sos + 2 + int.from_bytes(j[sos + 2:sos + 4], "big")]


_HEAD = _jpeg_head()


def scanned_letter(seed: int, size: int) -> bytes:
    """A one-page scan as img2pdf makes it: one JPEG stream whose scan data is ``size``
    random bytes (compressed image data looks random), alternately by img2pdf's own writer
    and through pikepdf (linearized, a trailing xref)."""
    rng = random.Random(seed)
    engine = img2pdf.Engine.internal if seed % 2 else img2pdf.Engine.pikepdf
    return img2pdf.convert(_HEAD + rng.randbytes(size) + b"\xff\xd9", engine=engine)


def scan_sizes(count: int, seed: int = 13) -> list[int]:
    """Sizes of the benign scan corpus: mostly 0.2-4 MB letters, a few up to 15 MB."""
    rng = random.Random(seed)
    sizes = [rng.randrange(200_000, 4 * MIB) for _ in range(count - 5)]
    return [*sizes, 6 * MIB, 9 * MIB, 12 * MIB, 15 * MIB, 15 * MIB]


def _save(pdf: pikepdf.Pdf, objstm: bool) -> bytes:
    out = io.BytesIO()
    mode = pikepdf.ObjectStreamMode.generate if objstm else pikepdf.ObjectStreamMode.disable
    pdf.save(out, object_stream_mode=mode, compress_streams=True)
    return out.getvalue()


def _base(text: str = "Kinh gui cac don vi") -> pikepdf.Pdf:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    page = pdf.pages[0]
    font = pdf.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.Type1,
                                        BaseFont=Name.Helvetica))
    page.Resources = Dictionary(Font=Dictionary(F1=font))
    page.Contents = pdf.make_stream(f"BT /F1 12 Tf 72 760 Td ({text}) Tj ET".encode())
    return pdf


def with_open_action(action: Dictionary, objstm: bool) -> bytes:
    pdf = _base()
    pdf.Root.OpenAction = pdf.make_indirect(action)
    return _save(pdf, objstm)


def js_open_action(objstm: bool) -> bytes:
    return with_open_action(Dictionary(S=Name.JavaScript, JS=String("app.alert('x');")),
                            objstm)


def js_name_tree(objstm: bool) -> bytes:
    """Document-level JavaScript (the catalog's /Names /JavaScript tree)."""
    pdf = _base()
    js = pdf.make_indirect(Dictionary(S=Name.JavaScript,
                                      JS=pdf.make_stream(b"this.exportDataObject();")))
    pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([String("a"), js])))
    return _save(pdf, objstm)


def launch(objstm: bool) -> bytes:
    return with_open_action(Dictionary(S=Name.Launch, Win=Dictionary(
        F=String("cmd.exe"), P=String("/c calc.exe"))), objstm)


def page_open_uri(objstm: bool) -> bytes:
    """A page that opens a web address by itself when shown (/AA /O)."""
    pdf = _base()
    pdf.pages[0].AA = Dictionary(O=Dictionary(S=Name.URI, URI=String("http://evil.example/")))
    return _save(pdf, objstm)


def _annotation(pdf: pikepdf.Pdf, annot: Dictionary) -> None:
    pdf.pages[0].Annots = pdf.make_indirect(Array([pdf.make_indirect(annot)]))


def submit_form(url: str) -> bytes:
    pdf = _base()
    _annotation(pdf, Dictionary(Type=Name.Annot, Subtype=Name.Widget, Rect=[72, 72, 200, 100],
                                FT=Name.Btn, T=String("Gui"),
                                A=Dictionary(S=Name.SubmitForm, F=Dictionary(
                                    FS=Name.URL, F=String(url)))))
    pdf.Root.AcroForm = Dictionary(Fields=Array([pdf.pages[0].Annots[0]]))
    return _save(pdf, True)


def rich_media() -> bytes:
    pdf = _base()
    _annotation(pdf, Dictionary(Type=Name.Annot, Subtype=Name.RichMedia,
                                Rect=[72, 72, 200, 100],
                                RichMediaContent=Dictionary(Assets=Dictionary())))
    return _save(pdf, True)


def xfa(objstm: bool) -> bytes:
    pdf = _base()
    template = pdf.make_stream(b"<template xmlns='http://www.xfa.org/schema/xfa-template/3.3/'>"
                               b"</template>")
    pdf.Root.AcroForm = Dictionary(Fields=Array(), XFA=Array([String("template"), template]))
    return _save(pdf, objstm)


def attachment(name: str, data: bytes, objstm: bool = True, typed: bool = True) -> bytes:
    """``data`` attached as ``name``; ``typed=False`` drops the optional /Type /EmbeddedFile
    of its stream (readers open it through the file specification's /EF all the same)."""
    pdf = _base()
    pdf.attachments[name] = pikepdf.AttachedFileSpec(pdf, data, filename=name)
    if not typed:
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream) and obj.get("/Type") == Name.EmbeddedFile:
                del obj.Type
    return _save(pdf, objstm)


def benign_links_and_destination() -> bytes:
    """What ordinary documents have: a link annotation to a web page (clicked, not
    automatic) and an /OpenAction that only shows page 1."""
    pdf = _base("Xem tai https://hue.gov.vn")
    pdf.Root.OpenAction = Array([pdf.pages[0].obj, Name.Fit])
    _annotation(pdf, Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[72, 750, 300, 770],
                                A=Dictionary(S=Name.URI, URI=String("https://hue.gov.vn/"))))
    return _save(pdf, True)


def mentions_javascript(objstm: bool) -> bytes:
    """A security advisory: its text, and names in its (uncompressed) content stream, say
    /JavaScript, /JS, /Launch and /OpenAction."""
    pdf = _base()
    pdf.pages[0].Contents = pdf.make_stream(
        b"/JavaScript BMC BT /F1 12 Tf 72 760 Td (Tat /JavaScript va /JS, /Launch, "
        b"/OpenAction, /EmbeddedFile trong Adobe Reader) Tj ET EMC")
    out = io.BytesIO()
    mode = pikepdf.ObjectStreamMode.generate if objstm else pikepdf.ObjectStreamMode.disable
    pdf.save(out, object_stream_mode=mode, compress_streams=False)
    return out.getvalue()


def signed(base: bytes, seed: int = 1) -> bytes:
    """``base`` with a signature field whose /Sig dictionary has a /ByteRange and an 8 KB
    /Contents (PKCS#7-sized random bytes), saved as an incremental update as signing tools
    do."""
    rng = random.Random(seed)
    pdf = pikepdf.open(io.BytesIO(base))
    sig = pdf.make_indirect(Dictionary(
        Type=Name.Sig, Filter=Name("/Adobe.PPKLite"), SubFilter=Name("/adbe.pkcs7.detached"),
        ByteRange=Array([0, 1000, 17384, 2000]), Contents=String(rng.randbytes(8192)),
        Name=String("Nguyen Van A"), M=String("D:20260101090000+07'00'"),
        Reason=String("Ky so cong van")))
    field = pdf.make_indirect(Dictionary(
        FT=Name.Sig, Type=Name.Annot, Subtype=Name.Widget, T=String("Signature1"),
        Rect=[0, 0, 0, 0], F=132, V=sig, P=pdf.pages[0].obj))
    page = pdf.pages[0]
    if "/Annots" in page:
        page.Annots.append(field)
    else:
        page.Annots = pdf.make_indirect(Array([field]))
    if "/AcroForm" in pdf.Root:
        pdf.Root.AcroForm.Fields.append(field)
        pdf.Root.AcroForm.SigFlags = 3
    else:
        pdf.Root.AcroForm = Dictionary(Fields=Array([field]), SigFlags=3)
    out = io.BytesIO()
    pdf.save(out, compress_streams=True)
    return out.getvalue()


def run_tool(args: list[str], data: bytes, suffix: str = ".pdf") -> bytes:
    """``args`` on ``data`` (in) writing ``out``: qpdf IN OUT, ps2pdf IN OUT."""
    with tempfile.TemporaryDirectory() as d:
        src, dst = Path(d, "in" + suffix), Path(d, "out.pdf")
        src.write_bytes(data)
        subprocess.run([*args, str(src), str(dst)], check=True, capture_output=True,
                       timeout=60)
        return dst.read_bytes()


def qpdf_object_streams(data: bytes) -> bytes:
    return run_tool(["qpdf", "--object-streams=generate"], data)


def ps2pdf_letter(lines: list[str]) -> bytes:
    body = "\n".join(f"72 {760 - 16 * i} moveto ({line}) show" for i, line in enumerate(lines))
    ps = f"%!PS\n/Helvetica findfont 12 scalefont setfont\n{body}\nshowpage\n"
    return run_tool(["ps2pdf"], ps.encode(), ".ps")


def encrypted(data: bytes, revision: int, user: str = "", objstm: bool = True) -> bytes:
    """``data`` encrypted by qpdf (pikepdf) as writers do to restrict printing or copying:
    revision 3 (RC4-128), 4 (AES-128) or 6 (AES-256); an empty ``user`` password opens it
    without asking."""
    pdf = pikepdf.open(io.BytesIO(data))
    aes = revision >= 4
    enc = pikepdf.Encryption(owner="chu-so-huu", user=user, R=revision, aes=aes,
                             metadata=aes, allow=pikepdf.Permissions(extract=False))
    out = io.BytesIO()
    mode = pikepdf.ObjectStreamMode.generate if objstm else pikepdf.ObjectStreamMode.disable
    pdf.save(out, encryption=enc, object_stream_mode=mode)
    return out.getvalue()


def libreoffice_form_letter() -> bytes:
    """A web page with links and a form (text field, check box, submit button) exported to
    PDF by LibreOffice, as a unit's online form would be."""
    html = ("<html><body><h1>CONG VAN</h1><p>Huong dan tat JavaScript (/JS, /Launch) trong "
            "Adobe Reader.</p><p><a href='https://hue.gov.vn/'>Cong thong tin</a> "
            "<a href='mailto:tiepnhan@hue.gov.vn'>tiepnhan</a></p><form>"
            "<input type='text' name='hoten' value='Nguyen Van A'>"
            "<input type='checkbox' name='dongy'><input type='submit'></form></body></html>")
    with tempfile.TemporaryDirectory() as d:
        Path(d, "thu.html").write_text(html)
        subprocess.run(["soffice", f"-env:UserInstallation=file://{d}/profile", "--headless",
                        "--convert-to", "pdf:writer_web_pdf_Export", "--outdir", d,
                        str(Path(d, "thu.html"))], check=True, capture_output=True,
                       timeout=120)
        return Path(d, "thu.pdf").read_bytes()


def risky_pdfs() -> Iterator[tuple[str, bytes]]:
    """Every risky PDF of the tests: each must get at least quarantine."""
    for objstm in (False, True):
        tag = "objstm" if objstm else "plain"
        yield f"js-open-action-{tag}", js_open_action(objstm)
        yield f"js-names-tree-{tag}", js_name_tree(objstm)
        yield f"launch-{tag}", launch(objstm)
        yield f"page-open-uri-{tag}", page_open_uri(objstm)
        yield f"xfa-{tag}", xfa(objstm)
        yield f"embedded-exe-{tag}", attachment("hoa-don.exe", _pe(), objstm)
        yield f"embedded-exe-untyped-{tag}", attachment("hoa-don.exe", _pe(), objstm, False)
    yield "submit-form-http", submit_form("http://thu-thap.example/gui")
    yield "rich-media", rich_media()
    if HAVE_QPDF:
        yield "js-qpdf-object-streams", qpdf_object_streams(js_open_action(False))
    for revision in (3, 4, 6):
        yield f"js-encrypted-r{revision}", encrypted(js_open_action(False), revision)
    yield "js-password-protected", encrypted(js_open_action(False), 6, user="2468")


def benign_pdfs(scans: int = 100) -> Iterator[tuple[str, bytes]]:
    """The benign PDFs of the false-alarm corpus (none may alarm): ``scans`` scanned
    letters of 0.2-15 MB, then signed, copy-protected, text, form and Ghostscript PDFs."""
    for seed, size in enumerate(scan_sizes(scans)):
        yield f"scan-{seed}-{size}", scanned_letter(seed, size)
    bases = [("scan", scanned_letter(7, 2 * MIB)), ("advisory", mentions_javascript(True)),
             ("advisory-plain", mentions_javascript(False)),
             ("links", benign_links_and_destination())]
    if HAVE_GS:
        letter = ps2pdf_letter(["Huong dan: tat JavaScript (/JS, /Launch) trong trinh doc",
                                "Kinh gui cac don vi truc thuoc"])
        bases.append(("ps2pdf", letter))
        if HAVE_QPDF:
            bases.append(("ps2pdf-objstm", qpdf_object_streams(letter)))
    if HAVE_SOFFICE:
        bases.append(("libreoffice-form", libreoffice_form_letter()))
    for i, (name, data) in enumerate(bases):
        yield name, data
        yield f"{name}-signed", signed(data, seed=i)
        yield f"{name}-copy-protected", encrypted(data, (3, 4, 6)[i % 3])


def _pe() -> bytes:
    from tests import samples

    return samples.pe_exe()
