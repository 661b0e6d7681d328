"""Campaigns of the report box (HUE-11.11; issue 15): one hash per campaign (id, first and
last seen, status), the sets of its reports and indicators, the strong-indicator index
(``keys.CAMPAIGN_BY``) and the set of open campaigns. Which indicators are strong and
what triage does is ``monitor/campaigns.py``'s and ``monitor/reports.py``'s."""

from __future__ import annotations

from typing import Any

from . import keys
from .client import RedisClient, hashes, text


class Campaigns:
    def __init__(self, client: RedisClient) -> None:
        self.client = client

    def of_indicators(self, strong: list[str]) -> str | None:
        """The campaign of the first strong indicator that has one."""
        found = [c for c in (self.client.hget(keys.CAMPAIGN_BY, k) for k in strong) if c]
        return text(found[0]) if found else None

    def add_report(self, cid: str, rid: str, indicators: list[str], strong: list[str],
                   now: str, new: bool) -> None:
        """The report joins campaign ``cid`` (created when ``new``), which is open again."""
        ck = keys.campaign(cid)
        if new:
            self.client.hset(ck, mapping={"id": cid, "first_seen": now, "status": "open"})
        self.client.hset(ck, "last_seen", now)
        self.client.sadd(keys.campaign_reports(cid), rid)
        if indicators:
            self.client.sadd(keys.campaign_indicators(cid), *indicators)
        if strong:
            self.client.hset(keys.CAMPAIGN_BY, mapping=dict.fromkeys(strong, cid))
        if self.client.hget(ck, "status") not in (b"open", "open"):
            self.client.hset(ck, "status", "open")  # a new report reopens a closed campaign
        self.client.sadd(keys.CAMPAIGNS_OPEN, cid)

    def close(self, cid: str, status: str) -> None:
        self.client.hset(keys.campaign(cid), "status", status)
        self.client.srem(keys.CAMPAIGNS_OPEN, cid)

    def open_count(self) -> int:
        return int(self.client.scard(keys.CAMPAIGNS_OPEN))

    def get(self, cid: str) -> dict[str, Any] | None:
        """The campaign's fields, with its sorted ``reports`` and ``indicators``."""
        data = self.client.hgetall(keys.campaign(cid))
        if not data:
            return None
        c: dict[str, Any] = {text(k): text(v) for k, v in data.items()}
        c["reports"] = sorted(text(r) for r in self.client.smembers(
            keys.campaign_reports(cid)))
        c["indicators"] = sorted(text(i) for i in self.client.smembers(
            keys.campaign_indicators(cid)))
        return c

    def fields_of(self, cids: list[str]) -> list[dict[str, str]]:
        """Each campaign's hash (empty when gone), in one round trip."""
        return hashes(self.client, [keys.campaign(cid) for cid in cids])

    def indicators_of(self, cids: list[str]) -> dict[str, list[str]]:
        """Each campaign's indicators, sorted, in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for cid in cids:
            pipe.smembers(keys.campaign_indicators(cid))
        return {cid: sorted(text(i) for i in found)
                for cid, found in zip(cids, pipe.execute(), strict=True)}
