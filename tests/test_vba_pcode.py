"""VBA stomping by comparing pcodedmp's disassembly with the source (HUE-11.5/vba-stomping).

The disassembly below is what pcodedmp printed for the module Excel compiled in the corpus's
auto-run workbook (tests/test_office_real.py stomps the real file end to end)."""

from __future__ import annotations

from congvu_guard.detectors.vba_pcode import MAX_SEARCHES, pcode_names, stomped

EXCEL_PCODE = (
    "Module streams:\n"
    "_VBA_PROJECT_CUR/VBA/Modul1 - 1477 bytes\n"
    "Line #0:\n"
    "\tFuncDefn (Sub Auto_Open())\n"
    "Line #1:\n"
    '\tLitStr 0x000B "Hello World"\n'
    "\tArgsCall MsgBox 0x0001 \n"
    "Line #2:\n"
    "\tEndSub \n"
)
SOURCE = 'Attribute VB_Name = "Modul1"\r\nSub Auto_Open()\r\n MsgBox "Hello World"\r\nEnd Sub\r\n'


def test_the_names_and_strings_of_the_pcode_are_read_as_the_source_spells_them() -> None:
    assert pcode_names(EXCEL_PCODE) == {"MsgBox", '"Hello World"'}
    quoted = '\tLitStr 0x0007 "say "hi""\n\tArgsCall (Call) Shell 0x0001 \n\tLd id_FFFF \n'
    assert pcode_names(quoted) == {'"say ""hi"""', "Shell"}


def test_pcode_that_matches_its_source_is_not_stomping() -> None:
    assert not stomped(EXCEL_PCODE, SOURCE)


def test_pcode_calling_what_the_source_does_not_show_is_stomping() -> None:
    harmless = 'Attribute VB_Name = "Modul1"\r\nSub Hallo()\r\nEnd Sub\r\n'
    assert stomped(EXCEL_PCODE, harmless)
    assert stomped(EXCEL_PCODE, SOURCE.replace("Hello World", "Xin chao"))


def test_a_name_inside_a_longer_word_is_found_as_olevba_finds_it() -> None:
    # "Str$" is no word of the source's words ([A-Za-z0-9_]+); olevba's substring test
    # finds it, and so does the fallback search.
    pcode = "\tArgsLd Str$ 0x0001 \n"
    assert not stomped(pcode, "x = Str$(42)\r\n")


def test_a_project_with_too_many_names_the_source_lacks_as_words_stops_searching() -> None:
    # Each name is in the source only inside a longer run, so each would need a search of
    # the whole source; past MAX_SEARCHES the comparison stops and calls it stomping.
    names = [f"n{i}$" for i in range(MAX_SEARCHES + 1)]
    source = "".join(f"x{n}x\r\n" for n in names)
    few = "".join(f"\tLd {n} \n" for n in names[:MAX_SEARCHES])
    assert not stomped(few, source)
    everything = "".join(f"\tLd {n} \n" for n in names)
    assert stomped(everything, source)


def test_a_disassembly_without_names_is_not_stomping() -> None:
    assert not stomped("Line #0:\n\tFuncDefn (Private Sub Frame1_Click())\n\tEndSub \n", "")
    assert not stomped("", "anything")
