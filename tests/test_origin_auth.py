"""HUE-11.11 (origin) with SPF, DKIM and DMARC against a real DNS server on loopback:
own-domain forgeries from outside go to the report box, our own signed mail and the benign
neighbours pass, DMARC policies are followed, DNS trouble only tags."""

from __future__ import annotations

import email.utils
from collections.abc import Iterator
from pathlib import Path

import pytest

from congvu_guard.auth.service import Authenticator
from congvu_guard.config import Config, ConfigError, from_mapping
from congvu_guard.engine import Engine
from congvu_guard.model import Action, Envelope, Verdict
from tests.dkim_keys import DkimKey, make_key, sign
from tests.dns_server import ZoneServer

BOX = "tiepnhan@thuathienhue.gov.vn"
OWN_SERVER = "203.0.113.10"
HANOI_SERVER = "198.51.100.20"
OUTSIDE = "192.0.2.66"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DkimKey]:
    d = tmp_path_factory.mktemp("dkim")
    return {"own": make_key(d, "own"), "offline": make_key(d, "offline"),
            "partner": make_key(d, "partner")}


@pytest.fixture(scope="module")
def zone(keys: dict[str, DkimKey]) -> Iterator[ZoneServer]:
    z = ZoneServer([
        ("thuathienhue.gov.vn", "TXT", f"v=spf1 ip4:{OWN_SERVER} -all"),
        ("_dmarc.thuathienhue.gov.vn", "TXT", "v=DMARC1; p=reject"),
        ("mail._domainkey.thuathienhue.gov.vn", "TXT", keys["own"].record),
        ("hanoi.gov.vn", "TXT", f"v=spf1 ip4:{HANOI_SERVER} -all"),
        ("partner.example", "TXT", "v=spf1 ip4:198.51.100.0/24 -all"),
        ("_dmarc.partner.example", "TXT", "v=DMARC1; p=quarantine"),
        ("sel._domainkey.partner.example", "TXT", keys["partner"].record),
        ("bank.example", "TXT", "v=spf1 -all"),
        ("_dmarc.bank.example", "TXT", "v=DMARC1; p=reject; sp=quarantine"),
        ("news.example", "TXT", "v=spf1 ~all"),
        ("_dmarc.news.example", "TXT", "v=DMARC1; p=none"),
        ("loop.example", "TXT", "v=spf1 include:loop.example redirect=%{d} -all"),
        ("_dmarc.loop.example", "TXT", "v=DMARC1; p=reject; p=none; adkim"),
    ], silent=["_dmarc.slow.example", "slow.example"]).start()
    yield z
    z.stop()


def config(zone: ZoneServer, tmp: Path, keys: dict[str, DkimKey], **origin: object) -> Config:
    key_file = tmp / "offline.txt"
    # The shape opendkim-genkey writes: a zone-file line with quoted strings.
    rec = keys["offline"].record
    key_file.write_text(f'offline._domainkey\tIN\tTXT\t( "{rec[:60]}"\n\t"{rec[60:]}" )\n')
    return from_mapping({
        "domains": {"own": ["thuathienhue.gov.vn", "*.thuathienhue.gov.vn"]},
        "report": {"address": BOX},
        "dns": {"nameservers": [zone.nameserver], "budget_seconds": 0.5},
        "origin": {"authentication": True, "authserv_id": "mx.thuathienhue.gov.vn",
                   "dkim_key_files": [f"offline._domainkey.thuathienhue.gov.vn={key_file}"],
                   **origin}})


@pytest.fixture
def engine(zone: ZoneServer, tmp_path: Path, keys: dict[str, DkimKey]) -> Engine:
    return Engine(config(zone, tmp_path, keys))


