"""SMTP reply texts: ASCII only, Vietnamese without diacritics first, then English.

Every text names the rule ID so that a user who quotes the bounce to the help desk quotes
the rule too.
"""

from __future__ import annotations

from .config import MIB


def ascii_only(text: str, limit: int = 200) -> str:
    """Make a detail safe for an SMTP reply: printable ASCII, no '%', bounded length."""
    out = "".join(c if " " <= c <= "~" else "?" for c in text)
    out = out.replace("%", "pct")
    return out if len(out) <= limit else out[: limit - 3] + "..."


def human_size(n: int) -> str:
    if n % MIB == 0:
        return f"{n // MIB} MB"
    if n >= MIB:
        return f"{n / MIB:.1f} MB"
    return f"{n} bytes"


def size_exceeded(limit: int, basis: str) -> tuple[str, str, str]:
    size = human_size(limit)
    what_vn = "dung luong toi da" if basis == "transmitted" else "dung luong tep dinh kem toi da"
    what_en = "size limit" if basis == "transmitted" else "decoded content size limit"
    return (
        "552",
        "5.3.4",
        f"Thu vuot qua {what_vn} {size} (HUE-14) / Message exceeds the {size} {what_en}",
    )


def tempfail() -> tuple[str, str, str]:
    return (
        "451",
        "4.3.0",
        "Loi tam thoi khi kiem tra thu, vui long gui lai sau / "
        "Temporary error while checking the message, please try again later",
    )


def spool_full() -> tuple[str, str, str]:
    """The milter's spool disk is full: temporary, the sender's MTA tries again later."""
    return (
        "452",
        "4.3.1",
        "Bo loc thu tam het dung luong dia, vui long gui lai sau / "
        "Mail filter disk full, please try again later",
    )


# Rule-specific wording of a rejection; other rules get the generic text.
_RULE_TEXT = {
    "HUE-11.6": (
        "Khong duoc tu dong chuyen tiep thu cong vu ra ngoai he thong thu cong vu",
        "Automatic forwarding of official mail outside the official mail system is forbidden",
    ),
    "HUE-11.2": (
        "Van ban mat khong duoc gui qua thu dien tu; hay chuyen qua kenh mat",
        "Classified documents must not be sent by e-mail; use the secret channel",
    ),
}


# The wording for a whole family of rules ("HUE-11.5/exec", "HUE-11.5/yara", ...).
_FAMILY_TEXT = {
    "HUE-11.5": ("Thu chua tep nguy hiem hoac ma doc",
                 "Message carries a dangerous file or malware"),
    "HUE-11.11": ("Thu nghi ngo lua dao hoac doc hai",
                  "Message matches a known phishing or malware indicator"),
}


def content_rejected(rule: str, detail: str) -> tuple[str, str, str]:
    family = _FAMILY_TEXT.get(rule.split("/", 1)[0],
                              ("Thu bi tu choi theo quy dinh", "Message rejected by policy"))
    vn, en = _RULE_TEXT.get(rule, family)
    return ("550", "5.7.1", f"{vn} ({rule}) / {en} ({rule}): " + ascii_only(detail, 120))


def quarantine_unavailable(rule: str) -> tuple[str, str, str]:
    return (
        "550",
        "5.7.1",
        f"Thu nghi ngo khong an toan, da bi chan ({rule}) / "
        f"Suspect message blocked ({rule}); no report box is configured",
    )


def account_locked(reason: str, help_address: str) -> tuple[str, str, str]:
    """HUE-13.2d and other locks; restoration follows HUE-13.3."""
    why_vn, why_en = {
        "HUE-13.2d": ("gui qua nhieu thu trong thoi gian ngan", "too many messages sent"),
        "BP-6.2d": ("nhap sai mat khau nhieu lan", "too many failed logins"),
        "HUE-13.2a": ("khong su dung trong 6 thang", "not used for 6 months"),
        "HUE-13.2c": ("nghi bi chiem quyen hoac phat tan thu rac, ma doc",
                      "suspected compromise, spam or malware"),
    }.get(reason, ("theo quy dinh", "by policy"))
    contact = f" ({help_address})" if help_address else ""
    return (
        "550",
        "5.7.1",
        f"Hop thu tam khoa ({reason}): {why_vn}; thu truong don vi gui van ban de nghi khoi "
        f"phuc (HUE-13.3){contact} / Account temporarily locked ({reason}): {why_en}; "
        f"your unit head must send a written restoration request (HUE-13.3){contact}",
    )
