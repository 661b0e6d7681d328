"""HUE-11.2: when the milter held a message for the security officer, the monitor records
it in the audit trail and tells the sender why.

The milter answers the SMTP transaction with 250 (the message is safe with the officer), so
the sender learns of the hold from this notice, sent through ``[monitor] smtp_relay``. Only
our own users are told: the SASL login, else a sender in ``[domains] official``; mail from
outside gets no notice (no backscatter to forged senders). The notice is a sentence about
marks, never a mark on a line of its own, so it passes the milter itself.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from typing import Any

from ..addresses import DomainSet
from .state import MonitorState

log = logging.getLogger("congvu_guard.monitor.secret")

RULE = "HUE-11.2"

BODY = """\
Thư của bạn (tiêu đề: "{subject}", gửi tới: {recipients}) có dấu chỉ độ mật ({rule}).
Thư đã được giữ lại và chuyển cho cán bộ bảo mật của đơn vị ({officer}); người nhận
chưa nhận được thư.

Theo quy định, văn bản mật không được gửi qua hệ thống thư điện tử công vụ. Hãy chuyển
văn bản qua kênh mật (văn thư, giao liên hoặc hệ thống dành cho văn bản mật). Nếu thư
không chứa văn bản mật, hãy liên hệ cán bộ bảo mật để được trả thư cho người nhận.

Your message (subject: "{subject}", to: {recipients}) carries a state-secret
classification mark ({rule}). It has been held and passed to your unit's security officer
({officer}); its recipients have not received it.

Classified documents must not be sent through the official mail system:
use the secret channel. If the message holds no classified document, ask the
security officer to release it.
"""


def notice_recipient(state: MonitorState, fields: dict[str, str]) -> str:
    """Whom to tell: the SASL login, else an official-domain sender, else nobody."""
    login = fields.get("auth_user", "")
    if "@" in login:
        return login
    sender = fields.get("sender", "")
    official = DomainSet(state.config.domains.official)
    return sender if "@" in sender and official.matches_address(sender) else ""


def after_ingest(state: MonitorState, rid: str, fields: dict[str, str],
                 record: dict[str, Any]) -> None:
    """Audit and notice for a message held under HUE-11.2; nothing for other reports."""
    if fields.get("kind") != "quarantine" or RULE not in fields.get("rules", "").split(","):
        return
    sender = fields.get("auth_user") or fields.get("sender", "")
    state.audit.append("secret-hold", sender, "milter", reason=RULE,
                       detail={"report": rid, "officer": fields.get("report_box", ""),
                               "queue_id": fields.get("queue_id", "")})
    to = notice_recipient(state, fields)
    if not to or not state.config.secret.notify_sender:
        return
    officer = fields.get("report_box") or state.config.secret.officer or "postmaster@localhost"
    msg = EmailMessage()
    msg["From"] = officer
    msg["To"] = to
    msg["Subject"] = "Thu cua ban dang duoc giu lai (HUE-11.2) / Your message is held"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(BODY.format(subject=str(record.get("subject", ""))[:200],
                                recipients=fields.get("recipients", ""), rule=RULE,
                                officer=officer))
    host, _, port = state.config.monitor.smtp_relay.rpartition(":")
    try:
        with smtplib.SMTP(host, int(port), timeout=60) as smtp:
            smtp.send_message(msg, from_addr="", to_addrs=[to])
    except (OSError, smtplib.SMTPException) as e:
        log.warning("HUE-11.2 notice to %s for report %s failed: %s", to, rid, e)
