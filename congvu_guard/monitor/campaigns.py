"""Campaigns and triage of the report box (HUE-11.11), hardened (issue 15).

- Reports join a campaign only on strong indicators: an attachment's SHA-256 or a full URL.
  A shared link domain or sender does not merge (one outside message with a real campaign
  link plus links to gov.vn merged unrelated reports; a sender is trivially forged).
- Triage shows every indicator; "malicious" adds only those the operator picks. Domains
  that must never be blocklisted (official, the province's own, public providers: see
  :mod:`blockguard`) are refused with the reason.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterable
from typing import Any

from ..detectors.ioc import KINDS
from ..message import ParsedMessage
from ..state.campaigns import Campaigns
from ..state.client import RedisClient

STRONG = ("sha256", "url")
MAX_URLS = 50
# A link up to the first character that cannot be in one; bounded length, one pass.
_URL = re.compile(rb"\b(?:https?|ftp)://[^\s\"'<>()\[\]{}\\^`|]{1,2000}", re.I)
_TRAILING = b".,;:!?*"


def campaign_urls(msg: ParsedMessage) -> list[str]:
    """Full URLs of the links in the text parts (scheme and host lower-cased)."""
    found: set[str] = set()
    for part in msg.parts:
        if not (part.content_type.startswith("text/") or part.content_type.endswith("html")):
            continue
        for m in _URL.finditer(part.payload[:2_000_000]):
            raw = m.group().rstrip(_TRAILING).decode("ascii", "replace")
            scheme, _, rest = raw.partition("://")
            host, slash, path = rest.partition("/")
            found.add(f"{scheme.lower()}://{host.lower()}{slash}{path}")
            if len(found) >= MAX_URLS:
                return sorted(found)
    return sorted(found)


def indicators_of(info: dict[str, Any]) -> list[str]:
    out = [f"sha256:{h}" for h in info.get("sha256", [])]
    out += [f"url:{u}" for u in info.get("urls", [])]
    out += [f"domain:{d}" for d in info.get("domains", [])]
    if info.get("sender"):
        out.append(f"sender:{info['sender']}")
    return out


def campaign_for(client: RedisClient, rid: str, info: dict[str, Any]) -> str:
    """The campaign of a new report: an existing one sharing a strong indicator, or new."""
    every = indicators_of(info)
    strong = [i for i in every if i.partition(":")[0] in STRONG]
    store = Campaigns(client)
    found = store.of_indicators(strong)
    cid = found or "c" + secrets.token_hex(5)
    store.add_report(cid, rid, every, strong, str(time.time()), new=found is None)
    return cid


class TriageError(ValueError):
    """A triage request that names indicators the campaign does not have."""


def add_chosen(state: Any, cid: str, rid: str, actor: str, available: Iterable[str],
               chosen: Iterable[str]) -> tuple[list[str], list[dict[str, str]]]:
    """Put the chosen indicators on the IOC blocklist: (added, refused with the reason)."""
    have = set(available)
    wanted = list(dict.fromkeys(chosen))
    unknown = [i for i in wanted if i not in have]
    if unknown:
        raise TriageError(f"not indicators of campaign {cid}: {', '.join(unknown[:5])}")
    added: list[str] = []
    refused: list[dict[str, str]] = []
    for ind in wanted:
        kind, _, value = ind.partition(":")
        if kind not in KINDS:
            refused.append({"indicator": ind, "reason": f"{kind} indicators only group "
                            "reports into campaigns; the blocklist holds "
                            + ", ".join(KINDS)})
            continue
        why = state.domain_guard.refusal(value) if kind == "domain" else None
        if why is not None:
            refused.append({"indicator": ind, "reason": why})
            continue
        try:
            state.ioc.add(kind, value, f"campaign {cid} (report {rid}) by {actor}")
        except ValueError as e:
            refused.append({"indicator": ind, "reason": str(e)})
            continue
        added.append(ind)
    return added, refused
