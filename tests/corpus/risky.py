"""Risky carrier samples: each must get at least quarantine. ``BUILDERS`` is a list of
``(name, build)`` like :mod:`tests.corpus.benign`; other corpora (Office, PDF) extend it."""

from __future__ import annotations

import functools
import zipfile
from collections.abc import Callable

from tests import carrier_samples as cs
from tests import office_samples as o
from tests import samples
from tests.corpus.benign import pdf_text

Builder = tuple[str, Callable[[], bytes]]


def _msg(name: str, make: Callable[[], bytes]) -> Callable[[], bytes]:
    return lambda: cs.message(name, make())


def _stored_zip_pdf_first() -> bytes:
    import random

    return samples.zip_of({"cong-van.pdf": pdf_text(random.Random(1)),
                           "xem-cong-van.exe": samples.pe_exe()}, zipfile.ZIP_STORED)


BUILDERS: list[Builder] = [
    ("onenote-hta", _msg("ghi-chu.one", lambda: cs.onenote(cs.samples_png(8, 8), cs.HTA))),
    ("onenote-exe-in-zip", _msg("ghi-chu.zip", lambda: samples.zip_of(
        {"ghi-chu.one": cs.onenote(samples.pe_exe())}))),
    ("onenote-batch", _msg("so-tay.one", lambda: cs.onenote(
        b"@echo off\r\npowershell -c whoami\r\n"))),
    ("onenote-script-page", _msg("so-tay.one", lambda: cs.onenote(
        b"<script language=\"VBScript\">window.close</script>"))),
    ("chm", _msg("huong-dan.chm", cs.chm)),
    ("chm-renamed", _msg("huong-dan.dat", cs.chm)),
    *[(f"link-{n}", _msg(n, functools.partial(lambda d: d, d)))
      for n, d in cs.SHELL_LINKS.items()],
    *[(f"link-as-txt-{n}", _msg("tai-lieu.txt", functools.partial(lambda d: d, d)))
      for n, d in cs.SHELL_LINKS.items() if not n.endswith(".slk")],
    *[(f"launcher-{n}", _msg(n, functools.partial(lambda d: d, d)))
      for n, (d, _) in cs.LAUNCHERS.items()],
    ("outlook-msg-zip-exe", _msg("thu-chuyen-tiep.msg", lambda: o.outlook_msg("Hoa don", [
        ("hoa-don.zip", samples.zip_of({"hoa-don.exe": samples.pe_exe()}))]))),
    ("url-in-zip", _msg("lien-ket.zip", lambda: samples.zip_of(
        {"cong-van.url": cs.SHELL_LINKS["thong-bao.url"]}))),
    *[(f"svg-{n}", _msg("logo.svg", functools.partial(lambda d: d, d)))
      for n, d in cs.SVG_ACTIVE.items()],
    ("rar4-exe", _msg("hoso.rar", lambda: cs.rar4({"hoso/hoa-don.exe": samples.pe_exe()}))),
    ("rar5-js-renamed", _msg("hoso.rar", lambda: cs.rar5({"hoa-don.pdf": cs.JS}))),
    ("rar5-in-zip", _msg("hoso.zip", lambda: samples.zip_of(
        {"in.rar": cs.rar5({"run.hta": cs.HTA})}))),
    ("zip-stored-pdf-first", _msg("ho-so.zip", _stored_zip_pdf_first)),
    ("rar-stored-pdf-first", _msg("ho-so.rar", lambda: cs.rar4(
        {"cong-van.pdf": samples.pdf(False), "xem.exe": samples.pe_exe()}))),
    ("jar", _msg("cong-cu.jar", cs.jar)),
    ("jar-renamed-in-zip", _msg("tai-lieu.zip", lambda: samples.zip_of(
        {"tai-lieu.pdf": cs.jar()}))),
    ("vhdx", _msg("dia.vhdx", lambda: b"vhdxfile" + b"\0" * 4000)),
    ("udf-only-hta", _msg("anh-dia.iso", lambda: cs.udf_iso({"run.hta": cs.HTA},
                                                            udf_only=True))),
    ("udf-behind-decoy-iso9660", _msg("anh-dia.iso", lambda: cs.udf_iso(
        {"hoa-don.pdf": samples.pe_exe()}, {"readme.txt": b"Kinh gui"}))),
]

if cs.have_image_tools():
    BUILDERS += [
        ("iso-exe", _msg("hoso.iso", lambda: cs.iso_of({"setup.exe": samples.pe_exe()}))),
        ("iso-lnk-in-folder", _msg("hoso.iso", lambda: cs.iso_of(
            {"tai lieu/mo.lnk": samples.lnk(), "tai lieu/a.pdf": samples.pdf(False)}))),
        ("iso-clean", _msg("anh-dia.iso", lambda: cs.iso_of({"a.pdf": samples.pdf(False)}))),
        ("img-js", _msg("usb.img", lambda: cs.fat_of({"Hóa đơn.js": cs.JS}))),
        ("img-hta-deep", _msg("usb.img", lambda: cs.fat_of({"a/b/c/run.hta": cs.HTA}))),
        ("vhd-exe", _msg("dia.vhd", lambda: cs.vhd_fixed(cs.fat_of(
            {"setup.exe": samples.pe_exe()})))),
        ("vhd-mbr-hta", _msg("dia.vhd", lambda: cs.vhd_fixed(cs.mbr_disk(cs.fat_of(
            {"run.hta": cs.HTA}))))),
    ]

if cs.have_image_tools() and cs.have_qemu_img():
    BUILDERS += [
        ("vhd-dynamic-exe", _msg("dia.vhd", lambda: cs.qemu_image(cs.fat_of(
            {"tai lieu/setup.exe": samples.pe_exe()}), "vpc", "dynamic"))),
    ]

if cs.have_gcab():
    BUILDERS += [
        ("onepkg-hta", _msg("so-tay.onepkg", lambda: cs.cab_of(
            {"Section 1.one": cs.onenote(cs.HTA)}))),
    ]
