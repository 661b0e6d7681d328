"""``congvu-guard scan``: judge .eml files with the same engine the milter uses."""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .config import Config
from .engine import DetectorError, Engine
from .model import Envelope, Finding, Verdict
from .services.clamd import Clamd
from .services.ioc import IocService
from .state.client import connect
from .state.ioc import IocStore
from .state.stamp_key import read_key_file


@dataclass(frozen=True)
class ScanEnvelopeArgs:
    sender: str | None = None
    recipients: Sequence[str] = ()
    auth_user: str = ""
    hop: str = ""  # inbound, submission, internal or gate; "" = derive from the others
    daemon_name: str = ""
    client_addr: str = ""


def scan_engine(config: Config) -> Engine:
    """The milter's engine, offline: origin stamps verify only with a [forwarding]
    stamp_key_file (the Redis-held key is not fetched) and none are added."""
    key = read_key_file(config.forwarding.stamp_key_file) if config.forwarding.stamp_key_file \
        else None
    clamd = None
    if config.clamav.enabled:
        clamd = Clamd(config.clamav)
        clamd.probe()
    ioc = IocService(IocStore(connect(config.redis)), config.ratelimit.on_redis_down) \
        if config.redis.url else None
    return Engine(config, stamp_key=lambda: key, clamd=clamd, ioc=ioc)


def wire_size(raw: bytes) -> int:
    """Size on the SMTP wire, where every line ends in CRLF."""
    return len(raw) + raw.count(b"\n") - raw.count(b"\r\n")


def _header_addresses(raw: bytes, names: Sequence[str]) -> list[str]:
    headers = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
        raw, headersonly=True
    )
    values: list[str] = []
    for name in names:
        for v in headers.get_all(name, []):
            values.append(str(v))
    try:
        pairs = email.utils.getaddresses(values)
    except (ValueError, TypeError, IndexError):
        return []
    return [a for _, a in pairs if "@" in a]


def envelope_for(raw: bytes, args: ScanEnvelopeArgs) -> Envelope:
    """The envelope given on the command line, else taken from the message's headers."""
    sender = args.sender
    if sender is None:
        found = _header_addresses(raw, ("Return-Path", "From"))
        sender = found[0] if found else ""
    recipients = list(args.recipients) or _header_addresses(raw, ("To", "Cc"))
    return Envelope(sender=sender, recipients=recipients, auth_user=args.auth_user,
                    hop=args.hop, daemon_name=args.daemon_name, client_addr=args.client_addr)


def judge(engine: Engine, raw: bytes, env: Envelope) -> Verdict:
    early = engine.check_envelope(env)
    if early is not None:
        return early
    return engine.check_message(env, raw, wire_size(raw))


def reason_record(f: Finding) -> dict[str, str]:
    rec = {"rule": f.rule, "detail": f.detail, "severity": f.severity.name.lower()}
    rec.update({k: v for k, v in f.facts if k in ("path", "type", "sha256")})
    return rec


def result_record(path: str, verdict: Verdict) -> dict[str, object]:
    return {
        "file": path,
        "action": verdict.action.value,
        "reasons": [reason_record(f) for f in verdict.findings],
        "smtp_reply": verdict.smtp_reply or None,
        "quarantine_to": verdict.quarantine_to or None,
    }


def run_scan(
    engine: Engine,
    files: Sequence[str],
    args: ScanEnvelopeArgs,
    as_json: bool,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Judge every file; exit status 0 when all were judged, 2 when any could not be read."""
    out = out or sys.stdout
    err = err or sys.stderr
    status = 0
    for name in files:
        try:
            raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as e:
            print(f"congvu-guard scan: {name}: cannot read: {e.strerror}", file=err)
            status = 2
            continue
        try:
            verdict = judge(engine, raw, envelope_for(raw, args))
        except DetectorError as e:
            print(f"congvu-guard scan: {name}: internal error: {e}", file=err)
            status = 2
            continue
        record = result_record(name, verdict)
        if as_json:
            print(json.dumps(record, ensure_ascii=False), file=out)
        else:
            line = f"{name}: {verdict.action.value}"
            if verdict.smtp_reply:
                line += f" [{verdict.smtp_reply}]"
            print(line, file=out)
            for f in verdict.findings:
                extra = " ".join(f"{k}={v}" for k, v in f.facts if k in ("type", "sha256"))
                print(f"  {f.rule} [{f.severity.name.lower()}] {f.detail} {extra}".rstrip(),
                      file=out)
    return status
