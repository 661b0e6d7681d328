"""``congvu-guard audit-forwarding``: configured forwards that point outside the official
domains (HUE-11.6), found in the sources an administrator gives it.

Sources and what is read from them:

- Postfix alias and virtual maps: the source files, or ``postalias -s`` / ``postmap -s``
  output (``key: a, b`` or ``key a, b``; continuation lines start with white space).
- ``.forward`` files (``--forward FILE``, the account is the owner of the directory name,
  or ``--homes DIR`` for every ``DIR/*/.forward``).
- Sieve scripts: every ``redirect "address"`` (``--sieve FILE`` or ``--sieve-dir DIR``
  for every ``*.sieve`` below it; the account is the script's directory name).
- Zimbra: an LDIF export (``ldapsearch``) or ``zmprov -l gaa -v`` / ``zmprov ga USER``
  output, reading ``zimbraPrefMailForwardingAddress`` and ``zimbraMailForwardingAddress``.

Every target is classified like the milter does (official, public provider, non-official);
what the milter would block in the configured mode is marked ``blocked``.
"""

from __future__ import annotations

import base64
import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

from .addresses import DomainSet, parse_address, strip_brackets
from .config import Config

ZIMBRA_FORWARD_ATTRS = ("zimbraprefmailforwardingaddress", "zimbramailforwardingaddress")
_SIEVE_REDIRECT = re.compile(
    r"\bredirect\b((?:\s*:[A-Za-z_]+(?:\s+\"[^\"]*\"|\s+\d+)?)*)\s*\"((?:[^\"\\]|\\.)*)\"",
    re.IGNORECASE,
)
_SIEVE_COMMENT = re.compile(r"#[^\n]*|/\*.*?\*/", re.DOTALL)


@dataclass(frozen=True)
class Forward:
    source: str  # file it was found in, with a kind prefix: "virtual:/etc/postfix/virtual"
    account: str  # the official address or login that forwards
    target: str  # where to


@dataclass(frozen=True)
class AuditRow:
    source: str
    account: str
    target: str
    destination: str  # "official", a public provider domain, "non-official" or "invalid"
    verdict: str  # "blocked" or "allowed" in the configured mode


class AuditError(ValueError):
    pass


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError as e:
        raise AuditError(f"{path}: cannot read: {e.strerror}") from e


def _logical_lines(text: str) -> Iterator[str]:
    """Postfix table syntax: '#' comments, continuation lines start with white space."""
    current = ""
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if raw[0] in " \t" and current:
            current += " " + raw.strip()
            continue
        if current:
            yield current
        current = raw.strip()
    if current:
        yield current


def _targets(value: str) -> list[str]:
    return [t.strip().strip('"') for t in re.split(r"[,\s]+", value) if t.strip()]


def parse_postfix_map(text: str, source: str) -> Iterator[Forward]:
    """Alias (``key: targets``) and virtual (``key targets``) syntax, one or the other."""
    for line in _logical_lines(text):
        m = re.match(r'^("[^"]+"|[^\s:]+)\s*:\s*(.*)$', line) or re.match(
            r"^(\S+)\s+(.*)$", line)
        if m is None:
            continue
        key, value = m.group(1).strip('"'), m.group(2)
        for target in _targets(value):
            if target.startswith(("|", "/", ":include:")) or "@" not in target:
                continue  # commands, files, includes and local names stay on this server
            yield Forward(source, key, target)


def parse_dot_forward(text: str, source: str, account: str) -> Iterator[Forward]:
    for line in _logical_lines(text):
        for target in _targets(line):
            target = target.lstrip("\\")  # "\user" keeps a local copy: not a forward
            if target.startswith(("|", "/", ":include:")) or "@" not in target:
                continue
            yield Forward(source, account, target)


def parse_sieve(text: str, source: str, account: str) -> Iterator[Forward]:
    for m in _SIEVE_REDIRECT.finditer(_SIEVE_COMMENT.sub(" ", text)):
        yield Forward(source, account, m.group(2).replace('\\"', '"'))


