"""Every metric name the dashboard and the alert rules use exists on the running milter and
monitor; and a real Prometheus (Debian's package) scrapes them and answers a dashboard
expression."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import free_port, simple_message, token
from tests.monitor.conftest import Monitor

from .conftest import MailSystem
from .harness import send

ROOT = Path(__file__).resolve().parent.parent.parent
NAME = re.compile(r"congvu_guard_[a-z0-9_]+")


def used_metric_names() -> set[str]:
    dashboard = json.loads((ROOT / "dashboards" / "congvu-guard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    exprs += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    alerts = (ROOT / "dashboards" / "alerts.yml").read_text()
    return set(NAME.findall("\n".join(exprs) + alerts))


def scrape(url: str) -> set[str]:
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            names.add(name)
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
            if kind == "counter" and not name.endswith("_total"):
                names.add(f"{name}_total")
    return names


def test_every_metric_of_the_dashboard_and_alerts_exists(mail: MailSystem,
                                                         monitor: Monitor) -> None:
    send(mail.inbound_port, "a@thuathienhue.gov.vn", ["b@thuathienhue.gov.vn"],
         simple_message(f"metrics {token()}"))
    exported = scrape(f"http://127.0.0.1:{mail.milter.metrics_port}/metrics")
    exported |= scrape(monitor.url + "/metrics")
    used = used_metric_names()
    assert len(used) > 20
    missing = sorted(used - exported)
    assert not missing, f"used by dashboards/alerts but not exported: {missing}"


SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? \S+")
LABEL = re.compile(r'(?P<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?P<value>(?:[^"\\]|\\.)*)"')


def samples(url: str) -> list[tuple[str, dict[str, str]]]:
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    out = []
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m and not line.startswith("#"):
            out.append((m["name"], {lm["key"]: lm["value"]
                                    for lm in LABEL.finditer(m["labels"] or "")}))
    return out


def test_no_personal_data_and_no_created_series_and_each_exports_its_own(
    mail: MailSystem, monitor: Monitor,
) -> None:
    send(mail.inbound_port, "a@thuathienhue.gov.vn", ["b@thuathienhue.gov.vn"],
         simple_message(f"metrics {token()}"))
    milter = samples(f"http://127.0.0.1:{mail.milter.metrics_port}/metrics")
    mon = samples(monitor.url + "/metrics")
    for name, labels in milter + mon:
        assert "account" not in labels, (name, labels)
        assert not any("@" in v for v in labels.values()), (name, labels)
        assert not name.endswith("_created"), name
    milter_names = {n for n, _ in milter}
    assert "congvu_guard_messages_total" in milter_names
    assert "congvu_guard_auth_checks_total" not in milter_names
    assert "congvu_guard_messages_total" not in {n for n, _ in mon}


def test_a_real_prometheus_scrapes_them_and_answers_a_dashboard_query(
    mail: MailSystem, monitor: Monitor,
) -> None:
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus is not installed")
    base = Path(tempfile.mkdtemp(prefix="cg-prom-"))
    port = free_port()
    monitor_target = monitor.url.removeprefix("http://")
    (base / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: congvu-guard-milter\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{mail.milter.metrics_port}']}}]\n"
        "  - job_name: congvu-guard-monitor\n"
        f"    static_configs: [{{targets: ['{monitor_target}']}}]\n")
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={base / 'prometheus.yml'}",
         f"--storage.tsdb.path={base / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=(base / "log").open("wb"))
    try:
        dashboard = json.loads((ROOT / "dashboards" / "congvu-guard.json").read_text())
        expr = next(t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])
                    if "congvu_guard_redis_up" in t["expr"]).replace("$instance", ".*")

        def query(q: str) -> list:
            url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
            data = json.loads(urllib.request.urlopen(url, timeout=5).read())
            assert data["status"] == "success"
            return data["data"]["result"]

        deadline = time.monotonic() + 60
        result: list = []
        while time.monotonic() < deadline:
            try:
                ups = query("up")
                result = query(expr)
                if len(ups) == 2 and all(u["value"][1] == "1" for u in ups) and result:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.5)
        assert result and result[0]["value"][1] == "1", (expr, result,
                                                         (base / "log").read_text()[-2000:])
    finally:
        proc.terminate()
        proc.wait(15)
        shutil.rmtree(base, ignore_errors=True)
