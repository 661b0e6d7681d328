"""The benign corpus: messages of the kinds official mail carries, built at test time.

``BUILDERS`` is a list of ``(name, build)``: ``build()`` returns one complete RFC 5322
message (bytes). Other corpora add theirs with ``BUILDERS.extend(...)`` (scanned PDFs,
Office documents without macros); the false-alarm test runs every entry. Everything is
deterministic (seeded), so a false alarm reproduces.

What is here: zips of PDFs, PDFs, HTML newsletters (with inline images), calendar invites,
S/MIME signed mail (openssl with a throwaway certificate made on first use), PNG/GIF/JPEG
and SVG images, CSV/TXT (semicolon CSVs too), ODT/ODS written with the real OpenDocument
layout (``mimetype`` stored first) and ODT/DOCX/PDF/ODS/XLSX written by LibreOffice
(headless, when installed), RAR 4/5, tar.gz/.xz/.bz2/.zst and 7z of documents, forwarded mail,
plain replies that mention passwords and scripts in prose.
"""

from __future__ import annotations

import base64
import functools
import io
import random
import shutil
import subprocess
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from tests import carrier_samples as cs
from tests import samples
from tests.helpers import token

Builder = tuple[str, Callable[[], bytes]]

SENTENCES = [
    "Kính gửi: Các sở, ban, ngành; UBND các huyện, thị xã và thành phố.",
    "Thực hiện Công văn số 1234/UBND-KT ngày 15/11/2026 của UBND tỉnh về việc triển khai kế "
    "hoạch chuyển đổi số năm 2027.",
    "Đề nghị các đơn vị báo cáo kết quả thực hiện trước ngày 20/12/2026.",
    "Mọi thông tin chi tiết xin liên hệ Văn phòng Sở, điện thoại 0234.3822.xxx.",
    "Nơi nhận: Như trên; Lưu: VT, KHTC.",
    "Tài liệu họp được gửi kèm theo thư này để các đại biểu nghiên cứu trước.",
    "Bảng tổng hợp số liệu quý IV, đề nghị rà soát và phản hồi.",
    "Giấy mời họp giao ban tháng 12, thời gian 8 giờ 00 sáng thứ Hai.",
    "Quyết định phê duyệt dự toán kinh phí năm 2027 kèm theo.",
    "Thông báo lịch tiếp công dân của lãnh đạo Sở.",
]
ORGS = ["So Tai chinh", "So Noi vu", "UBND huyen Phu Vang", "Van phong UBND tinh",
        "So Thong tin va Truyen thong", "Ban Quan ly du an", "Kho bac Nha nuoc"]


def _rng(seed: str) -> random.Random:
    return random.Random(zlib.crc32(seed.encode()))


def _text(r: random.Random, n: int = 4) -> str:
    return "\r\n".join(r.choice(SENTENCES) for _ in range(n))


def _head(r: random.Random, subject: str, extra: str = "") -> str:
    org = r.choice(ORGS)
    return (f"From: {org} <vanthu{r.randrange(1, 40)}@hue.gov.vn>\r\n"
            f"To: <bob@hue.gov.vn>\r\nSubject: {subject}\r\n"
            f"Date: Mon, {r.randrange(1, 28)} Dec 2026 08:{r.randrange(10, 59)}:00 +0700\r\n"
            f"Message-ID: <{token()}@hue.gov.vn>\r\nMIME-Version: 1.0\r\n{extra}")


def _with_files(r: random.Random, subject: str, files: list[tuple[str, str, bytes]]) -> bytes:
    return samples.mime_message(subject, files, body=_text(r),
                                sender=f"vanthu{r.randrange(1, 40)}@hue.gov.vn")


# Documents -------------------------------------------------------------------------------------
def pdf_text(r: random.Random, pages: int = 1) -> bytes:
    """A PDF 1.4 with Flate-compressed text pages, a font and a correct xref table."""
    objs: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for _ in range(pages):
        lines = "".join(f"({r.choice(SENTENCES).encode('ascii', 'replace').decode()}) Tj "
                        "0 -14 Td " for _ in range(8))
        stream = zlib.compress(f"BT /F1 11 Tf 50 780 Td {lines} ET".encode())
        objs.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream)
                    + stream + b"\nendstream")
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
                    b"/Resources << /Font << /F1 %d 0 R >> >> >>"
                    % (len(objs), 3 + 2 * pages))
        kids.append(len(objs))
    objs[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids), pages)
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objs.append(b"<< /Producer (LibreOffice 7.4) /Title (Cong van) >>")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += (b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objs) + 1, len(objs), xref))
    return bytes(out)


