"""An ``[actions]`` or ``[policy.*]`` override that no gate reads is refused at load, with one
line naming the key and saying what to change instead (issue 20)."""

from __future__ import annotations

from pathlib import Path

import pytest

from congvu_guard import cli
from congvu_guard.config import Config, ConfigError, from_mapping
from congvu_guard.engine import Engine
from congvu_guard.gates import FIXED_RULES


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(text)
    return p


def test_check_config_refuses_an_override_of_the_size_rule(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, '[actions]\n"HUE-14" = "accept"\n')
    assert cli.main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "[actions] HUE-14: not overridable" in err
    assert "[limits] max_message_bytes" in err  # what to change instead
    assert err.count("\n") == 1


@pytest.mark.parametrize("rule", sorted(FIXED_RULES))
def test_every_fixed_rule_is_refused_in_actions(rule: str) -> None:
    with pytest.raises(ConfigError, match=rf"^\[actions\] {rule}: not overridable"):
        Engine(from_mapping({"actions": {rule: "tag"}}))


def test_a_fixed_rule_is_refused_in_a_policy_table() -> None:
    with pytest.raises(ConfigError, match=r"^\[policy.outbound\] HUE-13.2d: not overridable"):
        Engine(from_mapping({"policy": {"outbound": {"HUE-13.2d": "accept"}}}))


def test_overrides_of_content_rules_are_still_accepted() -> None:
    engine = Engine(from_mapping({"actions": {"HUE-11.6": "tag", "CG-MIME": "accept"},
                                  "policy": {"inbound": {"HUE-11.5/macro": "tag"}}}))
    assert set(engine.config.actions) == {"HUE-11.6", "CG-MIME"}


def test_the_known_rules_listed_in_the_error_leave_out_the_fixed_ones() -> None:
    with pytest.raises(ConfigError) as e:
        Engine(Config(actions={"HUE-99": ...}))  # type: ignore[dict-item]
    listed = str(e.value).split("known: ", 1)[1]
    assert "HUE-14" not in listed.split(", ") and "HUE-11.6" in listed.split(", ")
