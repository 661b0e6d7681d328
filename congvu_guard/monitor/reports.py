"""The report box (HUE-11.11): ingestion, campaigns, triage, release.

The milter appends everything that reaches the report box to the Redis stream
``congvu:reports`` (users' forwards and its own quarantines, with the message). The monitor
reads it through the consumer group ``monitor`` and acknowledges an entry only after the
report is stored, so nothing is lost when either side restarts (pending entries are read
again first).

A user's report is understood in the forms mail clients produce: the suspect message
attached (``message/rfc822`` or an ``.eml``), an inline forward ("---------- Forwarded
message ----------"), or a report button's subject tag (``Phishing:``, ``Junk:``, ``Not
junk:``) with the message attached. Reports that share a strong indicator (attachment
SHA-256, full URL) form a campaign (:mod:`campaigns`). Triage "malicious" puts the
indicators the operator picks on the IOC blocklist, so the milter stops the next copy
within seconds; "benign" closes it. Quarantined mail can be released to its original recipients.
"""

from __future__ import annotations

import asyncio
import email.policy
import email.utils
import json
import logging
import re
import smtplib
import socket
import time
from typing import Any

import redis
from aiohttp import web

from .. import stamp
from ..config import ScanConfig
from ..detectors.content import ScanLimits, expand
from ..detectors.ioc import url_domains
from ..message import ParsedMessage, ParseLimits, parse_message
from ..state.campaigns import Campaigns
from ..state.client import text as reply_text
from ..state.report_bodies import RawStore
from ..state.reports import Reports, ReportStream
from . import console_data, listing, secret_notice
from .api import INTERNAL, STATE, ApiError, bad, body, caller, list_query, paged, run, text_field
from .campaigns import TriageError, add_chosen, campaign_for, campaign_urls
from .mailtext import raw_header
from .state import MonitorState

log = logging.getLogger("congvu_guard.monitor.reports")

_TAG = re.compile(r"^\s*\[?(phishing|junk|spam|not junk|not spam)\]?\s*[:\-]", re.I)
# Linear by construction (issue 14: a report of 30,000 dashes took 31 s): the dash run is
# only tried from its first dash ((?<!-)) and taken whole (possessive), and a line's
# leading blanks are [ \t]*, never \s* (which under re.M runs over every following line).
_INLINE = re.compile(rb"(?<!-)-{3,}+[ \t]*+(?:forwarded message|original message|th\xc6\xb0 "
                     rb"chuy\xe1\xbb\x83n ti\xe1\xba\xbfp|tin nh\xe1\xba\xafn chuy\xe1\xbb\x83n ti"
                     rb"\xe1\xba\xbfp)[ \t]*+-{3,}", re.I)
_INLINE_FROM = re.compile(rb"^[ \t]*(?:From|T\xe1\xbb\xab):[ \t]*(.+)$", re.I | re.M)
_INLINE_SUBJECT = re.compile(rb"^[ \t]*(?:Subject|Ch\xe1\xbb\xa7 \xc4\x91\xe1\xbb\x81):[ \t]*(.+)$",
                             re.I | re.M)



def _address(value: str) -> str:
    _, addr = email.utils.parseaddr(value)
    return addr.lower() if "@" in addr else ""