def _odf(kind: str, body: str) -> bytes:
    """An OpenDocument package as LibreOffice writes it: ``mimetype`` first and stored, the
    manifest, content, styles and meta parts."""
    mime = f"application/vnd.oasis.opendocument.{kind}"
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), mime, compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/manifest.xml",
                   '<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest xmlns:manifest='
                   '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
                   f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mime}"/>'
                   '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type='
                   '"text/xml"/><manifest:file-entry manifest:full-path="styles.xml" '
                   'manifest:media-type="text/xml"/></manifest:manifest>')
        z.writestr("content.xml", f'<?xml version="1.0" encoding="UTF-8"?>\n'
                   f'<office:document-content {ns} office:version="1.3"><office:body>'
                   f"{body}</office:body></office:document-content>")
        z.writestr("styles.xml", f'<?xml version="1.0" encoding="UTF-8"?>\n'
                   f'<office:document-styles {ns} office:version="1.3"/>')
        z.writestr("meta.xml", '<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta '
                   'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
                   'office:version="1.3"><office:meta/></office:document-meta>')
    return buf.getvalue()


def odt(r: random.Random) -> bytes:
    paras = "".join(f"<text:p>{r.choice(SENTENCES)}</text:p>" for _ in range(12))
    return _odf("text", f"<office:text>{paras}</office:text>")


def ods(r: random.Random) -> bytes:
    rows = "".join(
        "<table:table-row>" + "".join(
            f'<table:table-cell office:value-type="float" office:value="{r.randrange(10**6)}">'
            f"<text:p>{r.randrange(10**6)}</text:p></table:table-cell>" for _ in range(5))
        + "</table:table-row>" for _ in range(20))
    return _odf("spreadsheet", f'<office:spreadsheet><table:table table:name="Tong hop">'
                f"{rows}</table:table></office:spreadsheet>")


def csv_file(r: random.Random, sep: str) -> bytes:
    head = sep.join(["ID", "Phong ban", "Ho ten", "So tien", "Ghi chu"])
    rows = [sep.join([str(i), r.choice(ORGS), f"Nguyen Van {chr(65 + i % 26)}",
                      str(r.randrange(10**7)), "=SUM(D2:D5)" if i == 3 else ""])
            for i in range(1, 30)]
    return ("\ufeff" if sep == ";" else "").encode() + "\r\n".join([head, *rows]).encode()


