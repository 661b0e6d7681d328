"""HUE-11.5 carriers: OneNote, CHM, shell links, SVG, disk images (ISO by xorriso, FAT by
mkfs.fat + mtools, fixed VHD), RAR 4 and RAR 5 contents, JAR; their limits and damage."""

from __future__ import annotations

import io
import struct

import pytest

from congvu_guard.detectors import carriers, filetypes
from congvu_guard.detectors.content import Content, FileNode, ScanLimits, _Expander, expand
from congvu_guard.engine import Engine
from congvu_guard.message import parse_message
from congvu_guard.model import Action
from tests import carrier_samples as cs
from tests import samples
from tests.helpers import box_engine, judge

tools = pytest.mark.skipif(not cs.have_image_tools(), reason="xorriso/mkfs.fat/mtools missing")


def rules(v) -> set[str]:
    return {f.rule for f in v.findings}


def files_of(raw: bytes, limits: ScanLimits | None = None):
    return expand(parse_message(raw), limits)


class _Taker:
    """An expander stand-in that admits everything and records events."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def take(self, path: str, size: int, compressed: int) -> bool:
        return True

    def event(self, path: str, event: str, detail: str) -> None:
        self.events.append((path, event, detail))


# OneNote, CHM, shell links, SVG, JAR ----------------------------------------------------------
def test_onenote_embedded_hta_is_taken_out_and_judged_as_a_script(engine: Engine) -> None:
    one = cs.onenote(cs.samples_png(4, 4), cs.HTA)
    assert filetypes.sniff(one, "ghi-chu.one") == "onenote"
    v = judge(engine, cs.message("ghi-chu.one", one))
    hits = [f for f in v.findings if f.rule == "HUE-11.5/script"]
    assert hits and hits[0].fact("path").endswith("ghi-chu.one:embedded-2.bin"), v.findings
    assert hits[0].fact("type") == "hta"
    assert v.action is Action.REJECT


def test_onenote_with_only_a_picture_passes(engine: Engine) -> None:
    v = judge(engine, cs.message("ghi-chu.one", cs.onenote(cs.samples_png(16, 16))))
    assert v.action is Action.ACCEPT, v.findings


def test_onenote_length_past_the_end_is_a_finding_not_an_exception() -> None:
    one = cs.onenote(cs.HTA)
    t = _Taker()
    cut = one[:-40]  # the embedded file's declared length now runs past the end
    assert list(carriers.onenote_files(t, "x.one", cut)) == []
    assert t.events and t.events[0][1] == "unreadable"


def test_chm_is_high_by_content_and_by_name(engine: Engine) -> None:
    v = judge(engine, cs.message("huong-dan.bin", cs.chm()))
    assert "HUE-11.5/chm" in rules(v) and v.action is Action.REJECT
    v = judge(engine, cs.message("huong-dan.chm", b"not really"))
    assert "HUE-11.5/chm" in rules(v)


@pytest.mark.parametrize("name", sorted(cs.SHELL_LINKS))
def test_shell_link_formats_are_rejected_like_shortcuts(engine: Engine, name: str) -> None:
    v = judge(engine, cs.message(name, cs.SHELL_LINKS[name]))
    assert "HUE-11.5/shell-link" in rules(v), v.findings
    assert v.action is Action.REJECT


@pytest.mark.parametrize("name", ["thong-bao.url", "bang-gia.iqy", "cai-dat.settingcontent-ms",
                                  "tai-lieu.library-ms", "tim-kiem.search-ms"])
def test_shell_links_are_known_by_content_under_another_name(engine: Engine, name: str) -> None:
    v = judge(engine, cs.message("tai-lieu.txt", cs.SHELL_LINKS[name]))
    assert "HUE-11.5/shell-link" in rules(v), v.findings


def test_text_quoting_a_shortcut_or_a_semicolon_csv_is_not_a_shell_link(engine: Engine) -> None:
    body = "Canh bao: tep .url co dang\r\n[InternetShortcut]\r\nURL=file://x/a.exe\r\n"
    raw = samples.mime_message("Canh bao", [
        ("danh-sach.csv", "text/csv", b"ID;Phong ban;Ho ten\r\n1;Ke toan;Nguyen Van A\r\n")],
        body=body)
    v = judge(engine, raw)
    assert v.action is Action.ACCEPT, v.findings


@pytest.mark.parametrize("name", sorted(cs.LAUNCHERS))
def test_files_windows_hands_to_a_program_that_runs_them_are_launchers(engine: Engine,
                                                                     name: str) -> None:
    data, rejected = cs.LAUNCHERS[name]
    v = judge(engine, cs.message(name, data))
    assert "HUE-11.5/launcher" in rules(v), v.findings
    assert v.action is (Action.REJECT if rejected else Action.QUARANTINE), v.findings


def test_an_msix_package_is_a_launcher_and_its_members_are_still_judged(engine: Engine) -> None:
    msix = samples.zip_of({"AppxManifest.xml": b"<Package/>", "VFS/run.exe": samples.pe_exe()})
    v = judge(engine, cs.message("cap-nhat-phan-mem.msix", msix))
    assert {"HUE-11.5/launcher", "HUE-11.5/exec"} <= rules(v), v.findings


def test_a_launcher_inside_a_zip_or_named_by_another_header_is_found(engine: Engine) -> None:
    data, _ = cs.LAUNCHERS["bao-cao-tuan.msc"]
    plain = data.replace(b"javascript:eval", b"about:blank")  # no script pattern to sniff
    v = judge(engine, cs.message("ho-so.zip", samples.zip_of({"bao-cao-tuan.msc": plain})))
    hits = [f for f in v.findings if f.rule == "HUE-11.5/launcher"]
    assert hits and hits[0].fact("path").endswith("ho-so.zip:bao-cao-tuan.msc"), v.findings
    raw = cs.message("bao-cao.pdf", plain).replace(b'octet-stream; name="bao-cao.pdf"',
                                                   b'octet-stream; name="bao-cao.msc"', 1)
    assert b'name="bao-cao.msc"' in raw and b'filename="bao-cao.pdf"' in raw
    v = judge(engine, raw)
    assert "HUE-11.5/launcher" in rules(v) and v.action is Action.REJECT, v.findings


def test_a_launcher_behind_a_document_extension_is_also_a_name_lie(engine: Engine) -> None:
    data, _ = cs.LAUNCHERS["thu-muc.scf"]
    v = judge(engine, cs.message("cong-van.pdf.scf", data))
    assert {"HUE-11.5/launcher", "HUE-11.5/name-lie"} <= rules(v), v.findings


@pytest.mark.parametrize("name", ["chung-thu-so.cer", "chung-thu.crt", "so-lieu.mdb",
                                  "bao-cao-msc.pdf", "ghi-chu.py.txt", "msc"])
def test_certificates_databases_and_names_that_only_mention_a_launcher_pass(
        engine: Engine, name: str) -> None:
    data = b"-----BEGIN CERTIFICATE-----\r\nMIIBszCCAVmgAwIBAgIU\r\n-----END CERTIFICATE-----\r\n"
    v = judge(engine, cs.message(name, data))
    assert "HUE-11.5/launcher" not in rules(v), v.findings


@pytest.mark.parametrize("variant", sorted(cs.SVG_ACTIVE))
def test_svg_with_active_content_is_quarantined(engine: Engine, variant: str) -> None:
    v = judge(engine, cs.message("logo.svg", cs.SVG_ACTIVE[variant], "image/svg+xml"))
    assert "HUE-11.5/svg-active" in rules(v), v.findings
    assert v.action is Action.QUARANTINE


def test_plain_svg_drawing_with_an_embedded_png_passes(engine: Engine) -> None:
    v = judge(engine, cs.message("logo.svg", cs.svg_plain(), "image/svg+xml"))
    assert v.action is Action.ACCEPT, v.findings


def test_jar_is_an_executable_and_a_java_class_is_not_mach_o(engine: Engine) -> None:
    assert filetypes.sniff(cs.jar()) == "jar"
    assert filetypes.sniff(cs.java_class()) == "java-class"
    fat_macho = b"\xca\xfe\xba\xbe\x00\x00\x00\x02" + b"\0" * 40  # two architectures
    assert filetypes.sniff(fat_macho) == "macho"
    v = judge(engine, cs.message("cong-cu.jar", cs.jar()))
    assert "HUE-11.5/exec" in rules(v) and v.action is Action.REJECT
    # a zip holding a lone class file is no executable (it was "macho" before)
    v = judge(engine, cs.message("lop.zip", samples.zip_of({"Main.class": cs.java_class()})))
    assert "HUE-11.5/exec" not in rules(v), v.findings


@pytest.mark.skipif(not cs.have_gcab(), reason="gcab missing")
def test_cabinet_and_onenote_package_members_are_judged(engine: Engine) -> None:
    cab = cs.cab_of({"setup.exe": samples.pe_exe(), "doc.txt": b"Kinh gui"})
    assert filetypes.sniff(cab) == "cab"
    v = judge(engine, cs.message("goi.cab", cab))
    assert "HUE-11.5/exec" in rules(v) and v.action is Action.REJECT
    onepkg = cs.cab_of({"Section 1.one": cs.onenote(cs.HTA)})
    v = judge(engine, cs.message("so-tay.onepkg", onepkg))
    [hit] = [f for f in v.findings if f.rule == "HUE-11.5/script"]
    assert hit.fact("path").endswith("so-tay.onepkg:Section 1.one:embedded-1.bin")
    v = judge(engine, cs.message("goi.cab", cs.cab_of({"a.pdf": samples.pdf(False)})))
    assert v.action is Action.ACCEPT, v.findings


# RAR ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("build", [cs.rar4, cs.rar5], ids=["rar4", "rar5"])
def test_rar_members_are_decompressed_and_judged_by_content(engine: Engine, build) -> None:
    import rarfile

    data = build({"hoa-don.pdf": samples.pe_exe(), "ghi-chu.txt": b"Kinh gui"})
    # the crafted archive is valid for an independent reader
    assert rarfile.RarFile(io.BytesIO(data)).read("ghi-chu.txt") == b"Kinh gui"
    v = judge(engine, cs.message("hoso.rar", data))
    exe = [f for f in v.findings if f.rule == "HUE-11.5/exec"]
    assert exe and exe[0].fact("path").endswith("hoso.rar:hoa-don.pdf"), v.findings
    assert any("named .pdf but is pe" in f.detail for f in v.findings)
    clean = judge(engine, cs.message("hoso.rar", build({"cv.pdf": samples.pdf(False)})))
    assert clean.action is Action.ACCEPT, clean.findings


def test_a_rar_stream_that_climbs_out_of_the_folder_is_rejected(engine: Engine) -> None:
    """CVE-2025-8088: WinRAR wrote an NTFS stream named with ".." into Startup; neither
    libarchive nor rarfile lists streams, so until 2026-12-02 only the decoy was judged."""
    lnk = ":..\\..\\..\\AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\" \
          "Startup\\cap-nhat.lnk"
    rar = cs.rar5({"cong-van.pdf": samples.pdf(False)}, {lnk: samples.lnk()})
    assert carriers.rar5_streams(rar) == [lnk]
    v = judge(engine, cs.message("cong-van.rar", rar))
    [hit] = [f for f in v.findings if f.rule == "HUE-11.5/rar-stream"]
    assert "CVE-2025-8088" in hit.detail and v.action is Action.REJECT


def test_a_rar_with_ordinary_streams_is_quarantined_and_one_without_passes(
        engine: Engine) -> None:
    rar = cs.rar5({"cong-van.pdf": samples.pdf(False)}, {":Zone.Identifier": b"[ZoneTransfer]"})
    v = judge(engine, cs.message("cong-van.rar", rar))
    assert "HUE-11.5/rar-stream" in rules(v) and v.action is Action.QUARANTINE, v.findings
    v = judge(engine, cs.message("cong-van.rar", cs.rar5({"cong-van.pdf": samples.pdf(False)})))
    assert v.action is Action.ACCEPT, v.findings


def test_rar5_stream_walk_ends_on_cut_and_lying_headers() -> None:
    rar = cs.rar5({"a.pdf": samples.pdf(False)}, {":x": b"y" * 100})
    for cut in range(len(rar)):
        carriers.rar5_streams(rar[:cut])  # never raises
    lying = rar[:8] + b"\0\0\0\0" + b"\xff" * 20  # a size vint that never ends
    assert carriers.rar5_streams(lying) == []


def test_damaged_rar_is_a_finding_not_an_exception(engine: Engine) -> None:
    data = bytearray(cs.rar5({"a.txt": b"x" * 100}))
    data[20:30] = b"\xff" * 10  # inside the file header
    v = judge(engine, cs.message("hong.rar", bytes(data)))
    assert "HUE-11.5/archive-unreadable" in rules(v), v.findings


# Disk images ---------------------------------------------------------------------------
@tools
def test_iso_files_are_listed_and_judged(engine: Engine) -> None:
    iso = cs.iso_of({"setup.exe": samples.pe_exe(), "tai lieu/Thông báo.pdf": samples.pdf(False)})
    c = files_of(cs.message("hoso.iso", iso))
    assert {f.name for f in c.files} >= {"setup.exe", "tai lieu/Thông báo.pdf"}
    v = judge(engine, cs.message("hoso.iso", iso))
    assert {"HUE-11.5/disk-image", "HUE-11.5/exec"} <= rules(v)
    assert v.action is Action.REJECT


def test_udf_side_is_read_even_behind_a_decoy_iso9660_side(engine: Engine) -> None:
    iso = cs.udf_iso({"tai lieu/Hóa đơn.js": cs.JS, "setup.exe": samples.pe_exe()},
                     {"readme.txt": b"Kinh gui"})
    assert filetypes.sniff(iso) == "iso"
    c = files_of(cs.message("hoso.iso", iso))
    names = {f.name for f in c.files if f.depth == 1}
    assert {"tai lieu/Hóa đơn.js", "setup.exe"} <= names, (names, c.events)
    assert any(n.lower().startswith("readme.txt") for n in names)  # the decoy side too
    v = judge(engine, cs.message("hoso.iso", iso))
    assert {"HUE-11.5/exec", "HUE-11.5/script"} <= rules(v)


def test_udf_only_image_is_listed_and_a_damaged_one_is_a_finding(engine: Engine) -> None:
    iso = cs.udf_iso({"run.hta": cs.HTA}, udf_only=True)
    assert b"CD001" not in iso[0x8000:0x8000 + 5 * 2048]
    assert filetypes.sniff(iso) == "iso"
    v = judge(engine, cs.message("anh.iso", iso))
    assert "HUE-11.5/script" in rules(v), v.findings
    broken = bytearray(iso)
    broken[256 * 2048:257 * 2048] = bytes(2048)  # no anchor
    v = judge(engine, cs.message("anh.iso", bytes(broken)))
    assert {"HUE-11.5/disk-image", "HUE-11.5/archive-unreadable"} <= rules(v)


@tools
def test_iso_member_limit_and_truncation_are_findings() -> None:
    iso = cs.iso_of({f"f{i}.txt": b"x" for i in range(30)})
    e = box_engine({"scan": {"max_members": 5}})
    v = judge(e, cs.message("nhieu.iso", iso))
    assert "HUE-11.5/archive-limit" in rules(v)
    v = judge(e, cs.message("cut.iso", iso[:0x8800]))  # volume descriptor, no directory
    assert v.action is Action.QUARANTINE  # a disk image; unreadable, not a crash
    assert "HUE-11.5/disk-image" in rules(v)


@tools
@pytest.mark.parametrize(("kib", "fat"), [(1440, 12), (9000, 16), (40000, 32)])
def test_fat_volumes_are_read_with_long_names_and_folders(kib: int, fat: int) -> None:
    files = {"Hóa đơn tháng 12.js": cs.JS, "sub/dir/run.hta": cs.HTA,
             "bao cao.pdf": samples.pdf(False), "big.bin": bytes(range(256)) * 300}
    img = cs.fat_of(files, kib=kib, fat=fat)
    assert filetypes.sniff(img) == "img"
    assert dict(carriers.fat_files(_Taker(), "x", memoryview(img))) == files
    disk = cs.mbr_disk(img)
    vols = list(carriers.volumes(_Taker(), "x", memoryview(disk)))
    assert [p for p, _ in vols] == ["part1/"]
    got = dict(carriers.fat_files(_Taker(), "x", vols[0][1], "part1/"))
    assert got == {f"part1/{k}": v for k, v in files.items()}


@tools
def test_img_and_fixed_vhd_contents_are_judged(engine: Engine) -> None:
    img = cs.fat_of({"hoa-don.js": cs.JS, "bao-cao.pdf": samples.pdf(False)})
    for name, data in (("usb.img", img), ("dia.vhd", cs.vhd_fixed(img)),
                       ("dia2.vhd", cs.vhd_fixed(cs.mbr_disk(img)))):
        v = judge(engine, cs.message(name, data))
        scripts = [f.fact("path") for f in v.findings if f.rule == "HUE-11.5/script"]
        assert scripts and scripts[0].endswith("hoa-don.js"), (name, v.findings)
        assert "HUE-11.5/disk-image" in rules(v) and v.action is Action.REJECT


@tools
def test_fat_cluster_loop_and_bad_boot_sector_end_without_hanging() -> None:
    img = bytearray(cs.fat_of({"a.txt": b"y" * 3000}))
    # FAT12 at sector 1: point cluster 3 back to cluster 2 (the file's chain loops)
    fat = 512
    entry = 3 + 3 // 2
    v = int.from_bytes(img[fat + entry:fat + entry + 2], "little")
    img[fat + entry:fat + entry + 2] = ((v & 0x000F) | (2 << 4)).to_bytes(2, "little")
    got = dict(carriers.fat_files(_Taker(), "x", memoryview(bytes(img))))
    assert len(got["a.txt"]) == 3000  # the read stops at the declared size
    bad = bytearray(img)
    bad[11:13] = b"\x07\x00"  # 7 bytes per sector
    c = files_of(cs.message("usb.img", bytes(bad)))
    assert any(e.event == "unreadable" for e in c.events)


qemu = pytest.mark.skipif(not (cs.have_qemu_img() and cs.have_image_tools()),
                          reason="qemu-img, mkfs.fat or mtools missing")


@qemu
@pytest.mark.parametrize(("fmt", "sub", "grow"), [
    ("vpc", "fixed", ""), ("vpc", "dynamic", ""), ("vhdx", "", ""),
    ("vhdx", "", "64G")], ids=["vhd-fixed", "vhd-dynamic", "vhdx", "vhdx-64G-sparse"])
def test_vhd_and_vhdx_made_by_qemu_img_are_listed(fmt: str, sub: str, grow: str) -> None:
    files = {"Hóa đơn.js": cs.JS, "a/b.pdf": samples.pdf(False)}
    img = cs.fat_of(files)
    for raw, prefix in ((img, ""), (cs.mbr_disk(img), "part1/")):
        data = cs.qemu_image(raw, fmt, sub, grow)
        name = "dia.vhdx" if fmt == "vhdx" else "dia.vhd"
        c = Content()  # the file itself (the 64 GB disk's file is larger than a message)
        _Expander(ScanLimits(), c).add(FileNode(name, name, "", data, 0))
        assert c.files[0].kind == ("vhdx" if fmt == "vhdx" else "vhd")
        got = {f.name: f.data for f in c.files if f.depth == 1}
        assert got == {prefix + k: v for k, v in files.items()}, (c.events, list(got))


def test_damaged_and_differencing_vhd_are_disk_images_not_listed(engine: Engine) -> None:
    footer = bytearray(cs.vhd_fixed(b"\0" * 1024)[-512:])
    struct.pack_into(">I", footer, 60, 4)  # differencing
    c = files_of(cs.message("dia.vhd", b"\0" * 1024 + bytes(footer)))
    assert [e.event for e in c.events] == ["not-extracted"]
    struct.pack_into(">I", footer, 60, 3)  # dynamic, but no dynamic header where it points
    v = judge(engine, cs.message("dia.vhd", bytes(footer) + b"\0" * 1024 + bytes(footer)))
    assert {"HUE-11.5/disk-image", "HUE-11.5/archive-unreadable"} <= rules(v)
    assert v.action is Action.QUARANTINE
    v = judge(engine, cs.message("dia.vhdx", b"vhdxfile" + b"\0" * 4000))
    assert {"HUE-11.5/disk-image", "HUE-11.5/archive-unreadable"} <= rules(v)
    assert v.action is Action.QUARANTINE


@tools
def test_disk_image_members_count_against_the_expansion_budget() -> None:
    img = cs.fat_of({f"f{i}.bin": bytes([i]) * 200_000 for i in range(6)})
    c = files_of(cs.message("usb.img", img),
                 ScanLimits(max_total_bytes=500_000, max_member_bytes=500_000))
    assert any(e.event == "bomb" for e in c.events)
    assert c.expanded_bytes <= 500_000


def test_a_stored_archive_whose_first_member_is_a_pdf_is_an_archive() -> None:
    import zipfile

    pdf = samples.pdf(False)
    stored = samples.zip_of({"a.pdf": pdf, "run.js": cs.JS}, zipfile.ZIP_STORED)
    assert b"%PDF-" in stored[:1024]
    assert filetypes.sniff(stored) == "zip"
    assert filetypes.sniff(cs.rar4({"a.pdf": pdf})) == "rar"
    assert filetypes.sniff(b"\r\n" * 10 + pdf) == "pdf"  # junk before %PDF- is still a PDF


def test_unnamed_inline_svg_part_is_judged_too(engine: Engine) -> None:
    b = "BND"
    raw = (f'From: <a@example.net>\r\nTo: <bob@hue.gov.vn>\r\nSubject: x\r\nMIME-Version: 1.0'
           f'\r\nContent-Type: multipart/related; boundary="{b}"\r\n\r\n--{b}\r\nContent-Type: '
           f"text/html\r\n\r\n<html><body><img src=cid:a></body></html>\r\n--{b}\r\n"
           f"Content-Type: image/svg+xml\r\nContent-ID: <a>\r\n\r\n").encode() + \
        cs.SVG_ACTIVE["script"] + f"\r\n--{b}--\r\n".encode()
    v = judge(engine, raw)
    assert "HUE-11.5/svg-active" in rules(v), v.findings


@tools
def test_a_folder_that_contains_itself_ends_at_the_depth_limit() -> None:
    img = bytearray(cs.fat_of({"a/x.txt": b"z"}))
    root = 512 * (1 + 2 * 9)  # mkfs.fat -F 12, 1440 KiB: 1 reserved, 2 FATs of 9 sectors
    a = next(root + i for i in range(0, 224 * 32, 32) if img[root + i:root + i + 11] == b"A" +
             b" " * 10)
    a_cluster = int.from_bytes(img[a + 26:a + 28], "little")
    a_dir = root + 224 * 32 + (a_cluster - 2) * 512
    x = next(a_dir + i for i in range(0, 512, 32) if img[a_dir + i:a_dir + i + 1] == b"X")
    img[x + 11] = 0x10  # x.txt becomes a folder whose content is its own folder
    img[x + 26:x + 28] = a_cluster.to_bytes(2, "little")
    t = _Taker()
    assert list(carriers.fat_files(t, "x", memoryview(bytes(img)))) == []
    assert [e[1] for e in t.events] == ["too-deep"]


def test_a_reader_stops_after_many_refused_members() -> None:
    c = files_of(cs.message("so-tay.one", cs.onenote(*[b"x"] * 1000)),
                 ScanLimits(max_members=10))
    assert len(c.files) == 1 + 1 + 10  # the text, the .one, ten embedded files
    assert 10 < len(c.events) <= carriers.MAX_REFUSED


def test_mutated_carriers_are_judged_without_an_exception() -> None:
    import random

    r = random.Random(13)
    seeds = [cs.onenote(cs.HTA, cs.samples_png(4, 4)), cs.chm(), cs.rar4({"a.exe": b"MZ" * 50}),
             cs.rar5({"a.js": cs.JS, "b.txt": b"x" * 300}), cs.jar(), cs.svg_plain(),
             cs.vhd_fixed(cs.mbr_disk(b"\xeb\x3c\x90" + b"\0" * 1021)),
             cs.udf_iso({"a/b.js": cs.JS}, {"x.txt": b"x"}),
             cs.udf_iso({"a.js": cs.JS}, udf_only=True)]
    if cs.have_image_tools():
        seeds += [cs.fat_of({"a/b.js": cs.JS}, kib=200), cs.iso_of({"a.exe": b"MZ" * 20})]
    if cs.have_image_tools() and cs.have_qemu_img():
        seeds += [cs.qemu_image(cs.fat_of({"a.js": cs.JS}, kib=200), "vpc", "dynamic")]
    for seed in seeds:
        for _ in range(25):
            data = bytearray(seed)
            for _ in range(r.randrange(1, 20)):
                i = r.randrange(len(data))
                data[i:i + r.randrange(1, 9)] = r.randbytes(r.randrange(1, 9))
            c = files_of(cs.message("x.bin", bytes(data)))
            assert c.files  # judged; damage, if any, is an event


def test_rar_reading_stops_at_a_refused_member() -> None:
    # Skipping a member of a solid RAR means decompressing it: after a refusal (here, a
    # member over the size limit: a bomb finding) the rest of the archive is not read.
    data = cs.rar5({"big.bin": b"\0" * 5000, "a.exe": samples.pe_exe()})
    c = files_of(cs.message("x.rar", data), ScanLimits(max_member_bytes=1000))
    assert [e.event for e in c.events] == ["bomb"]
    assert not any(f.name == "a.exe" for f in c.files)


def test_onenote_embedded_script_page_without_an_hta_tag_is_quarantined(
        engine: Engine) -> None:
    page = (b"<script language=\"VBScript\">\r\nDim s : s = \"cal\" & \"c\"\r\n"
            b"window.close\r\n</script>")
    assert filetypes.sniff(page, "x.hta") == "html"  # no pattern of its own
    v = judge(engine, cs.message("so-tay.one", cs.onenote(cs.samples_png(8, 8), page,
                                                          b"Dim a\r\na = 1\r\n")))
    hits = [f for f in v.findings if f.rule == "HUE-11.5/onenote-embedded"]
    assert {f.fact("type") for f in hits} == {"html", "text"}, v.findings
    assert v.action is Action.QUARANTINE
