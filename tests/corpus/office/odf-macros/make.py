"""Make the OpenDocument macro samples with LibreOffice itself (not run by the tests).

    apt-get install libreoffice-writer-nogui libreoffice-calc-nogui python3-uno
    /usr/bin/python3 tests/corpus/office/odf-macros/make.py tests/corpus/office/odf-macros

LibreOffice runs headless with a throwaway profile; each document gets a Basic module in its
own ``BasicLibraries`` and, for some, a script bound to one of its ``Events``; then it is
stored with LibreOffice's own filter.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time

import uno  # Debian's python3-uno
from com.sun.star.beans import PropertyValue

MACRO = 'Sub Main\n  Shell("cmd.exe /c calc.exe")\nEnd Sub\n'
BENIGN = 'Sub TinhTong\n  MsgBox "Tong: " & (1 + 2)\nEnd Sub\n'
BASIC = "vnd.sun.star.script:Standard.Module1.{}?language=Basic&location=document"
LIBRELOGO = "vnd.sun.star.script:LibreLogo|LibreLogo.py$run?language=Python&location=share"
FLAT = "OpenDocument Text Flat XML"


def prop(name: str, value: object) -> PropertyValue:
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def connect(profile: str) -> tuple[subprocess.Popen[bytes], object]:
    proc = subprocess.Popen(["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
                      "--invisible", "--norestore", "--accept=pipe,name=cgodf;urp;"])
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(60):
        with contextlib.suppress(uno.getClass("com.sun.star.connection.NoConnectException")):
            return proc, resolver.resolve("uno:pipe,name=cgodf;urp;StarOffice.ComponentContext")
        time.sleep(0.5)
    raise SystemExit("LibreOffice did not start")


def make(desktop: object, out: str, kind: str, name: str, code: str | None,
         event: str | None = None, script: str | None = None, flt: str | None = None) -> None:
    url = {"writer": "private:factory/swriter", "calc": "private:factory/scalc"}[kind]
    doc = desktop.loadComponentFromURL(url, "_blank", 0, (prop("Hidden", True),))
    if kind == "writer":
        doc.Text.setString("Kinh gui cac don vi: bao cao tuan.")
    else:
        doc.Sheets.getByIndex(0).getCellByPosition(0, 0).setString("Bao cao")
    if code:
        libs = doc.BasicLibraries
        lib = libs.getByName("Standard") if libs.hasByName("Standard") else \
            libs.createLibrary("Standard")
        lib.insertByName("Module1", code)
    if event:
        binding = uno.Any("[]com.sun.star.beans.PropertyValue",
                          (prop("EventType", "Script"), prop("Script", script)))
        uno.invoke(doc.Events, "replaceByName", (event, binding))
    flt = flt or {"writer": "writer8", "calc": "calc8"}[kind]
    doc.storeToURL(uno.systemPathToFileUrl(os.path.join(out, name)), (prop("FilterName", flt),))
    doc.close(True)


def main() -> None:
    out = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="cg-lo-") as profile:
        proc, ctx = connect(profile)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        make(desktop, out, "writer", "bao-cao-autoopen.odt", MACRO, "OnLoad", BASIC.format("Main"))
        make(desktop, out, "writer", "bao-cao-autoopen.fodt", MACRO, "OnLoad",
             BASIC.format("Main"), FLAT)
        make(desktop, out, "calc", "bang-luong-autoopen.ods", MACRO, "OnLoad",
             BASIC.format("Main"))
        make(desktop, out, "writer", "bao-cao-librelogo.odt", None, "OnLoad", LIBRELOGO)
        make(desktop, out, "writer", "bao-cao-macro.odt", BENIGN)
        make(desktop, out, "writer", "bao-cao-nut-bam.odt", BENIGN, "OnPrint",
             BASIC.format("TinhTong"))
        make(desktop, os.path.join(out, "..", "benign"), "writer", "bao-cao-thuong.fodt", None,
             flt=FLAT)
        with contextlib.suppress(uno.getClass("com.sun.star.lang.DisposedException")):
            desktop.terminate()
        proc.wait(timeout=60)  # done with the profile before it is removed


if __name__ == "__main__":
    main()