def gif(r: random.Random) -> bytes:
    """A 1x1 GIF89a with a random colour."""
    c = bytes(r.randrange(256) for _ in range(3))
    return (b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + c + b"\xff\xff\xff"
            b"!\xf9\x04\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def jpeg(r: random.Random, size: int) -> bytes:
    """A JFIF header and random entropy-coded bytes (a photo's shape, as scanners see it)."""
    return (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            + r.randbytes(size) + b"\xff\xd9")


# Messages ------------------------------------------------------------------------------------
def _zip_of_pdfs(i: int) -> bytes:
    r = _rng(f"zip{i}")
    files = {f"{'ho-so/' if i % 3 == 0 else ''}cong-van-{n}.pdf": pdf_text(r, 1 + n % 3)
             for n in range(1 + i % 4)}
    mode = zipfile.ZIP_STORED if i % 5 == 0 else zipfile.ZIP_DEFLATED
    return _with_files(r, f"Ho so so {i}", [(f"ho-so-{i}.zip", "application/zip",
                                             samples.zip_of(files, mode))])


def _pdf_message(i: int) -> bytes:
    r = _rng(f"pdf{i}")
    return _with_files(r, f"Cong van {i}", [(f"cv-{i}.pdf", "application/pdf",
                                            pdf_text(r, 1 + i % 4))])


def _newsletter(i: int) -> bytes:
    r = _rng(f"news{i}")
    items = "".join(
        f'<tr><td style="padding:8px"><h3>{r.choice(SENTENCES)}</h3><p>{_text(r, 2)}</p>'
        f'<a href="https://hue.gov.vn/tin-tuc/{r.randrange(10**5)}">Xem them</a></td></tr>'
        for _ in range(5))
    html = (f'<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>Ban tin {i}'
            "</title><style>body{font-family:Arial} .btn{color:#fff;background:#c00}</style>"
            '</head><body><table width="600" align="center"><tr><td><img src="cid:logo" '
            'alt="logo"></td></tr>' + items
            + f'<tr><td><img src="https://hue.gov.vn/px.gif?id={i}" width="1" height="1">'
            '<p><a href="https://hue.gov.vn/huy-dang-ky">Huy dang ky</a></p></td></tr>'
            "</table></body></html>")
    b1, b2 = f"A{token()}", f"R{token()}"
    png = base64.encodebytes(cs.samples_png(24, 12, i)).decode().replace("\n", "\r\n")
    return (_head(r, f"Ban tin so {i}", f'Content-Type: multipart/related; boundary="{b2}"\r\n')
            + f"\r\n--{b2}\r\nContent-Type: multipart/alternative; boundary=\"{b1}\"\r\n\r\n"
            f"--{b1}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{_text(r)}\r\n"
            f"--{b1}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--{b1}--\r\n"
            f"--{b2}\r\nContent-Type: image/png\r\nContent-ID: <logo>\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{png}--{b2}--\r\n").encode()


def _ics(r: random.Random, i: int) -> str:
    return ("BEGIN:VCALENDAR\r\nPRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\n"
            "VERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
            f"ORGANIZER;CN=Van phong:mailto:vanphong@hue.gov.vn\r\n"
            f"ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:bob@hue.gov.vn\r\n"
            f"DTSTART;TZID=SE Asia Standard Time:202612{10 + i % 18:02d}T080000\r\n"
            f"DTEND;TZID=SE Asia Standard Time:202612{10 + i % 18:02d}T110000\r\n"
            f"SUMMARY;LANGUAGE=vi-VN:Hop giao ban {i}\r\nLOCATION:Phong hop so {i % 5 + 1}\r\n"
            f"DESCRIPTION:{r.choice(SENTENCES)}\\nLink: https://meet.hue.gov.vn/{i}\r\n"
            f"UID:{token()}@hue.gov.vn\r\nSEQUENCE:0\r\nBEGIN:VALARM\r\nTRIGGER:-PT15M\r\n"
            "ACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nEND:VALARM\r\nEND:VEVENT\r\n"
            "END:VCALENDAR\r\n")


def _invite(i: int) -> bytes:
    r = _rng(f"ics{i}")
    ics = _ics(r, i)
    b = f"C{token()}"
    return (_head(r, f"Giay moi hop {i}", f'Content-Type: multipart/mixed; boundary="{b}"\r\n')
            + f"\r\n--{b}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{_text(r)}\r\n"
            f'--{b}\r\nContent-Type: text/calendar; charset=utf-8; method=REQUEST\r\n\r\n{ics}'
            f'--{b}\r\nContent-Type: application/ics; name="invite.ics"\r\nContent-Disposition:'
            f' attachment; filename="invite.ics"\r\n\r\n{ics}--{b}--\r\n').encode()


_SIGNER_DIR = tempfile.TemporaryDirectory(prefix="congvu-smime-")  # removed at exit


@functools.cache
def _signer() -> tuple[str, str]:
    """A throwaway self-signed certificate and key, made once per test session."""
    d = _SIGNER_DIR.name
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=vanthu@hue.gov.vn/O=UBND tinh Thua Thien Hue",
                    "-keyout", f"{d}/key.pem", "-out", f"{d}/cert.pem"],
                   check=True, capture_output=True)
    return f"{d}/cert.pem", f"{d}/key.pem"


