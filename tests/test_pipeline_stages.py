"""The pipeline of issue 20: parse and expand, services asked once per message, pure
detectors reading facts, and the named gates in order."""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import pytest

from congvu_guard import policy
from congvu_guard.config import Config, ConfigError, ReportConfig, from_mapping
from congvu_guard.detectors import clamav, ioc
from congvu_guard.detectors.budget import ScanBudget
from congvu_guard.detectors.content import ScanLimits
from congvu_guard.engine import Engine
from congvu_guard.facts import ClamavFacts, Facts, IocFacts
from congvu_guard.gates import FIXED_RULES
from congvu_guard.hops import Hop
from congvu_guard.message import ParsedMessage, ParseLimits, parse_message
from congvu_guard.model import Action, Envelope, Severity
from congvu_guard.parse import parse_and_expand
from congvu_guard.ratelimit.model import RateResult, Status
from congvu_guard.scan import wire_size
from tests import samples
from tests.helpers import simple_message

DETECTORS = Path(__file__).resolve().parent.parent / "congvu_guard" / "detectors"
BOX = ReportConfig(address="tiepnhan@hue.gov.vn")
ENV = Envelope(sender="x@example.net", recipients=["bob@hue.gov.vn"], hop="inbound")
# Modules that talk to a network service, or the clients that do.
_IO_MODULES = ("socket", "redis", "congvu_guard.services", "congvu_guard.state",
               "congvu_guard.store", "congvu_guard.auth.service",
               "congvu_guard.auth.dns", "congvu_guard.ratelimit")


