"""Every decision explains itself: the X-Congvu-Guard headers and the one-line decision log.

Header values are ASCII (RFC 2047 encoded when a file name or address is not) and bounded
in length; log lines are ``key=value`` pairs (logfmt), quoted where needed, one per decision.
"""

from __future__ import annotations

import email.header
from collections.abc import Iterable, Sequence

from . import __version__
from .model import Envelope, Verdict

HEADER = "X-Congvu-Guard"
HEADER_ORIGINAL_RCPT = "X-Congvu-Guard-Original-Recipients"
HEADER_QUARANTINE = "X-Congvu-Guard-Quarantine"
# Headers we add. Copies that arrive with a message are removed first, so that nobody can
# forge a verdict or a list of "original recipients".
HEADER_RELEASE = "X-Congvu-Release"
OWN_HEADERS = (HEADER, HEADER_ORIGINAL_RCPT, HEADER_QUARANTINE, HEADER_RELEASE)
_MAX_HEADER = 900


def _encode(value: str) -> str:
    value = " ".join(value.split())
    if len(value) > _MAX_HEADER:
        value = value[: _MAX_HEADER - 3] + "..."
    if value.isascii():
        return value
    return email.header.Header(value, "utf-8", maxlinelen=10_000).encode()


def _reasons(verdict: Verdict, with_facts: bool = False) -> str:
    """Rule and detail of each finding; for the log also the file type and SHA-256."""
    out = []
    for f in verdict.findings:
        text = f"{f.rule} {f.detail}"
        if with_facts:
            facts = " ".join(f"{k}={v}" for k, v in f.facts if k in ("type", "sha256"))
            text += f" [{facts}]" if facts else ""
        out.append(text)
    return "; ".join(out)


def verdict_header(verdict: Verdict, hostname: str) -> str:
    """Value of X-Congvu-Guard: ``tag (HUE-11.5 ...; CG-MIME ...) host=mx1 v=0.1.0``."""
    parts = [verdict.action.value]
    if verdict.exempt:
        parts.append("exempt=report-box" if not verdict.released else "exempt=released")
    if verdict.findings:
        parts.append(f"rules={','.join(verdict.rules)}")
        parts.append(f"reasons=\"{_reasons(verdict)}\"")
    parts.append(f"host={hostname}")
    parts.append(f"version={__version__}")
    return _encode("; ".join(parts))


def original_recipients_header(recipients: Iterable[str]) -> str:
    return _encode(", ".join(f"<{r}>" for r in recipients))


def quarantine_header(env: Envelope, verdict: Verdict) -> str:
    return _encode(
        f"rules={','.join(verdict.rules)}; queue-id={env.queue_id or '-'}; "
        f"sender=<{env.sender}>; reasons=\"{_reasons(verdict)}\""
    )


# A decision line names every recipient and finding; hostile input (a thousand 2 KB
# addresses) made single lines of megabytes. Longer values are cut, saying how much.
MAX_LOG_VALUE = 64 * 1024


def _logfmt_value(value: str) -> str:
    if len(value) > MAX_LOG_VALUE:
        value = f"{value[:MAX_LOG_VALUE]}...(+{len(value) - MAX_LOG_VALUE} chars)"
    text = value.encode("utf-8", errors="backslashreplace").decode("utf-8")
    if text and not any(c in text for c in ' "=\\') and text.isprintable():
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c.isprintable() else repr(c)[1:-1] for c in escaped)
    return f'"{escaped}"'


def logfmt(pairs: Sequence[tuple[str, object]]) -> str:
    return " ".join(f"{k}={_logfmt_value(str(v))}" for k, v in pairs)


def decision_line(
    env: Envelope, verdict: Verdict, stage: str, size: int | None = None
) -> str:
    """The one structured log line for a decision."""
    pairs: list[tuple[str, object]] = [
        ("event", "decision"),
        ("stage", stage),
        ("queue_id", env.queue_id or "-"),
        ("action", verdict.action.value),
        ("rules", ",".join(verdict.rules) or "-"),
        ("from", f"<{env.sender}>"),
        ("rcpt", ",".join(f"<{r}>" for r in env.recipients) or "-"),
        ("auth", env.auth_user or "-"),
        ("client", env.client_addr or "-"),
        ("daemon", env.daemon_name or "-"),
    ]
    if size is not None:
        pairs.append(("size", size))
    if verdict.removed_recipients:
        pairs.append(("removed", ",".join(f"<{r}>" for r in verdict.removed_recipients)))
    if verdict.quarantine_to:
        pairs.append(("quarantine_to", f"<{verdict.quarantine_to}>"))
    if verdict.exempt:
        pairs.append(("exempt", "report-box"))
    if verdict.smtp_reply:
        pairs.append(("reply", verdict.smtp_reply))
    if verdict.findings:
        pairs.append(("reasons", _reasons(verdict, with_facts=True)))
    return logfmt(pairs)
