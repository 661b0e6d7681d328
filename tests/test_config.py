"""The configuration file: defaults, the shipped example, and clear errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from congvu_guard import cli
from congvu_guard.config import Config, ConfigError, load
from congvu_guard.model import Action

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(text)
    return p


def test_defaults_follow_the_regulation() -> None:
    c = Config()
    assert c.limits.max_message_bytes == 20971520  # HUE-14
    assert c.milter.socket == "unix:/run/congvu-guard/milter.sock"
    assert {"gmail.com", "yahoo.com.vn", "hotmail.com", "proton.me"} <= set(
        c.domains.public_providers)


def test_shipped_example_is_valid_and_matches_the_defaults() -> None:
    c = load(ROOT / "congvu-guard.example.toml")
    assert c.milter == Config().milter
    assert c.limits == Config().limits
    assert c.report.address == ""


def test_contract_keys_are_read(tmp_path: Path) -> None:
    c = load(write(tmp_path, """
[milter]
socket = "inet:8899@127.0.0.1"
[redis]
url = "redis://127.0.0.1:6379/0"
[limits]
max_message_bytes = 10485760
[domains]
official = ["*.gov.vn", "thuathienhue.gov.vn"]
public_providers = ["gmail.com"]
[report]
address = "tiepnhan@thuathienhue.gov.vn"
[actions]
"CG-MIME" = "accept"
"""))
    assert c.milter.socket == "inet:8899@127.0.0.1"
    assert c.redis.url == "redis://127.0.0.1:6379/0"
    assert c.limits.max_message_bytes == 10485760
    assert c.domains.official == ("*.gov.vn", "thuathienhue.gov.vn")
    assert c.domains.public_providers == ("gmail.com",)
    assert c.report.address == "tiepnhan@thuathienhue.gov.vn"
    assert c.actions == {"CG-MIME": Action.ACCEPT}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[limits]\nmax_mesage_bytes = 1\n", "[limits] max_mesage_bytes: unknown key"),
        ("[limits]\nmax_message_bytes = \"20MB\"\n",
         "[limits] max_message_bytes: expected an integer"),
        ("[limits]\nmax_message_bytes = true\n", "[limits] max_message_bytes: expected an integer"),
        ("[report]\naddress = \"tiepnhan\"\n", "[report] address: expected a mail address"),
        ("[report]\naddress = \"tiep nhan@hue.gov.vn\"\n", "[report] address"),
        ("[domains]\nofficial = [\"*.gov..vn\"]\n", "[domains] official"),
        ("[domains]\nofficial = \"gov.vn\"\n", "[domains] official: expected a list of strings"),
        ("[milter]\nsocket = \"/run/x.sock\"\n", "[milter] socket"),
        ("[limits]\nsize_basis = \"wire\"\n", "[limits] size_basis: expected one of"),
        ("[nonsense]\nx = 1\n", "[nonsense]: unknown section"),
        ("[actions]\n\"CG-MIME\" = \"drop\"\n", "[actions] CG-MIME: expected one of"),
        ("[limits\n", "not valid TOML"),
    ],
)
def test_bad_configuration_is_one_clear_error_naming_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as e:
        load(write(tmp_path, text))
    assert message in str(e.value)


def test_check_config_exits_2_and_names_the_key(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, "[limits]\nmax_message_bytes = \"big\"\n")
    assert cli.main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "[limits] max_message_bytes" in err
    assert err.count("\n") == 1  # one line, no traceback


def test_check_config_rejects_an_unknown_rule_in_actions(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, "[actions]\n\"HUE-99\" = \"reject\"\n")
    assert cli.main(["check-config", str(path)]) == 2
    assert "[actions] HUE-99: unknown rule ID" in capsys.readouterr().err


def test_check_config_of_a_missing_file_exits_2(tmp_path: Path, capsys) -> None:
    assert cli.main(["check-config", str(tmp_path / "nope.toml")]) == 2
    assert "cannot read configuration file" in capsys.readouterr().err


def test_milter_refuses_to_start_on_a_bad_config(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, "[milter]\nsocket = 12\n")
    assert cli.main(["milter", "--config", str(path)]) == 2
    assert "[milter] socket: expected a string" in capsys.readouterr().err