def _attached_message(raw: bytes) -> bytes | None:
    """The first ``message/rfc822`` part of a message, as bytes."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        for part in msg.walk():
            if part.get_content_type() == "message/rfc822" and part is not msg:
                inner = part.get_payload()
                if isinstance(inner, list) and inner:
                    return inner[0].as_bytes()
    except (ValueError, TypeError, LookupError, IndexError, UnicodeError, RecursionError):
        # RecursionError: the standard library's parser and generator are recursive; a
        # message nested 1,200 levels exhausts them (issue 14). parse_message copes.
        return None
    return None


def reported_message(outer: ParsedMessage) -> tuple[ParsedMessage | None, str, str]:
    """(the reported message when it is attached, its form, the report-button tag)."""
    subject = outer.header("Subject") or ""
    m = _TAG.match(subject)
    tag = m.group(1).lower() if m else ""
    attached = _attached_message(bytes(outer.raw))
    if attached is not None:
        return parse_message(attached), "attached", tag
    for part in outer.parts:
        if part.filename.lower().endswith(".eml"):
            return parse_message(part.payload), "attached", tag
    return None, "inline" if any(_INLINE.search(p.payload) for p in outer.parts
                                 if p.content_type.startswith("text/")) else "plain", tag


def indicators(fields: dict[str, str], raw: bytes,
               max_depth: int = ScanConfig.max_depth) -> dict[str, Any]:
    """What a report tells: reporter, reported sender/subject, URLs' domains, hashes.

    Nesting shares the scanner's one depth limit ([scan] max_depth) and the scan its time
    budget; what lies beyond is not read, and the record's ``note`` says so."""
    outer = parse_message(raw, ParseLimits(max_depth=max_depth))
    kind = fields.get("kind", "")
    if kind == "quarantine":
        inner, form, tag = outer, "quarantine", ""
    else:
        inner, form, tag = reported_message(outer)
    target = inner or outer
    target.content = expand(target, ScanLimits(max_depth=max_depth))
    notes = sorted({d.split(": ", 1)[-1] for m in (outer, target) for d in m.defects
                    if "LimitExceeded" in d})
    if any(e.event == "budget" for e in target.content.events):
        notes.append("scan budget used up")
    hashes = sorted({f.sha256 for f in target.content.files if f.data and (
        f.name or f.depth)})
    sender = _address(target.header("From") or "") if inner is not None else ""
    # From the bytes: 8-bit subjects become replacement characters in the parser (issue 21).
    subject = raw_header(bytes(target.raw), "Subject") or target.header("Subject") or ""
    if inner is None and form == "inline":
        text = b"\n".join(p.payload for p in outer.parts if p.content_type.startswith("text/"))
        after = _INLINE.split(text, maxsplit=1)[-1]
        if m := _INLINE_FROM.search(after):
            sender = _address(m.group(1).decode("utf-8", "replace"))
        if m := _INLINE_SUBJECT.search(after):
            subject = m.group(1).decode("utf-8", "replace").strip()
    if kind == "quarantine":
        sender = fields.get("sender", "")
    return {
        "form": form, "tag": tag, "subject": subject[:998], "sender": sender,
        "domains": sorted(url_domains(target, parents=False))[:50], "sha256": hashes[:50],
        "urls": campaign_urls(target),
        # Attachment names with their hashes, for the page (issue 21).
        "files": [{"name": f.name[:300], "sha256": f.sha256} for f in target.content.files
                  if f.data and (f.name or f.depth)][:50],
        "message_id": (outer.header("Message-ID") or "").strip(),
        "note": ("partly parsed: " + ", ".join(notes)) if notes else "",
    }


def _unparsed(text: dict[str, str], error: BaseException) -> dict[str, Any]:
    """The record of a report that could not be parsed: kept, raw, with a note."""
    return {"form": "unparsed", "tag": "", "subject": "", "sender": text.get("sender", ""),
            "domains": [], "sha256": [], "urls": [], "message_id": "",
            "note": f"not parsed ({type(error).__name__}); the raw message is stored"}


