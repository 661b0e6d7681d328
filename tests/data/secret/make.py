"""Rebuild the HUE-11.2 test documents with LibreOffice (Debian's libreoffice, headless).

    .venv/bin/python tests/data/secret/make.py

Each document is written as flat ODF (what an author types: header, text box, table, first
paragraph) and converted by LibreOffice to the formats users mail: .docx, .doc, .odt, .rtf,
.pdf (DejaVu Serif, a real Vietnamese font, embedded by LibreOffice), and from CSV to
.xlsx/.xls/.ods. The outputs are committed so that the tests do not need LibreOffice.

marked/: every file carries a classification mark and must be held.
benign/: letters, password notices, training material about the three levels, urgency
marks: none may be held.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import unicodedata
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
PROFILE = Path(tempfile.gettempdir()) / "congvu-secret-lo-profile"  # not the user's profile

HEAD_LEFT = ["ỦY BAN NHÂN DÂN", "TỈNH THỪA THIÊN HUẾ", "SỞ NỘI VỤ"]
HEAD_RIGHT = ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
LETTER = [
    "Số: 215/SNV-VP", "Huế, ngày 12 tháng 11 năm 2026",
    "Kính gửi: Các phòng, ban, đơn vị trực thuộc",
    "Thực hiện Kế hoạch số 45/KH-UBND ngày 02/3/2026 của Ủy ban nhân dân tỉnh về công tác "
    "cải cách hành chính, Sở Nội vụ đề nghị các đơn vị báo cáo kết quả thực hiện trong "
    "quý IV, gửi về Văn phòng Sở trước ngày 30/11/2026.",
    "Nơi nhận: Như trên; Lưu: VT, VP.", "GIÁM ĐỐC",
]
PASSWORD = [
    "THÔNG BÁO", "Về việc thay đổi mật khẩu hộp thư công vụ",
    "Để bảo mật thông tin, đề nghị cán bộ, công chức đổi mật khẩu hộp thư điện tử công vụ "
    "trước ngày 15/12/2026. Mật khẩu dài hơn 8 ký tự, gồm chữ hoa, chữ thường và chữ số.",
    "MẬT KHẨU", "Không chia sẻ mật khẩu; không lưu bí mật cá nhân trên máy tính công cộng.",
    "BẢO MẬT THÔNG TIN",
]
TRAINING = [
    "TÀI LIỆU TẬP HUẤN", "BẢO VỆ BÍ MẬT NHÀ NƯỚC",
    "Theo Luật Bảo vệ bí mật nhà nước năm 2018, bí mật nhà nước được phân loại theo ba độ "
    "mật: Mật, Tối mật, Tuyệt mật.",
    "Độ mật của văn bản được thể hiện bằng dấu chỉ độ mật đóng phía trên, bên trái trang "
    "đầu văn bản.",
    "Văn bản mật không được gửi qua thư điện tử công vụ.",
    "Câu hỏi: Văn bản có dấu Tối mật được gửi qua đường nào?",
]
URGENT = ["HỎA TỐC", "THƯỢNG KHẨN", "KHẨN"]

NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
      'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
      'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
      'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
      'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
      'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
      'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"')


def _p(text: str) -> str:
    return f"<text:p>{escape(text)}</text:p>"


def fodt(body: list[str], header: str = "", textbox: str = "",
         table: list[list[str]] | None = None) -> str:
    head = f"<style:header>{_p(header)}</style:header>" if header else ""
    box = ""
    if textbox:
        box = ('<draw:frame draw:name="Stamp" text:anchor-type="paragraph" svg:x="0cm" '
               'svg:y="0cm" svg:width="4cm" svg:height="1.2cm"><draw:text-box>'
               f"{_p(textbox)}</draw:text-box></draw:frame>")
    rows = ""
    if table:
        cols = max(len(r) for r in table)
        rows = (f'<table:table table:name="T1"><table:table-column '
                f'table:number-columns-repeated="{cols}"/>' + "".join(
                    "<table:table-row>" + "".join(
                        f"<table:table-cell>{_p(c)}</table:table-cell>" for c in r)
                    + "</table:table-row>" for r in table) + "</table:table>")
    heading = ("<table:table table:name=\"Head\"><table:table-column "
               "table:number-columns-repeated=\"2\"/><table:table-row><table:table-cell>"
               + "".join(_p(t) for t in HEAD_LEFT) + "</table:table-cell><table:table-cell>"
               + "".join(_p(t) for t in HEAD_RIGHT) + "</table:table-cell></table:table-row>"
               "</table:table>")
    first, *rest = body
    paras = f"<text:p>{box}{escape(first)}</text:p>" + "".join(_p(t) for t in rest)
    return (f'<?xml version="1.0" encoding="UTF-8"?><office:document {NS} office:version='
            '"1.2" office:mimetype="application/vnd.oasis.opendocument.text">'
            '<office:font-face-decls><style:font-face style:name="DejaVu Serif" '
            'svg:font-family="\'DejaVu Serif\'"/></office:font-face-decls>'
            '<office:styles><style:default-style style:family="paragraph">'
            '<style:text-properties style:font-name="DejaVu Serif" fo:font-size="12pt"/>'
            '</style:default-style></office:styles><office:automatic-styles>'
            '<style:page-layout style:name="pm1"><style:page-layout-properties '
            'fo:page-width="21cm" fo:page-height="29.7cm" fo:margin="2cm"/><style:header-style>'
            '<style:header-footer-properties fo:min-height="0.5cm"/></style:header-style>'
            '</style:page-layout></office:automatic-styles><office:master-styles>'
            f'<style:master-page style:name="Standard" style:page-layout-name="pm1">{head}'
            '</style:master-page></office:master-styles><office:body><office:text>'
            f"{paras if textbox else ''}{heading}{'' if textbox else paras}{rows}"
            "</office:text></office:body></office:document>")


def sources() -> dict[str, dict[str, str]]:
    nfd = unicodedata.normalize("NFD", "TỐI MẬT")
    marked = {
        "header-toi-mat": fodt(LETTER, header="TỐI MẬT"),
        "textbox-mat": fodt(LETTER, textbox="MẬT"),
        "first-tuyet-mat": fodt(["TUYỆT MẬT", *LETTER]),
        "do-mat-line": fodt([*LETTER[:2], "Độ mật: Tối mật", *LETTER[2:]]),
        "spaced-mat": fodt(["M Ậ T", *LETTER]),
        "nfd-toi-mat": fodt([nfd, *LETTER]),
        # .VnTimeH stores lower-case TCVN3 code points: "mËt" shows as MẬT.
        "tcvn3-mat": fodt(["mËt", "Së néi vô", "KÝnh göi: c¸c phßng, ban"]),
        "vni-toi-mat": fodt(["TOÁI MAÄT", "Sôû noäi vuï", "Kính gôûi: caùc phoøng, ban"]),
    }
    benign = {
        "letter": fodt(LETTER),
        "password-notice": fodt(PASSWORD),
        "training-levels": fodt(TRAINING, table=[["Độ mật", "Người có thẩm quyền"],
                                                 ["Tuyệt mật", "Thủ tướng Chính phủ"],
                                                 ["Tối mật", "Bộ trưởng"],
                                                 ["Mật", "Chủ tịch UBND tỉnh"]]),
        "training-stamps": fodt([*TRAINING[:2], "Mẫu dấu chỉ độ mật:", "TUYỆT MẬT",
                                 "TỐI MẬT", "MẬT", *TRAINING[2:]]),
        "urgent-hoa-toc": fodt([URGENT[0], *LETTER], header="KHẨN"),
        "urgent-thuong-khan": fodt(LETTER, textbox=URGENT[1]),
        "secret-word-title": fodt(["BÍ MẬT", "Bí mật của thành công", *LETTER[3:]]),
    }
    return {"marked": marked, "benign": benign}


CSV = {
    "marked/cell-mat": "MẬT,,\nBÁO CÁO NHÂN SỰ QUÝ IV,,\nSTT,Họ và tên,Chức vụ\n1,Nguyễn Văn A,"
                       "Trưởng phòng\n",
    "benign/sheet-passwords": "Danh sách tài khoản cần đổi mật khẩu,,\nSTT,Tài khoản,Ghi chú\n"
                              "1,nva@hue.gov.vn,Đổi mật khẩu trước 15/12\n",
    "benign/sheet-levels": "Độ mật,Thời hạn bảo vệ,\nTuyệt mật,30 năm,\nTối mật,20 năm,\n"
                           "Mật,10 năm,\n",
}


def convert(src: Path, fmt: str, out: Path, infilter: str = "") -> None:
    cmd = ["soffice", f"-env:UserInstallation=file://{PROFILE}", "--headless", "--norestore",
           "--convert-to", fmt, "--outdir", str(out)]
    if infilter:
        cmd.insert(4, f"--infilter={infilter}")
    subprocess.run([*cmd, *map(str, sorted(src.glob("*.*")))], check=True,
                   capture_output=True, timeout=600)


SCANS = {"marked/scan-tuyet-mat": "marked/first-tuyet-mat.pdf",
         "marked/scan-header-toi-mat": "marked/header-toi-mat.pdf",
         "benign/scan-letter": "benign/letter.pdf",
         "benign/scan-password-notice": "benign/password-notice.pdf",
         "benign/scan-training-levels": "benign/training-levels.pdf"}


def scans() -> None:
    """Image-only PDFs (what a scanner makes): page 1 of a text PDF rendered at 150 dpi in
    grey and put back as one image per page by pdfium. Only OCR can read their marks."""
    import pypdfium2 as pdfium

    for out, src in SCANS.items():
        page = pdfium.PdfDocument(HERE / src)[0]
        w, h = page.get_size()
        new = pdfium.PdfDocument.new()
        target = new.new_page(w, h)
        image = pdfium.PdfImage.new(new)
        image.set_bitmap(page.render(scale=150 / 72, grayscale=True))
        image.set_matrix(pdfium.PdfMatrix().scale(w, h))
        target.insert_obj(image)
        target.gen_content()
        new.save(HERE / f"{out}.pdf")


def main() -> None:
    for sub in ("marked", "benign"):
        shutil.rmtree(HERE / sub, ignore_errors=True)
        (HERE / sub).mkdir()
    with tempfile.TemporaryDirectory() as tmp:
        for sub, docs in sources().items():
            src = Path(tmp) / sub / "src"
            src.mkdir(parents=True)
            for name, xml in docs.items():
                (src / f"{name}.fodt").write_text(xml, encoding="utf-8")
            for fmt in ("docx", "doc", "odt", "rtf", "pdf"):
                convert(src, fmt, HERE / sub)
        csvdir = Path(tmp) / "csv"
        for name, text in CSV.items():
            d = csvdir / name.split("/")[0]
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{name.split('/')[1]}.csv").write_text(text, encoding="utf-8")
        for sub in ("marked", "benign"):
            for fmt in ("xlsx", "xls", "ods"):
                convert(csvdir / sub, fmt, HERE / sub, infilter="CSV:44,34,76")
    scans()


if __name__ == "__main__":
    main()
