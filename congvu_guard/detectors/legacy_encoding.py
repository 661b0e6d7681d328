"""HUE-5.3: official mail uses Unicode (TCVN 6909:2001). Text still written in the old
Vietnamese 8-bit encodings (TCVN3/ABC for .VnTime fonts, VNI, VISCII) is reported (severity
info, action tag, counted in a metric), never blocked.

Those encodings put Vietnamese letters on Latin-1 code points, so such text shows up as
Latin-1 characters in unusual places whatever the message's charset says:

- TCVN3: Latin-1 symbols inside words ("Céng hoµ x· héi chñ nghÜa ViÖt Nam"): the symbols
  0xA8-0xAE and 0xB5-0xBE stand for ă â ê ô ơ ư đ and toned a's. Western text never has
  them between letters.
- VNI: a plain vowel followed by a separate tone or hat mark ("Coäng hoøa xaõ hoäi ... Vieät
  Nam"): marks after vowels, with at least two kinds that no Western language writes
  there (ø õ ä û after a vowel, đ as "ñ").
- VISCII: a part that declares it.

Unicode Vietnamese uses precomposed letters and never matches these patterns; French,
German or Spanish text does not either (tested).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..message import ParsedMessage, Part
from ..model import Action, Envelope, Finding, Severity
from . import Detector

RULE = "HUE-5.3"
# Each pattern starts with the symbol it counts, and looks at its neighbours after: a search
# for a character class runs in C from one candidate to the next, where a pattern that
# starts with a look-behind is tried at every character. A 13 KB Vietnamese (Unicode) text
# took 1.5 ms here, more than the rest of its scan; now 0.2 ms.
_TCVN3_SYMBOL = r"[\u00a8-\u00ae\u00b5-\u00b9\u00bb-\u00be]"
# A TCVN3 symbol after a letter, or before one (counted once).
_TCVN3 = re.compile(rf"{_TCVN3_SYMBOL}(?:(?<=[A-Za-z]{_TCVN3_SYMBOL})|(?=[A-Za-z]))")
_VNI_MARKS = r"[\u00f8\u00f9\u00fb\u00f5\u00ef\u00e4]"
_VNI_MARK = re.compile(rf"({_VNI_MARKS})(?<=[aeiouyAEIOUY]{_VNI_MARKS})")
_VNI_DD = re.compile(r"\u00f1(?=[aeiouAEIOU])")
# Marks that no Western language puts after a vowel (French has "où", "naïf", "août").
_VNI_STRONG = {"\u00f8", "\u00f5", "\u00e4", "\u00fb"}
_WORD = re.compile(r"\w+")


def _text(part: Part) -> str:
    data = part.payload[:200_000]
    for enc in (part.charset or "utf-8", "utf-8", "cp1252"):
        try:
            return data.decode(enc)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


def classify(text: str, declared_charset: str = "") -> str:
    """"tcvn3", "vni", "viscii" or "" for Unicode and non-Vietnamese text."""
    if "viscii" in declared_charset.lower():
        return "viscii"
    if text.isascii():
        return ""  # both encodings put Vietnamese letters on non-ASCII code points
    words = 0  # counted only when a ratio is needed

    def share(count: int) -> float:
        nonlocal words
        words = words or max(len(_WORD.findall(text)), 1)
        return count / words

    tcvn = len(_TCVN3.findall(text))
    if tcvn >= 3 and share(tcvn) >= 0.05:
        return "tcvn3"
    marks = _VNI_MARK.findall(text)
    dd = _VNI_DD.findall(text)
    strong = set(marks) & _VNI_STRONG | ({"dd"} if dd else set())
    vni = len(marks) + len(dd)
    if vni >= 3 and len(strong) >= 2 and share(vni) >= 0.05:
        return "vni"
    return ""


def detect(env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
    for part in msg.parts:
        if not part.content_type.startswith("text/") or part.is_attachment:
            continue
        encoding = classify(_text(part), part.charset)
        if encoding:
            yield Finding(RULE, f"text in the legacy {encoding.upper()} encoding instead of "
                          f"Unicode (part {part.path})", Action.TAG, Severity.INFO,
                          "legacy_encoding", facts=(("encoding", encoding),))


DETECTOR = Detector("legacy_encoding", (RULE,), detect)
