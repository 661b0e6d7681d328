"""Which ``[actions]``/``[policy.*]`` keys a gate reads: derived from the gate list.

The gates and their order are :data:`congvu_guard.policy.GATES` (size, lock, content,
release, malware lock, origin, rate, auth header, subject prefix). Only the content gate is
steered by ``[actions]`` and ``[policy.*]``; the other verdicts are fixed on purpose, and an
override naming one of their rules is refused when the configuration is checked
(:func:`check_overrides`) instead of being accepted and ignored, with the reason and the key
to change instead. So is an override naming a rule no gate reads.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from .config import SEVERITY_NAMES, Config, ConfigError
from .model import Action
from .policy import (
    GATES,
    INACTIVITY_LOCK_RULE,
    LOGIN_LOCK_RULE,
    MALWARE_LOCK_RULE,
    RATE_RULE,
    SIZE_RULE,
    STAMP_RULE,
    STATE_RULE,
    fixed_rules,
    steerable_rules,
)

__all__ = ["FIXED_RULES", "INACTIVITY_LOCK_RULE", "LOGIN_LOCK_RULE", "MALWARE_LOCK_RULE",
           "RATE_RULE", "SIZE_RULE", "STAMP_RULE", "STATE_RULE", "check_overrides",
           "rules_read"]

# Rule ID -> why its verdict is fixed and what to change instead (one line each).
FIXED_RULES: Mapping[str, str] = fixed_rules(GATES)


def rules_read(detector_rules: Collection[str]) -> set[str]:
    """Every rule ID some gate reads: the fixed gates', the steerable gates' own, and the
    detectors' (which the content gate reads)."""
    return {*FIXED_RULES, *steerable_rules(GATES), *detector_rules}


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
