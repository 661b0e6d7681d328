"""HUE-11.11 (origin) configuration: [domains] own, [origin] and [dns] are validated."""

from __future__ import annotations

import pytest

from congvu_guard.config import Config, ConfigError, from_mapping


def test_own_domains_default_to_none_and_are_read() -> None:
    assert Config().domains.own == ()
    assert not Config().origin.authentication
    c = from_mapping({"domains": {"own": ["thuathienhue.gov.vn", "*.thuathienhue.gov.vn"]},
                      "dns": {"nameservers": ["127.0.0.1:5353", "[::1]:53", "10.0.0.2"]},
                      "origin": {"dkim_key_files": ["mail._domainkey.hue.gov.vn=/etc/k.txt"]}})
    assert c.domains.own == ("thuathienhue.gov.vn", "*.thuathienhue.gov.vn")
    assert c.dns.nameservers == ("127.0.0.1:5353", "[::1]:53", "10.0.0.2")


@pytest.mark.parametrize(("data", "message"), [
    ({"domains": {"own": ["thua thien.gov.vn"]}}, "[domains] own:"),
    ({"domains": {"own": "thuathienhue.gov.vn"}}, "[domains] own: expected a list"),
    ({"dns": {"nameservers": ["resolver.local"]}}, "[dns] nameservers:"),
    ({"dns": {"nameservers": ["127.0.0.1:99999"]}}, "[dns] nameservers:"),
    ({"dns": {"budget_seconds": 0}}, "[dns] budget_seconds:"),
    ({"origin": {"dkim_key_files": ["hue.gov.vn=/k"]}}, "[origin] dkim_key_files:"),
    ({"origin": {"dkim_key_files": ["s._domainkey.hue.gov.vn=k.txt"]}},
     "[origin] dkim_key_files:"),
])
def test_bad_origin_keys_are_one_error_naming_the_key(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        from_mapping(data)
    assert str(e.value).startswith(message)


def test_shipped_example_documents_the_origin_keys_with_their_defaults() -> None:
    from pathlib import Path

    from congvu_guard.config import load

    c = load(Path(__file__).resolve().parent.parent / "congvu-guard.example.toml")
    assert c.domains.own == Config().domains.own
    assert c.origin == Config().origin and c.dns == Config().dns