def message(sender: str, subject: str = "Thong bao") -> bytes:
    return (f"From: <{sender}>\r\nTo: <bob@thuathienhue.gov.vn>\r\nSubject: {subject}\r\n"
            f"Date: {email.utils.formatdate()}\r\nMessage-ID: <{subject.replace(' ', '.')}@t>"
            "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            "Kinh gui anh chi,\r\nXin xem van ban dinh kem.\r\n").encode()


def check(engine: Engine, raw: bytes, sender: str, client: str, **env: str) -> Verdict:
    e = Envelope(sender=sender, recipients=["bob@thuathienhue.gov.vn"], client_addr=client,
                 **env)
    return engine.check_message(e, raw, len(raw))


def auth_results(v: Verdict) -> str:
    return next((val for name, val in v.add_headers if name == "Authentication-Results"), "")


def test_own_domain_from_outside_without_dkim_goes_to_the_report_box(engine: Engine) -> None:
    v = check(engine, message("vanphong@thuathienhue.gov.vn"), "vanphong@thuathienhue.gov.vn",
              OUTSIDE)
    assert v.action is Action.QUARANTINE and v.quarantine_to == BOX
    assert "HUE-11.11/own-domain-spoof" in v.rules
    assert "HUE-11.11/dmarc" not in v.rules  # our own domain: the report box, not a bounce
    assert "spf=fail" in auth_results(v) and "dmarc=fail (p=reject)" in auth_results(v)
    assert "Authentication-Results" in v.strip_headers  # copies it arrived with: forged


def test_own_domain_in_the_envelope_sender_only_is_spoofing_too(engine: Engine) -> None:
    v = check(engine, message("info@partner.example"), "bounce@stttt.thuathienhue.gov.vn",
              "198.51.100.7")
    assert "HUE-11.11/own-domain-spoof" in v.rules


def test_own_domain_signed_by_our_server_passes(engine: Engine,
                                                keys: dict[str, DkimKey]) -> None:
    raw = sign(message("vanphong@thuathienhue.gov.vn"), keys["own"], "thuathienhue.gov.vn",
               "mail")
    v = check(engine, raw, "vanphong@thuathienhue.gov.vn", OWN_SERVER)
    assert v.action is Action.ACCEPT, v.findings
    ar = auth_results(v)
    assert ar.startswith("mx.thuathienhue.gov.vn;")
    assert "dkim=pass header.d=thuathienhue.gov.vn header.s=mail" in ar
    assert "spf=pass" in ar and "dmarc=pass" in ar


def test_own_domain_key_from_a_local_file_works_without_its_dns_record(
        engine: Engine, keys: dict[str, DkimKey], zone: ZoneServer) -> None:
    raw = sign(message("it@thuathienhue.gov.vn"), keys["offline"], "thuathienhue.gov.vn",
               "offline")
    v = check(engine, raw, "it@thuathienhue.gov.vn", OUTSIDE)
    assert "HUE-11.11/own-domain-spoof" not in v.rules
    assert "dkim=pass header.d=thuathienhue.gov.vn header.s=offline" in auth_results(v)
    assert ("offline._domainkey.thuathienhue.gov.vn", "TXT") not in zone.queries


def test_a_forged_signature_of_our_domain_is_spoofing(engine: Engine,
                                                      keys: dict[str, DkimKey]) -> None:
    raw = sign(message("vanphong@thuathienhue.gov.vn"), keys["partner"], "thuathienhue.gov.vn",
               "mail")  # signed with a key that is not ours
    v = check(engine, raw, "vanphong@thuathienhue.gov.vn", OUTSIDE)
    assert "HUE-11.11/own-domain-spoof" in v.rules
    assert "dkim=fail header.d=thuathienhue.gov.vn" in auth_results(v)


def test_own_domain_from_internal_networks_and_sasl_submission_is_ours(engine: Engine) -> None:
    raw = message("vanphong@thuathienhue.gov.vn")
    internal = check(engine, raw, "vanphong@thuathienhue.gov.vn", "127.0.0.1")
    sasl = check(engine, raw, "vanphong@thuathienhue.gov.vn", OUTSIDE,
                 auth_user="vanphong@thuathienhue.gov.vn")
    for v in (internal, sasl):
        assert v.action is Action.ACCEPT and auth_results(v) == ""


def test_another_provinces_official_mail_without_dkim_passes(engine: Engine) -> None:
    v = check(engine, message("vanthu@hanoi.gov.vn"), "vanthu@hanoi.gov.vn", HANOI_SERVER)
    assert v.action is Action.ACCEPT, v.findings
    assert "spf=pass smtp.mailfrom=hanoi.gov.vn" in auth_results(v)
    assert "dmarc=none" in auth_results(v)


def test_newsletter_with_p_none_and_softfail_passes(engine: Engine) -> None:
    v = check(engine, message("ban-tin@news.example"), "bounce@news.example", OUTSIDE)
    assert v.action is Action.ACCEPT
    assert "spf=softfail" in auth_results(v) and "dmarc=fail (p=none)" in auth_results(v)


def test_dmarc_policies_are_followed(engine: Engine, keys: dict[str, DkimKey]) -> None:
    rejected = check(engine, message("security@bank.example"), "x@bank.example", OUTSIDE)
    assert rejected.action is Action.REJECT and rejected.smtp_code == "550"
    assert "HUE-11.11/dmarc" in rejected.smtp_text and rejected.smtp_text.isascii()
    sub = check(engine, message("a@login.bank.example"), "x@login.bank.example", OUTSIDE)
    assert sub.action is Action.QUARANTINE  # sp=quarantine for subdomains
    held = check(engine, message("ketoan@partner.example"), "ketoan@partner.example", OUTSIDE)
    assert held.action is Action.QUARANTINE and held.quarantine_to == BOX
    signed = sign(message("ketoan@partner.example", "ky so"), keys["partner"],
                  "partner.example", "sel")
    ok = check(engine, signed, "ketoan@partner.example", OUTSIDE)  # DKIM aligned: pass
    assert ok.action is Action.ACCEPT and "dmarc=pass" in auth_results(ok)


def test_dns_that_does_not_answer_tags_and_never_rejects(engine: Engine) -> None:
    v = check(engine, message("a@slow.example"), "a@slow.example", OUTSIDE)
    assert v.action is Action.TAG and "HUE-11.11/auth-temperror" in v.rules
    assert "spf=temperror" in auth_results(v) and "dmarc=temperror" in auth_results(v)


def test_unreachable_resolver_is_a_temperror(tmp_path: Path, keys: dict[str, DkimKey],
                                             zone: ZoneServer) -> None:
    cfg = config(zone, tmp_path, keys)
    cfg = from_mapping({"domains": {"own": list(cfg.domains.own)},
                        "origin": {"authentication": True},
                        "dns": {"nameservers": ["127.0.0.1:9"], "budget_seconds": 0.3}})
    v = check(Engine(cfg), message("a@partner.example"), "a@partner.example", OUTSIDE)
    assert v.action is Action.TAG and "HUE-11.11/auth-temperror" in v.rules


def test_answers_are_cached_between_messages(engine: Engine, zone: ZoneServer) -> None:
    check(engine, message("vanthu@hanoi.gov.vn", "one"), "vanthu@hanoi.gov.vn", HANOI_SERVER)
    before = len(zone.queries)
    check(engine, message("vanthu@hanoi.gov.vn", "two"), "vanthu@hanoi.gov.vn", HANOI_SERVER)
    assert len(zone.queries) == before


def test_own_domain_check_runs_without_full_authentication(
        zone: ZoneServer, tmp_path: Path, keys: dict[str, DkimKey]) -> None:
    cfg = config(zone, tmp_path, keys, authentication=False)
    engine = Engine(cfg)
    v = check(engine, message("vanphong@thuathienhue.gov.vn"), "vanphong@thuathienhue.gov.vn",
              OUTSIDE)
    assert "HUE-11.11/own-domain-spoof" in v.rules and "spf=" not in auth_results(v)
    before = len(zone.queries)
    assert check(engine, message("x@partner.example"), "x@partner.example",
                 OUTSIDE).action is Action.ACCEPT
    assert len(zone.queries) == before  # no DNS for mail that does not claim our domain


def test_a_missing_key_file_is_a_config_error(tmp_path: Path) -> None:
    cfg = from_mapping({"domains": {"own": ["thuathienhue.gov.vn"]}, "origin": {
        "dkim_key_files": [f"s._domainkey.thuathienhue.gov.vn={tmp_path}/none.txt"]}})
    with pytest.raises(ConfigError, match=r"^\[origin\] dkim_key_files"):
        Authenticator(cfg)


def test_a_key_file_written_by_opendkim_genkey_verifies_offline(tmp_path: Path,
                                                                zone: ZoneServer) -> None:
    import shutil
    import subprocess

    if shutil.which("opendkim-genkey") is None:
        pytest.skip("opendkim-tools is not installed")
    subprocess.run(["opendkim-genkey", "-D", str(tmp_path), "-d", "thuathienhue.gov.vn",
                    "-s", "genkey"], check=True, capture_output=True, timeout=60)
    key = DkimKey((tmp_path / "genkey.private").read_bytes(), "")
    cfg = from_mapping({
        "domains": {"own": ["thuathienhue.gov.vn"]},
        "dns": {"nameservers": [zone.nameserver]},
        "origin": {"dkim_key_files": [
            f"genkey._domainkey.thuathienhue.gov.vn={tmp_path}/genkey.txt"]}})
    raw = sign(message("it@thuathienhue.gov.vn", "genkey"), key, "thuathienhue.gov.vn",
               "genkey")
    v = check(Engine(cfg), raw, "it@thuathienhue.gov.vn", OUTSIDE)
    assert v.action is Action.ACCEPT, v.findings
    assert "dkim=pass header.d=thuathienhue.gov.vn header.s=genkey" in auth_results(v)


def test_hostile_spf_and_dmarc_records_are_results_not_errors(engine: Engine) -> None:
    v = check(engine, message("a@loop.example"), "a@loop.example", OUTSIDE)
    assert v.action is Action.REJECT  # the first p= counts; SPF permerror is no pass
    [f] = [f for f in v.findings if f.rule == "HUE-11.11/dmarc"]
    assert "spf=permerror" in f.detail
