from __future__ import annotations

from congvu_guard.addresses import DomainSet, address_key, parse_address, strip_brackets


def test_wildcard_patterns_match_subdomains_only() -> None:
    d = DomainSet(["*.gov.vn", "thuathienhue.gov.vn"])
    assert d.matches("hue.gov.vn")
    assert d.matches("stttt.thuathienhue.gov.vn")
    assert d.matches("THUATHIENHUE.GOV.VN.")
    assert not d.matches("gov.vn")
    assert not d.matches("evilgov.vn")
    assert not d.matches("gov.vn.evil.com")


def test_exact_patterns_do_not_match_subdomains() -> None:
    d = DomainSet(["thuathienhue.gov.vn"])
    assert not d.matches("x.thuathienhue.gov.vn")


def test_envelope_addresses_are_parsed_defensively() -> None:
    assert strip_brackets("<@relay.vn:User@Hue.Gov.VN>") == "User@Hue.Gov.VN"
    a = parse_address("<User@Hue.Gov.VN.>")
    assert a is not None and a.domain == "hue.gov.vn" and a.local == "User"
    assert parse_address("<>") is None
    assert parse_address("no-at-sign") is None
    assert parse_address("x@bad..domain") is None
    assert address_key("<TiepNhan@Hue.gov.vn>") == "tiepnhan@hue.gov.vn"


def test_unicode_domains_compare_in_punycode() -> None:
    a = parse_address("a@thừathiênhuế.vn")
    assert a is not None and a.domain.startswith("xn--")
    assert DomainSet(["thừathiênhuế.vn"]).matches(a.domain)