def _smime(i: int) -> bytes:
    r = _rng(f"smime{i}")
    cert, key = _signer()
    inner = f"Content-Type: text/plain; charset=utf-8\r\n\r\n{_text(r)}\r\n".encode()
    if i % 2:
        b = f"S{token()}"
        pdf = base64.encodebytes(pdf_text(r)).replace(b"\n", b"\r\n")
        inner = (f'Content-Type: multipart/mixed; boundary="{b}"\r\n\r\n--{b}\r\n'.encode()
                 + inner + f'--{b}\r\nContent-Type: application/pdf; name="qd.pdf"\r\n'
                 'Content-Disposition: attachment; filename="qd.pdf"\r\n'
                 f"Content-Transfer-Encoding: base64\r\n\r\n".encode() + pdf
                 + f"--{b}--\r\n".encode())
    opts = ["-nodetach"] if i % 4 == 3 else []  # opaque (application/pkcs7-mime) now and then
    with tempfile.NamedTemporaryFile() as f:
        f.write(inner)
        f.flush()
        signed = subprocess.run(["openssl", "smime", "-sign", "-in", f.name, "-signer", cert,
                                 "-inkey", key, *opts], check=True, capture_output=True).stdout
    head = _head(r, f"Quyet dinh so {i} (ky so)").replace("MIME-Version: 1.0\r\n", "")
    return head.encode() + signed.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _image(i: int) -> bytes:
    r = _rng(f"img{i}")
    name, ctype, data = [
        (f"anh-{i}.png", "image/png", cs.samples_png(32 + i, 16, i)),
        (f"anh-{i}.gif", "image/gif", gif(r)),
        (f"anh-{i}.jpg", "image/jpeg", jpeg(r, 20_000 + 3000 * i)),
        (f"logo-{i}.svg", "image/svg+xml", cs.svg_plain(i)),
    ][i % 4]
    return _with_files(r, f"Hinh anh {i}", [(name, ctype, data)])


def _table(i: int) -> bytes:
    r = _rng(f"csv{i}")
    name, ctype, data = [
        (f"so-lieu-{i}.csv", "text/csv", csv_file(r, ",")),
        (f"danh-sach-{i}.csv", "text/csv", csv_file(r, ";")),
        (f"ghi-chu-{i}.txt", "text/plain", _text(r, 10).encode()),
        (f"nhat-ky-{i}.log", "text/plain", "\n".join(
            f"2026-12-01 08:{m:02d} INFO dong bo xong {r.randrange(999)} ban ghi"
            for m in range(40)).encode()),
    ][i % 4]
    return _with_files(r, f"Bang so lieu {i}", [(name, ctype, data)])


def _opendocument(i: int) -> bytes:
    r = _rng(f"odf{i}")
    if i % 2:
        return _with_files(r, f"Bao cao {i}", [(f"bao-cao-{i}.odt",
                                              "application/vnd.oasis.opendocument.text", odt(r))])
    return _with_files(r, f"Tong hop {i}", [(f"tong-hop-{i}.ods", "application/vnd.oasis."
                                            "opendocument.spreadsheet", ods(r))])


def _other_archive(i: int) -> bytes:
    r = _rng(f"arc{i}")
    files = {f"tai-lieu-{n}.pdf": pdf_text(r) for n in range(1 + i % 3)}
    files["doc-truoc.txt"] = _text(r).encode()
    name, data = [(f"ho-so-{i}.rar", cs.rar4(files)), (f"ho-so-{i}.rar", cs.rar5(files)),
                  (f"ho-so-{i}.tar.gz", samples.tar_gz(files)),
                  (f"ho-so-{i}.7z", samples.seven_zip(files)),
                  (f"ho-so-{i}.tar.xz", samples.tar_gz(files, "xz")),
                  (f"ho-so-{i}.tar.bz2", samples.tar_gz(files, "bz2")),
                  (f"ho-so-{i}.tar.zst", samples.compressed(samples.tar_gz(files, ""), "zstd")),
                  ][i % 7]
    if i % 8 == 7 and cs.have_gcab():
        name, data = f"ho-so-{i}.cab", cs.cab_of(files)
    return _with_files(r, f"Ho so nen {i}", [(name, "application/octet-stream", data)])


