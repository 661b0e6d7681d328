"""VBA stomping (HUE-11.5/vba-stomping): does the compiled p-code name what the source lacks?

Office keeps two forms of every VBA module: the compressed source an analyst reads, and the
p-code it compiled from it, which Office runs when the VBA version matches. Stomping tools
(EvilClippy, Adaptive VBA Stomping) replace the source and keep the p-code. The p-code's
names (calls, loads, stores, labels) and string literals then do not appear in the source.

This is olevba's comparison (``VBA_Parser.detect_vba_stomping``: the same mnemonics, the
same quoting of strings), in linear time. olevba searches the whole source for every name, so
a hostile project with many names and a large source costs names × source; here a name is
first looked up among the source's words and strings (one pass), and only a name found
neither way is searched as a substring, at most ``MAX_SEARCHES`` times.
"""

from __future__ import annotations

import re

# The p-code instructions whose first argument is a name written in the source.
_NAMED = frozenset({"ArgsCall", "ArgsLd", "St", "Ld", "MemSt", "Label"})
_WORD = re.compile(r"[A-Za-z0-9_]+")
# A VBA string literal: "" is a quote inside it; strings do not cross lines.
_STRING = re.compile(r'"(?:[^"\r\n]|"")*"')
# Names neither a word nor a string of the source, searched as substrings (e.g. a name with
# a type suffix, "Str$"). A document whose p-code holds more of those than this is judged
# stomped without searching further: a benign source spells its names as words.
MAX_SEARCHES = 64


def pcode_names(disassembly: str) -> set[str]:
    """The names and string literals pcodedmp's disassembly shows, quoted as in source."""
    names: set[str] = set()
    for line in disassembly.splitlines():
        if not line.startswith("\t"):
            continue
        mnemonic, _, args = line.strip().partition(" ")
        args = args.strip()
        if mnemonic in _NAMED and args:
            args = args.removeprefix("(Call) ")  # olevba's issue 489
            name = args.split(None, 1)[0] if args else ""
            if name and not name.startswith("id_"):  # id_FFFF: "Me" and the like
                names.add(name)
        elif mnemonic == "LitStr":
            parts = args.split(None, 1)
            if len(parts) == 2 and len(parts[1]) >= 2:
                # pcodedmp shows an inner quote once; the source doubles it.
                names.add('"' + parts[1][1:-1].replace('"', '""') + '"')
    return names


def stomped(disassembly: str, source: str) -> bool:
    """True when the p-code names something the source does not contain."""
    names = pcode_names(disassembly)
    if not names:
        return False
    present = set(_WORD.findall(source))
    present.update(_STRING.findall(source))
    searched = 0
    for name in names:
        if name in present:
            continue
        searched += 1
        if searched > MAX_SEARCHES or name not in source:
            return True
    return False