class ReportStore:
    def __init__(self, state: MonitorState) -> None:
        self.state = state
        self.stream = ReportStream(state.client)
        self.reports = Reports(state.client)
        self.campaign_store = Campaigns(state.client)
        self.raw = RawStore(state.client, state.config.monitor.report_raw_max_bytes)

    # -- ingestion ---------------------------------------------------------------------

    def ensure_group(self) -> None:
        self.stream.ensure_group()

    def ingest(self, entry_id: str, raw_fields: dict[Any, Any]) -> str:
        fields = {reply_text(k): v for k, v in raw_fields.items()}
        raw = fields.pop("raw", b"")
        raw = raw if isinstance(raw, bytes) else reply_text(raw).encode()
        text = {k: reply_text(v) for k, v in fields.items()}
        rid = "r" + entry_id.replace("-", "")
        try:
            info = indicators(text, raw, self.state.config.scan.max_depth) if raw else {
                "form": "too-large", "tag": "", "subject": "", "sender": text.get("sender", ""),
                "domains": [], "sha256": [], "urls": [], "files": [], "message_id": ""}
        except redis.RedisError:
            raise
        except Exception as e:
            log.exception("report %s could not be parsed; stored raw", entry_id)
            info = _unparsed(text, e)
        reporter = text.get("auth_user") or text.get("sender", "")
        record = {
            "id": rid, "kind": text.get("kind", ""), "ts": text.get("ts", str(time.time())),
            "queue_id": text.get("queue_id", ""), "reporter": reporter if
            text.get("kind") == "user-report" else "",
            "original_recipients": text.get("recipients", ""), "rules": text.get("rules", ""),
            "reasons": text.get("reasons", ""), "envelope_sender": text.get("sender", ""),
            "status": "open", **{k: json.dumps(v) if isinstance(v, list) else v
                                 for k, v in info.items()},
        }
        record["campaign"] = self._campaign_for(rid, info)
        if raw:  # stored once, under the total-bytes cap (issue 15)
            self.raw.put(rid, raw)
        self.reports.put(rid, record)
        self.state.metrics.reports.labels(record["kind"] or "unknown").inc()
        secret_notice.after_ingest(self.state, rid, text, record)  # HUE-11.2 hold
        return rid

    def store_unparsed(self, entry_id: str, raw_fields: dict[Any, Any],
                       error: BaseException) -> None:
        """The last resort before an acknowledgement: the raw report under a note."""
        fields = {reply_text(k): v for k, v in raw_fields.items()}
        raw = fields.pop("raw", b"")
        text = {k: reply_text(v) for k, v in fields.items()}
        rid = "r" + entry_id.replace("-", "")
        record = {"id": rid, "kind": text.get("kind", ""), "ts": str(time.time()),
                  "status": "open", "campaign": "", "reporter": "", "original_recipients": "",
                  "rules": "", "reasons": "", "envelope_sender": text.get("sender", ""),
                  **{k: json.dumps(v) if isinstance(v, list) else v
                     for k, v in _unparsed(text, error).items()}}
        if raw:
            self.raw.put(rid, raw if isinstance(raw, bytes) else reply_text(raw).encode())
        self.reports.put(rid, record)

    def _campaign_for(self, rid: str, info: dict[str, Any]) -> str:
        return campaign_for(self.state.client, rid, info)

    def consume_once(self, consumer: str, block_ms: int = 2000) -> int:
        """Process pending entries first (after a restart), then new ones. Entries another
        consumer read but never acknowledged (it died) are claimed after five minutes."""
        done = 0
        self.stream.claim_stale(consumer)
        for start in ("0", ">"):
            for entry_id, fields in self.stream.read(consumer, start,
                                                     None if start == "0" else block_ms):
                if not fields:
                    self.stream.done(entry_id)
                    continue
                # A Redis error propagates before the acknowledgement: the entry stays
                # pending and is read again (consume_forever retries), never lost.
                try:
                    self.ingest(reply_text(entry_id), fields)
                except redis.RedisError:
                    raise
                except Exception as e:  # a bug past the parsing: keep the raw report
                    log.exception("report %s could not be ingested", reply_text(entry_id))
                    self.store_unparsed(reply_text(entry_id), fields, e)
                self.stream.done(entry_id)
                done += 1
        self.state.metrics.open_campaigns.set(self.campaign_store.open_count())
        return done

    # -- reading -------------------------------------------------------------------------

    def get(self, rid: str) -> dict[str, Any] | None:
        return self.reports.get(rid)

    def recent(self, limit: int = 200) -> list[dict[str, Any]]:
        ids = self.reports.newest_ids(limit)
        return [r for r in (self.get(i) for i in ids) if r]

    def campaign(self, cid: str) -> dict[str, Any] | None:
        return self.campaign_store.get(cid)

    def campaigns(self) -> list[dict[str, Any]]:
        ids: set[str] = {reply_text(r["campaign"]) for r in self.recent(500)}
        out = [c for c in (self.campaign(i) for i in sorted(ids)) if c]
        return sorted(out, key=lambda c: c.get("last_seen", ""), reverse=True)

    # -- triage and release --------------------------------------------------------------

    def triage(self, rid: str, verdict: str, actor: str,
               chosen: list[str] | None = None) -> dict[str, Any]:
        """Close the campaign; "malicious" blocklists only the ``chosen`` indicators."""
        rec = self.get(rid)
        if rec is None:
            raise KeyError(rid)
        cid = rec["campaign"]
        camp = self.campaign(cid) or {"indicators": [], "reports": [rid]}
        added: list[str] = []
        refused: list[dict[str, str]] = []
        if verdict == "malicious":
            added, refused = add_chosen(self.state, cid, rid, actor, camp["indicators"],
                                        chosen or [])
        status = "malicious" if verdict == "malicious" else "benign"
        self.campaign_store.close(cid, status)
        for r in camp["reports"]:
            self.reports.set_status(r, status)
        self.state.audit.append("triage", cid, actor, reason=status,
                                detail={"report": rid, "ioc_added": added,
                                        "ioc_refused": refused})
        self.state.metrics.triage.labels(status).inc()
        self.state.metrics.open_campaigns.set(self.campaign_store.open_count())
        return {"report": rid, "campaign": cid, "status": status, "ioc_added": added,
                "ioc_refused": refused}

    def release(self, rid: str, actor: str) -> dict[str, Any]:
        rec = self.get(rid)
        if rec is None:
            raise KeyError(rid)
        if rec["kind"] != "quarantine":
            raise ValueError("only quarantined mail can be released")
        raw = self.raw.get(rid)
        if not raw:
            raise ValueError("the message content is no longer stored")
        key = self.state.stamp_key()
        recipients = [r for r in rec["original_recipients"].split(",") if r]
        if not key or not recipients:
            raise ValueError("release needs the stamp key (Redis or [forwarding] "
                             "stamp_key_file) and the original recipients")
        token = stamp.release_token(key, rec.get("message_id", ""))
        host, _, port = self.state.config.monitor.smtp_relay.rpartition(":")
        data = f"{stamp.RELEASE_HEADER}: {token}\r\n".encode() + raw
        with smtplib.SMTP(host, int(port), timeout=60) as smtp:
            smtp.sendmail(rec["envelope_sender"] or "", recipients, data)
        self.reports.set_status(rid, "released")
        self.state.audit.append("release", rid, actor, detail={"recipients": recipients})
        return {"released": rid, "recipients": recipients}

    def reply(self, rid: str, text: str) -> None:
        rec = self.get(rid)
        if rec is None or not rec.get("reporter") or "@" not in rec["reporter"]:
            return
        box = self.state.config.report.address or "postmaster@localhost"
        msg = (f"From: {box}\r\nTo: {rec['reporter']}\r\nSubject: Ket qua xu ly thu bao cao / "
               f"Outcome of your report\r\nAuto-Submitted: auto-replied\r\n"
               f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n").encode()
        host, _, port = self.state.config.monitor.smtp_relay.rpartition(":")
        with smtplib.SMTP(host, int(port), timeout=60) as smtp:
            smtp.sendmail(box, [rec["reporter"]], msg)


def block_for(socket_timeout: float) -> int:
    """How long one idle XREADGROUP may block (ms): well inside the socket timeout."""
    return max(10, min(2000, int(socket_timeout * 1000 * 0.6)))


async def consume_forever(state: MonitorState) -> None:
    store = ReportStore(state)
    # A stable name: after a restart this consumer reads its own unacknowledged entries.
    consumer = f"monitor@{socket.gethostname()}"
    # XREADGROUP BLOCK must end before the client's socket timeout ([redis]
    # timeout_seconds, 0.5 s by default): a 2 s block timed out on every idle read and
    # the reader then slept 5 s with a warning (seen every ~5 s under systemd).
    block_ms = block_for(state.config.redis.timeout_seconds)
    while True:
        try:
            await asyncio.to_thread(store.ensure_group)
            while True:
                await asyncio.to_thread(store.consume_once, consumer, block_ms)
        except asyncio.CancelledError:
            raise
        except redis.RedisError as e:
            log.warning("report stream unavailable: %s; retrying", e)
            await asyncio.sleep(5)


# -- API ---------------------------------------------------------------------------------

def _report_shape(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k not in INTERNAL} | {"ts": str(r.get("ts") or "")}


def _campaign_shape(c: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in c.items() if k not in INTERNAL} | {"title": c["title"]}


async def list_reports(request: web.Request) -> web.Response:
    """Newest first, filtered and paged like the page's list (issue 21)."""
    caller(request, "viewer")
    query = list_query(request, 200)
    rows = await run(console_data.reports, request.app[STATE].client)
    return paged(rows, query, _report_shape)


async def show_report(request: web.Request) -> web.Response:
    caller(request, "viewer")
    rec = await run(ReportStore(request.app[STATE]).get, request.match_info["id"])
    if rec is None:
        raise ApiError(404, "no such report")
    return web.json_response(rec)


def _campaign_rows(state: MonitorState, query: listing.Query
                   ) -> tuple[list[dict[str, Any]], int]:
    rows = console_data.campaigns(state.client, console_data.reports(state.client))
    pg = listing.select(rows, query)
    found = console_data.indicators(state.client, [c["id"] for c in pg.rows])
    for c in pg.rows:
        c["indicators"] = found.get(c["id"], [])
    return pg.rows, pg.total


async def list_campaigns(request: web.Request) -> web.Response:
    """Newest first, with the title (the reports' most common subject), paged (issue 21)."""
    caller(request, "viewer")
    query = list_query(request, 200)
    rows, total = await run(_campaign_rows, request.app[STATE], query)
    return web.json_response([_campaign_shape(c) for c in rows],
                             headers={"X-Total-Count": str(total)})


async def triage(request: web.Request) -> web.Response:
    user = caller(request, "operator")
    data = await body(request)
    verdict = text_field(data, "verdict", limit=20)
    if verdict not in ("malicious", "benign"):
        raise bad("verdict: malicious or benign")
    reply = data.get("reply", False)
    if not isinstance(reply, bool):
        raise bad("reply: expected true or false")
    chosen = data.get("indicators", [])
    if not isinstance(chosen, list) or len(chosen) > 200 or not all(
            isinstance(i, str) and len(i) <= 2100 for i in chosen):
        raise bad("indicators: expected a list of the campaign's indicators (TYPE:VALUE)")
    store = ReportStore(request.app[STATE])
    try:
        result = await run(store.triage, request.match_info["id"], verdict, user.name, chosen)
    except KeyError:
        raise ApiError(404, "no such report") from None
    except TriageError as e:
        raise bad(str(e)) from None
    if reply and request.app[STATE].config.monitor.reply_to_reporter:
        text = ("Thu ban bao cao la thu doc hai; he thong da chan cac thu tuong tu. / The "
                "message you reported is malicious; similar mail is now blocked."
                if verdict == "malicious" else
                "Thu ban bao cao khong doc hai. / The message you reported is not harmful.")
        try:
            await run(store.reply, request.match_info["id"], text)
        except (OSError, smtplib.SMTPException) as e:
            log.warning("reply to the reporter failed: %s", e)
    return web.json_response(result)


async def release(request: web.Request) -> web.Response:
    user = caller(request, "operator")
    store = ReportStore(request.app[STATE])
    try:
        result = await run(store.release, request.match_info["id"], user.name)
    except KeyError:
        raise ApiError(404, "no such report") from None
    except ValueError as e:
        raise ApiError(409, str(e)) from None
    except (OSError, smtplib.SMTPException) as e:
        raise ApiError(503, f"could not submit the message: {e}") from None
    return web.json_response(result)


def routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/reports", list_reports)
    r.add_get("/api/v1/reports/{id}", show_report)
    r.add_post("/api/v1/reports/{id}/triage", triage)
    r.add_post("/api/v1/reports/{id}/release", release)
    r.add_get("/api/v1/campaigns", list_campaigns)
