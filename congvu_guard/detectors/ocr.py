"""HUE-11.2, optional (``[secret] ocr = true``): read the stamp of a scanned PDF.

A scanned document has no text layer; its classification mark is a stamp at the top of
page 1. Only that is read: the top TOP of page 1, rendered by pdfium at DPI in grey, given
to Debian's ``tesseract`` (``tesseract-ocr`` + ``tesseract-ocr-vie``) on stdin with a
timeout, one thread (OMP_THREAD_LIMIT=1: the mail host's cores serve mail first).

Measured (bench/scan --ocr, 2-core CI machine): about 0.35-0.45 s per page top at 150 dpi,
0.85 s p50 on a slow day;
200 dpi read no better and 11 (sparse text) no better than page segmentation mode 3.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import unicodedata

from . import marks
from .doctext import Block, _Blocks

TOP = 0.35  # the stamp sits above the document number, in the top third of page 1
DPI = 150
LANG = "vie"


def _read(image: bytes, timeout: float,
          exe: str = "tesseract") -> subprocess.CompletedProcess[bytes]:
    """tesseract over a PGM image on stdin: Vietnamese, page segmentation mode 3, one thread
    (OMP_THREAD_LIMIT=1: the mail host's cores serve mail first)."""
    return subprocess.run([exe, "stdin", "stdout", "-l", LANG, "--psm", "3"], input=image,
                          capture_output=True, timeout=timeout, check=False,
                          env={**os.environ, "OMP_THREAD_LIMIT": "1"})


def available() -> str:
    """"" when tesseract with Vietnamese is installed, else why not."""
    exe = shutil.which("tesseract")
    if exe is None:
        return "tesseract is not installed (Debian: tesseract-ocr tesseract-ocr-vie)"
    try:
        out = subprocess.run([exe, "--list-langs"], capture_output=True, timeout=30,
                             check=False).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError) as e:
        return f"tesseract does not run: {e}"
    if LANG not in out.split():
        return "tesseract has no Vietnamese data (Debian: tesseract-ocr-vie)"
    # One read of a blank image: proves the Vietnamese model loads, and leaves it in the
    # page cache. Cold from disk, the first scan took 1.25 s against 0.76 s warm, and ran
    # out of the per-message budget on a fresh machine.
    blank = b"P5\n64 16\n255\n" + b"\xff" * (64 * 16)
    try:
        proc = _read(blank, 30, exe)
    except (OSError, subprocess.SubprocessError) as e:
        return f"tesseract does not run: {e}"
    if proc.returncode != 0:
        return "tesseract cannot read with its Vietnamese data: " + \
            proc.stderr.decode("utf-8", "replace").strip()[:200]
    return ""


def page_top_pgm(data: bytes) -> bytes | None:
    """The top of page 1 as a PGM image; None when the page has a text layer."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        if len(pdf) == 0:
            return None
        page = pdf[0]
        textpage = page.get_textpage()
        try:
            if textpage.count_chars() > 20:
                return None  # a text layer: doctext reads it
        finally:
            textpage.close()
        _, height = page.get_size()
        bitmap = page.render(scale=DPI / 72, grayscale=True,
                             crop=(0, height * (1 - TOP), 0, 0))
        width, rows, stride = bitmap.width, bitmap.height, bitmap.stride
        if width <= 0 or rows <= 0 or width > 20_000 or rows > 20_000:
            return None
        buf = bytes(bitmap.buffer)
        pixels = b"".join(buf[i * stride:i * stride + width] for i in range(rows))
        return b"P5\n%d %d\n255\n" % (width, rows) + pixels
    finally:
        pdf.close()


def ocr_blocks(data: bytes, timeout: float) -> list[Block]:
    """Lines read from the top of page 1 of an image-only PDF. Raises TimeoutError when
    tesseract needs longer than ``timeout`` (it is killed)."""
    image = page_top_pgm(data)
    if image is None:
        return []
    try:
        proc = _read(image, max(timeout, 0.01))
    except subprocess.TimeoutExpired as e:
        raise TimeoutError(f"OCR over its {timeout:.1f} s budget") from e
    blocks = _Blocks("page 1 OCR line")
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        blocks.add(_tolerant(line))
    return blocks.out


def _tolerant(line: str) -> str:
    """OCR misreads tone marks ("TUYẸT MẬT"): a short line that is no mark as read but is
    TOI MAT or TUYET MAT without its marks is kept in that form (a mark in upper case)."""
    if len(line) > 2 * marks.MAX_MARK_CHARS or marks.candidate(line) is not None:
        return line
    bare = "".join(c for c in unicodedata.normalize("NFD", line)
                   if not unicodedata.combining(c)).replace("Đ", "D").replace("đ", "d")
    found = marks.candidate(bare)
    return bare if found is not None else line
