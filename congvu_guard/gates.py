"""The gates a message passes, in order, and which of them the ``[actions]`` table steers.

A message meets these gates (``engine.Engine``), each named after what it decides:

==============  ======================================  ==========================
gate            rule IDs                                ``[actions]`` / ``[policy]``
==============  ======================================  ==========================
size            HUE-14                                  fixed (reject)
lock            the lock's reason (HUE-13.2a/c/d, ...)  fixed (reject)
content         every detector's rules, scan budget     read (``policy.decide_content``)
release         (a verified release header)             n/a: turns a block into a tag
malware lock    HUE-13.2c (a side effect, no verdict)   n/a
origin          CG-STAMP                                fixed (tempfail)
rate            HUE-13.2d, CG-STATE                     fixed (reject, tempfail)
==============  ======================================  ==========================

Only the content gate goes through the ``[actions]`` and ``[policy]`` tables. The other
verdicts are fixed on purpose, and an override naming one of their rules is refused when
the configuration is checked (``check_overrides``) instead of being accepted and ignored:
each reason below says why, and which key to change instead.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from .config import SEVERITY_NAMES, Config, ConfigError
from .model import Action

SIZE_RULE = "HUE-14"
STAMP_RULE = "CG-STAMP"
RATE_RULE = "HUE-13.2d"
STATE_RULE = "CG-STATE"  # shared state (Redis) unavailable and on_redis_down = "tempfail"
MALWARE_LOCK_RULE = "HUE-13.2c"
INACTIVITY_LOCK_RULE = "HUE-13.2a"  # monitor/inactivity.py
LOGIN_LOCK_RULE = "BP-6.2d"  # monitor/logins.py

_LOCKED = ("a locked account is refused at MAIL FROM whatever the reason of its lock; "
           "unlock it with congvu-guard locks unlock (HUE-13.3)")

# Rule ID -> why its verdict is fixed and what to change instead (one line each).
FIXED_RULES: Mapping[str, str] = {
    SIZE_RULE: "the size gate rejects before the message is buffered or parsed; "
               "change [limits] max_message_bytes instead",
    RATE_RULE: "the rate gate's reject is the account lock itself; change [ratelimit] "
               "max_messages or add the account to [bulk_senders] instead",
    STATE_RULE: "a tempfail while Redis is down loses no mail; set [ratelimit] "
                "on_redis_down = \"fallback\" instead",
    STAMP_RULE: "mail from outside is tempfailed without the origin-stamp key so that no "
                "forward escapes the gate; set [forwarding] stamp_key_file instead",
    MALWARE_LOCK_RULE: _LOCKED,
    INACTIVITY_LOCK_RULE: _LOCKED,
    LOGIN_LOCK_RULE: _LOCKED,
}


def _fixed(label: str, rule: str) -> ConfigError:
    return ConfigError(f"{label} {rule}: not overridable: {FIXED_RULES[rule]}")


def check_overrides(config: Config, known_rules: Collection[str]) -> None:
    """Refuse ``[actions]`` and ``[policy.*]`` keys that no gate reads, naming the key."""
    for rule in config.actions:
        if rule in FIXED_RULES:
            raise _fixed("[actions]", rule)
    for direction, table in config.policy.items():
        for key in table:
            if key in FIXED_RULES:
                raise _fixed(f"[policy.{direction}]", key)
        bad = sorted(set(table) - set(known_rules) - set(SEVERITY_NAMES))
        if bad:
            raise ConfigError(f"[policy.{direction}] {bad[0]}: neither a severity "
                              f"({', '.join(SEVERITY_NAMES)}) nor a known rule ID")
    if config.actions.get("HUE-5.3") in (Action.REJECT, Action.QUARANTINE):
        raise ConfigError("[actions] HUE-5.3: legacy encodings are reported, never blocked "
                          "(use accept or tag)")
    unknown = sorted(set(config.actions) - set(known_rules))
    if unknown:
        known = ", ".join(sorted(set(known_rules) - set(FIXED_RULES)))
        raise ConfigError(f"[actions] {unknown[0]}: unknown rule ID (known: {known})")
