"""HUE-11.11 (origin): how a domain can pretend to be an official one.

Pure string functions, no I/O. A domain is a *look-alike* of a protected name (the
distinguishing label of an own or explicitly listed official domain, e.g. ``thuathienhue``
of ``thuathienhue.gov.vn``) when, after Unicode confusables and diacritics are folded
(``thừathiênhuế``, Cyrillic ``а``/``е``/``о``...), its own distinguishing label is

- the same name under another registrable domain (``thuathienhue.com.vn``), or
- within a small edit distance of it: 2 for domains outside the official list
  (``thuathlenhue.com``), 1 for domains inside it (``thuathlenhue.gov.vn``; real provinces
  are 2 apart, e.g. ``haiduong``/``haiphong`` and ``hanoi``/``hanam``, so 1 keeps them apart);

or when it dresses up as a government domain outside the official list: ``-gov``,
``gov-vn``, ``govvn`` in a label, or ``gov.vn`` followed by more labels
(``thuathienhue.gov.vn.thongbao-example.com``).
"""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterable

# Second-level suffixes under which names are registered (a small public-suffix list:
# the Vietnamese ones, and the common foreign ones phishing uses).
_SUFFIXES = frozenset({
    "gov.vn", "com.vn", "net.vn", "org.vn", "edu.vn", "ac.vn", "info.vn", "biz.vn",
    "name.vn", "pro.vn", "health.vn", "int.vn", "co.uk", "org.uk", "gov.uk", "com.au",
    "com.cn", "com.sg", "co.jp", "com.tw", "com.hk", "co.kr", "com.br",
})

# Letters of other scripts drawn like Latin ones (Cyrillic, Greek, Latin IPA and
# small capitals), and digits drawn like letters. NFKD handles full-width forms and
# diacritics; this table what NFKD leaves alone.
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j", "к": "k",
    "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s",
    "ԁ": "d", "ԛ": "q", "ԝ": "w", "ս": "u", "ո": "n", "օ": "o",
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
    "ɑ": "a", "ɡ": "g", "ɩ": "i", "ı": "i", "ȷ": "j", "ʜ": "h", "ɴ": "n", "ʀ": "r", "ꜱ": "s",
    "ᴀ": "a", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ᴋ": "k", "ᴍ": "m", "ᴏ": "o", "ᴘ": "p", "ᴛ": "t",
    "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ᴢ": "z", "đ": "d", "ð": "d", "ł": "l", "ø": "o",
})

_GOV_MARKERS = ("gov-vn", "govvn", "gov.vn.")


def unicode_form(domain: str) -> str:
    """The domain as a reader sees it: punycode labels (``xn--``) decoded, lower case."""
    out = []
    for label in domain.lower().rstrip(".").split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError):
                label = label.encode("ascii").decode("idna")
        out.append(label)
    return ".".join(out)


def skeleton(text: str) -> str:
    """``text`` with confusables and diacritics folded to plain ASCII letters where possible."""
    folded = unicodedata.normalize("NFKD", text.lower().translate(_CONFUSABLES))
    return "".join(c for c in folded if not unicodedata.combining(c)).translate(_CONFUSABLES)


def foreign_letters(text: str) -> bool:
    """``text`` holds letters of another script drawn like Latin ones (Cyrillic ``а``...)."""
    return any(ord(c) > 0x24F and c.translate(_CONFUSABLES) != c for c in text)


def registrable(domain: str) -> str:
    """The registered domain: ``a.b.thuathienhue.gov.vn`` -> ``thuathienhue.gov.vn``."""
    labels = domain.split(".")
    n = 3 if ".".join(labels[-2:]) in _SUFFIXES else 2
    return ".".join(labels[-n:])


def name_label(domain: str) -> str:
    """The distinguishing label of the registered domain (``thuathienhue``)."""
    return registrable(domain).split(".", 1)[0]


def within(a: str, b: str, k: int) -> bool:
    """Levenshtein distance of ``a`` and ``b`` is at most ``k``. Quadratic, on DNS labels
    only (<= 63 chars, longer strings are refused): at most ~4,000 steps, and a length
    difference over ``k`` or a row whose minimum passes ``k`` ends it early."""
    if abs(len(a) - len(b)) > k:
        return False
    if len(a) > 64 or len(b) > 64:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > k:
            return False
        prev = cur
    return prev[-1] <= k


def protected_names(patterns: Iterable[str]) -> frozenset[str]:
    """The distinguishing labels of domain patterns, leaving out bare suffixes
    (``*.gov.vn`` protects nothing by name: every province is under it)."""
    names = set()
    for p in patterns:
        d = p.removeprefix("*.").lower()
        if d in _SUFFIXES or "." not in d:
            continue
        label = name_label(d)
        if len(label) >= 4:  # shorter names are everybody's neighbours
            names.add(label)
    return frozenset(names)


def gov_marker(domain: str) -> str:
    """The government costume a non-official domain wears, or ""."""
    d = skeleton(unicode_form(domain))
    for marker in _GOV_MARKERS:
        if marker in d:
            return marker
    for label in d.split("."):
        if label.endswith("-gov") or "-gov-" in label:
            return "-gov"
    return ""


def resembles(domain: str, names: frozenset[str], official: bool) -> str:
    """The protected name ``domain`` imitates, or "". ``official``: the domain itself is
    in the official list (then only an edit distance of 1 counts, and never 0)."""
    shown = unicode_form(domain)
    folded = skeleton(shown)
    label = name_label(folded)
    disguised = folded != shown  # confusables or diacritics were folded
    if official and not disguised and label in names:
        return ""  # one of the protected domains itself (or its subdomain)
    for name in names:
        if label == name:
            if not official or disguised:
                return name
            continue
        # Short names have many real neighbours: one edit, and only outside the list.
        distance = (1 if official else 2) if len(name) >= 6 else (0 if official else 1)
        if distance and within(label, name, distance):
            return name
    return ""