def _forwarded(i: int) -> bytes:
    r = _rng(f"fwd{i}")
    inner = _pdf_message(100 + i)
    return samples.mime_message(f"Fwd: Cong van {i}", [("", "message/rfc822", inner)],
                                body=_text(r, 2))


_PROSE = [
    "Mật khẩu đăng nhập hệ thống quản lý văn bản sẽ được gửi qua tin nhắn, không gửi qua thư.",
    "Cảnh báo: không mở tệp .js, .hta, .exe lạ; không chạy lệnh powershell -enc theo hướng dẫn"
    " của người lạ.",
    "Lịch trực Tết: mỗi đơn vị cử 01 cán bộ, mật khẩu wifi phòng họp: do Văn phòng cấp.",
    "Vui lòng trả lời thư này để xác nhận đã nhận được công văn.",
    "Đề nghị các đơn vị không dùng echo off hay script tự động khi cài phần mềm.",
]


def _reply(i: int) -> bytes:
    r = _rng(f"reply{i}")
    quoted = "\r\n".join("> " + s for s in _text(r, 3).split("\r\n"))
    body = f"{_PROSE[i % len(_PROSE)]}\r\n\r\nTrân trọng.\r\n\r\n{quoted}\r\n"
    return (_head(r, f"Re: Trao doi {i}", "Content-Type: text/plain; charset=utf-8\r\n"
                  "Content-Transfer-Encoding: 8bit\r\n") + "\r\n" + body).encode()


_LO_FORMATS = (("odt", "txt"), ("docx", "txt"), ("pdf", "txt"), ("ods", "csv"),
               ("xlsx", "csv"))
_LO_EACH = 5


@functools.cache
def _libreoffice_files() -> dict[str, bytes]:
    """Documents written by LibreOffice itself (headless, one call per target format, a
    throwaway profile): text letters as ODT, DOCX and PDF, tables as ODS and XLSX."""
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="congvu-lo-") as d:
        r = _rng("libreoffice")
        for i in range(_LO_EACH):
            Path(d, f"cong-van-{i}.txt").write_text(_text(r, 12), encoding="utf-8")
            Path(d, f"bang-{i}.csv").write_bytes(csv_file(r, ","))
        for target, source in _LO_FORMATS:
            subprocess.run(["soffice", f"-env:UserInstallation=file://{d}/profile",
                            "--headless", "--convert-to", target, "--outdir", f"{d}/out",
                            *sorted(str(p) for p in Path(d).glob(f"*.{source}"))],
                           check=True, capture_output=True, timeout=300)
        for p in Path(d, "out").iterdir():
            out[p.name] = p.read_bytes()
    return out


def _libreoffice(name: str) -> bytes:
    r = _rng(name)
    return _with_files(r, f"Van ban {name}", [(name, "application/octet-stream",
                                              _libreoffice_files()[name])])


def _libreoffice_builders() -> list[Builder]:
    if not shutil.which("soffice"):
        return []
    names = [f"{'cong-van' if src == 'txt' else 'bang'}-{i}.{fmt}"
             for fmt, src in _LO_FORMATS for i in range(_LO_EACH)]
    return [(f"libreoffice-{n}", functools.partial(_libreoffice, n)) for n in names]


def _series(prefix: str, fn: Callable[[int], bytes], n: int) -> list[Builder]:
    return [(f"{prefix}-{i:02d}", functools.partial(fn, i)) for i in range(n)]


BUILDERS: list[Builder] = [
    *_series("zip-of-pdfs", _zip_of_pdfs, 30),
    *_series("pdf", _pdf_message, 15),
    *_series("newsletter", _newsletter, 30),
    *_series("invite", _invite, 20),
    *_series("smime", _smime, 20),
    *_series("image", _image, 24),
    *_series("table", _table, 20),
    *_series("opendocument", _opendocument, 20),
    *_series("archive", _other_archive, 16),
    *_series("forwarded", _forwarded, 10),
    *_series("reply", _reply, 15),
    *_libreoffice_builders(),
]


def write(directory: Path) -> list[Path]:
    """Write the corpus as .eml files (to look at it, or to feed ``congvu-guard scan``)."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name, build in BUILDERS:
        p = directory / f"{name}.eml"
        p.write_bytes(build())
        out.append(p)
    return out