def _imports(path: Path) -> set[str]:
    """Every module a file imports, relative imports resolved against congvu_guard.detectors."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ["congvu_guard", "detectors"]
            if node.level:
                base = base[:len(base) - node.level + 1]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            names.add(mod)
            names.update(f"{mod}.{a.name}" for a in node.names)
    return names


def _is_io(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in _IO_MODULES)


def test_no_detector_module_imports_socket_redis_or_a_service_client() -> None:
    offenders = {p.name: sorted(n for n in _imports(p) if _is_io(n))
                 for p in sorted(DETECTORS.glob("*.py"))}
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(offenders) > 20  # the scan did look at the package


def _parsed(raw: bytes, facts: Facts) -> ParsedMessage:
    msg = parse_message(raw)
    msg.facts = facts
    return msg


def test_clamav_detector_turns_clamd_facts_into_findings_without_a_server() -> None:
    det = clamav.build("tempfail")
    raw = simple_message("x")
    [hit] = det.detect(ENV, _parsed(raw, Facts(clamav=ClamavFacts(signature="Eicar-Sig"))))
    assert (hit.rule, hit.severity) == (clamav.RULE, Severity.CRITICAL)
    assert "Eicar-Sig" in hit.detail
    [down] = det.detect(ENV, _parsed(raw, Facts(clamav=ClamavFacts(unavailable="refused"))))
    assert (down.rule, down.action) == (clamav.RULE_DOWN, Action.TEMPFAIL)
    [tag] = clamav.build("tag").detect(ENV, _parsed(raw, Facts(clamav=ClamavFacts(
        unavailable="refused"))))
    assert tag.action is Action.TAG and "not virus-scanned: refused" in tag.detail
    assert list(det.detect(ENV, _parsed(raw, Facts(clamav=ClamavFacts())))) == []
    assert list(det.detect(ENV, _parsed(raw, Facts()))) == []  # clamd not asked


def test_ioc_detector_turns_blocklist_facts_into_findings_without_redis() -> None:
    content = b"report the security team listed"
    raw = samples.mime_message("x", [("r.txt", "text/plain", content)])
    msg = parse_and_expand(raw, ParseLimits(), ScanLimits(), ScanBudget(), [])
    digest = hashlib.sha256(content).hexdigest()
    assert digest in ioc.wanted(ENV, msg)["sha256"]
    msg.facts = Facts(ioc=IocFacts({"sha256": (digest,), "domain": ("evil.example",),
                                    "sender": ("x@example.net",)}))
    found = list(ioc.build("fallback").detect(ENV, msg))
    assert [f.rule for f in found] == [ioc.RULE] * 3
    assert "evil.example" in found[1].detail and "x@example.net" in found[2].detail
    msg.facts = Facts(ioc=IocFacts(unavailable=True))
    [down] = ioc.build("tempfail").detect(ENV, msg)
    assert (down.rule, down.action) == (ioc.RULE_DOWN, Action.TEMPFAIL)


class FakeClamd:
    """A clamd client that answers from memory and counts the questions."""

    on_failure = "tempfail"

    def __init__(self, answer: ClamavFacts) -> None:
        self.answer = answer
        self.asked: list[bytes] = []

    def check(self, raw: bytes) -> ClamavFacts:
        self.asked.append(raw)
        return self.answer


class FakeBlocklist:
    on_failure = "fallback"

    def __init__(self) -> None:
        self.asked = 0

    def check(self, env: Envelope, msg: ParsedMessage) -> IocFacts:
        self.asked += 1
        return IocFacts({"domain": tuple(ioc.wanted(env, msg)["domain"])})


def test_the_services_stage_asks_each_service_once_per_message_before_the_detectors() -> None:
    clamd, blocklist = FakeClamd(ClamavFacts(signature="Congvu.Test")), FakeBlocklist()
    e = Engine(Config(report=BOX), clamd=clamd, ioc=blocklist)
    raw = simple_message("x", body="https://phish.example/login\r\n")
    v = e.check_message(ENV, raw, wire_size(raw))
    assert clamd.asked == [raw] and blocklist.asked == 1
    assert v.action is Action.REJECT
    assert {"HUE-11.5/clamav", "HUE-11.11/ioc"} <= set(v.rules)
    assert "ioc-lookup" in dict(v.timings)


def test_a_service_rule_is_a_valid_action_key_only_with_its_service() -> None:
    actions = {"actions": {"HUE-11.5/clamav-unavailable": "tag"}}
    with pytest.raises(ConfigError, match=r"^\[actions\] HUE-11.5/clamav-unavailable: unknown"):
        Engine(from_mapping(actions))
    e = Engine(from_mapping(actions), clamd=FakeClamd(ClamavFacts(unavailable="down")))
    raw = simple_message("x")
    assert e.check_message(ENV, raw, wire_size(raw)).action is Action.TAG  # read, not ignored


def test_the_stamp_key_is_asked_only_for_messages_that_need_it() -> None:
    asked: list[str] = []

    def key() -> bytes:
        asked.append("key")
        return b"k" * 32

    e = Engine(Config(report=BOX), stamp_key=key, stamping=True)
    raw = simple_message("x")
    for hop in ("submission", "internal"):
        e.check_message(Envelope(sender="a@hue.gov.vn", recipients=["b@hue.gov.vn"],
                                 hop=hop), raw, wire_size(raw))
    assert asked == []
    for hop in ("inbound", "gate"):
        e.check_message(Envelope(sender="a@example.net", recipients=["b@hue.gov.vn"],
                                 hop=hop), raw, wire_size(raw))
    assert asked == ["key", "key"]


def test_parse_and_expand_fills_the_typed_content_in_one_stage() -> None:
    inner = samples.zip_of({"a.txt": b"hello"})
    raw = samples.mime_message("x", [("a.zip", "application/zip", inner)])
    timings: list[tuple[str, float]] = []
    msg = parse_and_expand(raw, ParseLimits(), ScanLimits(), ScanBudget(), timings)
    assert [f.name for f in msg.content.files][-1] == "a.txt"
    assert [name for name, _ in timings] == ["parse", "expand"]
    timings.clear()
    over = parse_and_expand(raw, ParseLimits(), ScanLimits(), ScanBudget(), timings,
                            max_decoded_bytes=10)
    assert over.content.files == [] and [name for name, _ in timings] == ["parse"]


def test_the_gates_are_one_ordered_list_the_engine_runs() -> None:
    names = [g.name for g in policy.GATES]
    assert names == ["size", "lock", "content", "release", "malware-lock", "origin", "rate",
                     "auth-header", "subject-prefix"]
    e = Engine(Config(report=BOX))
    assert [g.name for g, _ in e.envelope_gates] == ["size", "lock"]
    assert [g.name for g, _ in e.message_gates] == names[2:]
    assert [g.name for g in policy.GATES if g.steerable] == ["content"]


def test_fixed_rules_come_from_the_fixed_gates() -> None:
    assert policy.fixed_rules(policy.GATES) == FIXED_RULES
    assert {"HUE-14", "HUE-13.2d", "CG-STATE", "CG-STAMP", "HUE-13.2c"} <= set(FIXED_RULES)
    assert not set(FIXED_RULES) & policy.steerable_rules()


def test_a_gate_without_an_implementation_stops_the_engine(monkeypatch) -> None:
    extra = policy.Gate("new", ("end-of-data",), "a gate nobody wrote")
    monkeypatch.setattr(policy, "GATES", (*policy.GATES, extra))
    with pytest.raises(RuntimeError, match=r"gates without an implementation \['new'\]"):
        Engine(Config(report=BOX))


class CountingLimiter:
    def __init__(self) -> None:
        self.recorded: list[str] = []

    def account_for(self, env: Envelope, hop: Hop) -> str:
        return "a@hue.gov.vn"

    def lock_reason(self, account: str) -> tuple[str | None, Status]:
        return None, Status.OK

    def record(self, account: str, queue_id: str, nrcpt: int) -> RateResult:
        self.recorded.append(account)
        return RateResult(Status.OK, account)

    def lock_for_malware(self, account: str, detail: str, queue_id: str) -> None:
        raise AssertionError("no malware here")


def test_the_rate_gate_counts_only_what_the_origin_gate_let_through() -> None:
    raw = simple_message("x")
    limiter = CountingLimiter()
    no_key = Engine(Config(report=BOX), stamping=True, limiter=limiter)
    v = no_key.check_message(ENV, raw, wire_size(raw))
    assert v.action is Action.TEMPFAIL and v.rules == ("CG-STAMP",)
    assert limiter.recorded == []  # origin (before rate) stopped it: not counted
    keyed = Engine(Config(report=BOX), stamping=True, limiter=limiter,
                   stamp_key=lambda: b"k" * 32)
    assert keyed.check_message(ENV, raw, wire_size(raw)).action is Action.ACCEPT
    assert limiter.recorded == ["a@hue.gov.vn"]
