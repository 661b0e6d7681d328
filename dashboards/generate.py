#!/usr/bin/env python3
"""The congvu-guard Grafana dashboard, written as code with grafana-foundation-sdk (Grafana
Labs' maintained SDK, pinned in the test extra; its schemaVersion is Grafana's current one).

    .venv/bin/python dashboards/generate.py          # rewrite congvu-guard.json
    .venv/bin/python dashboards/generate.py --check  # exit 1 when the JSON has drifted

CI runs the check (tests/test_operations.py), so the committed JSON always matches this file.
The data source is a variable of type prometheus with no value forced: Grafana offers the
default Prometheus data source, or the one chosen in the selector.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grafana_foundation_sdk.builders import stat as stat_panel
from grafana_foundation_sdk.builders import timeseries
from grafana_foundation_sdk.builders.common import GraphThresholdsStyleConfig
from grafana_foundation_sdk.builders.dashboard import (
    Dashboard,
    DatasourceVariable,
    QueryVariable,
    ThresholdsConfig,
)
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import GraphThresholdsStyleMode
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    GridPos,
    Threshold,
    ThresholdsMode,
    VariableOption,
    VariableRefresh,
)

HERE = Path(__file__).resolve().parent
OUT = HERE / "congvu-guard.json"
DS = DataSourceRef(type_val="prometheus", uid="${datasource}")
I = 'instance=~"$instance"'  # noqa: E741 - short: it is in every expression
Steps = list[tuple[float | None, str]]


def thresholds(steps: Steps) -> ThresholdsConfig:
    return ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(
        [Threshold(value=v, color=c) for v, c in steps])


def ts(title: str, exprs: list[tuple[str, str]], x: int, y: int, w: int = 12, h: int = 8,
       unit: str = "short", steps: Steps | None = None) -> timeseries.Panel:
    panel = (timeseries.Panel().title(title).datasource(DS)
             .grid_pos(GridPos(h=h, w=w, x=x, y=y)).unit(unit))
    for i, (expr, legend) in enumerate(exprs):
        panel = panel.with_target(Dataquery().expr(expr).legend_format(legend)
                                  .ref_id(chr(65 + i)).datasource(DS))
    if steps:
        panel = (panel.thresholds(thresholds(steps)).thresholds_style(
            GraphThresholdsStyleConfig().mode(GraphThresholdsStyleMode.LINE)))
    return panel


def stat(title: str, expr: str, x: int, y: int, w: int = 4, unit: str = "short",
         steps: Steps | None = None) -> stat_panel.Panel:
    return (stat_panel.Panel().title(title).datasource(DS)
            .grid_pos(GridPos(h=4, w=w, x=x, y=y)).unit(unit)
            .with_target(Dataquery().expr(expr).ref_id("A").datasource(DS))
            .thresholds(thresholds(steps or [(None, "green"), (1.0, "red")])))


def dashboard() -> Dashboard:
    health_ok: Steps = [(None, "red"), (1.0, "green")]
    panels = [
        stat("Redis up", f"min(congvu_guard_redis_up{{{I}}})", 0, 0, steps=health_ok),
        stat("Rate-limit fallback active",
             f"max(congvu_guard_ratelimit_fallback_active{{{I}}})", 4, 0),
        stat("clamd up (when enabled)",
             f"min(congvu_guard_clamd_up{{{I}}}) or on() (1 - max(congvu_guard_clamd_enabled"
             f"{{{I}}}))", 8, 0, steps=health_ok),
        stat("Accounts locked now", "max(congvu_guard_locked_accounts)", 12, 0,
             steps=[(None, "green"), (5.0, "orange")]),
        stat("Open report campaigns", "max(congvu_guard_open_campaigns)", 16, 0,
             steps=[(None, "green"), (1.0, "orange")]),
        stat("Milter errors (1h)",
             f"sum(increase(congvu_guard_errors_total{{{I}}}[1h]))", 20, 0),
        ts("Mail flow by action",
           [(f"sum by (action) (rate(congvu_guard_messages_total{{{I}}}[5m]))", "{{action}}")],
           0, 4, unit="ops"),
        ts("Rejects by rule",
           [(f'sum by (rule) (rate(congvu_guard_rule_hits_total{{action="reject",{I}}}[5m]))',
             "{{rule}}")], 12, 4, unit="ops"),
        ts("Automatic forwards blocked by destination (HUE-11.6)",
           [(f'sum by (destination) (increase(congvu_guard_autoforward_total{{outcome='
             f'"blocked",{I}}}[1h]))', "{{destination}}")], 0, 12),
        # Per-account views are not in Prometheus (personal data): the monitor's API
        # serves them (GET /api/v1/top/forwarders, /api/v1/top/senders).
        ts("Automatic forwards by outcome (per account: monitor /api/v1/top/forwarders)",
           [(f"sum by (outcome) (increase(congvu_guard_autoforward_total{{{I}}}[1h]))",
             "{{outcome}}")], 12, 12),
        ts("Send-rate checks, HUE-13.2d (busiest senders: monitor /api/v1/top/senders)",
           [(f"sum by (result) (rate(congvu_guard_ratelimit_checks_total{{{I}}}[5m]))",
             "{{result}}")], 0, 20, unit="ops"),
        ts("Locks by reason",
           [("sum by (reason) (increase(congvu_guard_locks_total[1h]))", "{{reason}}"),
            ("max(congvu_guard_locked_accounts)", "locked now")], 12, 20),
        ts("Malware and suspect findings by rule (HUE-11.5)",
           [(f'sum by (rule) (increase(congvu_guard_rule_hits_total{{rule=~"HUE-11.5.*|'
             f'HUE-11.11.*",{I}}}[1h]))', "{{rule}}")], 0, 28),
        ts("YARA hits by rule",
           [(f"sum by (rule) (increase(congvu_guard_yara_hits_total{{{I}}}[1h]))", "{{rule}}")],
           12, 28),
        ts("Report box: reports and open campaigns (HUE-11.11)",
           [("sum by (kind) (increase(congvu_guard_reports_total[1h]))", "{{kind}}"),
            ("max(congvu_guard_open_campaigns)", "open campaigns")], 0, 36),
        ts("Scan latency (end of message)",
           [(f'histogram_quantile(0.5, sum by (le) (rate(congvu_guard_stage_duration_seconds_'
             f'bucket{{stage="eom",{I}}}[5m])))', "p50"),
            (f'histogram_quantile(0.99, sum by (le) (rate(congvu_guard_stage_duration_seconds_'
             f'bucket{{stage="eom",{I}}}[5m])))', "p99")], 12, 36, unit="s"),
        ts("Redis, clamd and fallback",
           [(f"min(congvu_guard_redis_up{{{I}}})", "redis up"),
            (f"min(congvu_guard_clamd_up{{{I}}})", "clamd up"),
            (f"max(congvu_guard_ratelimit_fallback_active{{{I}}})", "fallback active"),
            (f"sum(rate(congvu_guard_redis_errors_total{{{I}}}[5m]))", "redis errors/s")],
           0, 44),
        ts("Logins and inactivity (BP-6.2d, HUE-13.2a)",
           [("sum by (source) (rate(congvu_guard_failed_logins_total[5m]))",
             "failed {{source}}"),
            ("sum by (decision) (rate(congvu_guard_auth_checks_total[5m]))", "{{decision}}"),
            ("sum by (result) (increase(congvu_guard_inactivity_sweep_total[1d]))",
             "sweep {{result}}")], 12, 44),
        ts("Public providers (HUE-11.7) and legacy encodings (HUE-5.3)",
           [(f"sum by (provider, direction) (increase(congvu_guard_public_provider_mail_total"
             f"{{{I}}}[1h]))", "{{direction}} {{provider}}"),
            (f"sum by (encoding) (increase(congvu_guard_legacy_encoding_total{{{I}}}[1h]))",
             "{{encoding}}")], 0, 52, w=24),
        # Issue 14: messages whose scan ran out of its time or byte budget (quarantined).
        ts("Scan budget: messages within it, and those that ran out (time, bytes)",
           [(f"sum by (outcome) (increase(congvu_guard_scan_budget_total{{{I}}}[1h]))",
             "{{outcome}}")], 0, 60, w=24),
        # Issue 17: large bodies kept in memory while they arrive, within one budget;
        # bytes held while no mail arrives are a share never given back.
        ts("Large bodies held in memory ([scan] body_memory_bytes)",
           [(f"sum by (instance) (congvu_guard_body_memory_bytes{{{I}}})", "{{instance}}"),
            (f"max(congvu_guard_body_memory_limit_bytes{{{I}}})", "budget")],
           0, 68, w=24, unit="bytes"),
        # The bodies that found no room in it and went to the spool directory: a steady
        # count on a server without scan workers means the budget is too small for its mail.
        ts("Large bodies spooled to disk (the memory budget had no room), per hour",
           [(f"sum by (instance) (increase(congvu_guard_body_spooled_total{{{I}}}[1h]))",
             "{{instance}}")], 0, 76, w=24),
    ]
    board = (
        Dashboard("congvu-guard").uid("congvu-guard").timezone("browser").refresh("1m")
        .time("now-6h", "now")
        .description("Official mail filter and abuse monitor (HUE/BP rules)")
        .tags(["congvu-guard", "mail"])
        .with_variable(DatasourceVariable("datasource").label("Data source").type("prometheus"))
        .with_variable(
            QueryVariable("instance").label("Instance").datasource(DS)
            .query("label_values(congvu_guard_build_info, instance)")
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .multi(True).include_all(True).all_value(".*")
            .current(VariableOption(selected=True, text="All", value="$__all")))
    )
    for panel_id, panel in enumerate(panels, start=1):
        board = board.with_panel(panel.id(panel_id))
    return board


def render() -> str:
    return json.dumps(dashboard().build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def expressions(data: dict) -> list[str]:
    """Every PromQL expression of the dashboard (for the metrics contract test)."""
    return [t["expr"] for p in data["panels"] for t in p.get("targets", [])]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="fail when the JSON has drifted")
    args = ap.parse_args()
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} differs from dashboards/generate.py: run it and commit",
                  file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