def _ldif_records(text: str) -> Iterator[list[tuple[str, str]]]:
    record: list[tuple[str, str]] = []
    lines: list[str] = []
    for raw in text.splitlines():
        if raw.startswith(" ") and lines:
            lines[-1] += raw[1:]
        else:
            lines.append(raw)
    for line in lines:
        if not line.strip():
            if record:
                yield record
            record = []
            continue
        if line.startswith("# name "):  # zmprov -v record header
            if record:
                yield record
            record = [("name", line[7:].strip())]
            continue
        if line.startswith("#") or ":" not in line:
            continue
        attr, _, value = line.partition(":")
        if value.startswith(":"):  # base64 value
            try:
                value = base64.b64decode(value[1:].strip()).decode("utf-8", errors="replace")
            except ValueError:
                continue
        record.append((attr.strip().lower(), value.strip()))
    if record:
        yield record


def parse_zimbra(text: str, source: str) -> Iterator[Forward]:
    for record in _ldif_records(text):
        attrs: dict[str, list[str]] = {}
        for k, v in record:
            attrs.setdefault(k, []).append(v)
        account = next(
            (attrs[k][0] for k in ("zimbramaildeliveryaddress", "mail", "name", "uid", "dn")
             if attrs.get(k)), "unknown")
        for attr in ZIMBRA_FORWARD_ATTRS:
            for value in attrs.get(attr, []):
                for target in _targets(value):
                    yield Forward(source, account, target)


@dataclass(frozen=True)
class AuditSources:
    postfix_maps: Sequence[str] = ()
    forwards: Sequence[str] = ()
    homes: Sequence[str] = ()
    sieves: Sequence[str] = ()
    sieve_dirs: Sequence[str] = ()
    zimbra: Sequence[str] = ()


def collect(sources: AuditSources) -> list[Forward]:
    found: list[Forward] = []
    for p in map(Path, sources.postfix_maps):
        found += parse_postfix_map(_read(p), f"postfix-map:{p}")
    forward_files = [Path(f) for f in sources.forwards]
    for home_dir in map(Path, sources.homes):
        if not home_dir.is_dir():
            raise AuditError(f"{home_dir}: not a directory")
        forward_files += sorted(home_dir.glob("*/.forward"))
    for p in forward_files:
        found += parse_dot_forward(_read(p), f"forward:{p}", p.parent.name)
    sieve_files = [Path(f) for f in sources.sieves]
    for d in map(Path, sources.sieve_dirs):
        if not d.is_dir():
            raise AuditError(f"{d}: not a directory")
        sieve_files += sorted(d.rglob("*.sieve"))
    for p in sieve_files:
        account = p.parent.name if p.parent.name != "sieve" else p.parent.parent.name
        found += parse_sieve(_read(p), f"sieve:{p}", account)
    for p in map(Path, sources.zimbra):
        found += parse_zimbra(_read(p), f"zimbra:{p}")
    return found


def classify(forwards: Iterable[Forward], config: Config) -> list[AuditRow]:
    official = DomainSet(config.domains.official)
    public = DomainSet(config.domains.public_providers)
    public_only = config.forwarding.mode == "public-providers"
    rows = []
    for f in forwards:
        parsed = parse_address(strip_brackets(f.target))
        if parsed is None:
            dest = "invalid"
        elif official.matches(parsed.domain):
            dest = "official"
        elif public.matches(parsed.domain):
            dest = parsed.domain
        else:
            dest = "non-official"
        blocked = dest != "official" and (not public_only or dest not in ("non-official",
                                                                           "invalid"))
        rows.append(AuditRow(f.source, f.account, f.target, dest,
                             "blocked" if blocked else "allowed"))
    return rows


def report(rows: Sequence[AuditRow], as_json: bool, show_all: bool, out: TextIO) -> None:
    shown = [r for r in rows if show_all or r.destination != "official"]
    if as_json:
        for r in shown:
            print(json.dumps(asdict(r), ensure_ascii=False), file=out)
        return
    headers = ("ACCOUNT", "TARGET", "DESTINATION", "VERDICT", "SOURCE")
    table = [headers, *((r.account, r.target, r.destination, r.verdict, r.source)
                        for r in shown)]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers) - 1)]
    for row in table:
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]), file=out)
    print(f"{len(shown)} forward(s) outside the official domains"
          if not show_all else f"{len(shown)} forward(s)", file=out)


def run_audit(config: Config, sources: AuditSources, as_json: bool, show_all: bool,
              out: TextIO | None = None) -> int:
    rows = classify(collect(sources), config)
    report(rows, as_json, show_all, out or sys.stdout)
    return 0
