"""The console's HTML (issue 21): the overview with its small SVG charts, one page of each
list with its filter form and pager, a report's detail page. Words come from the page
language's catalogue (:class:`i18n.Words`); data values are escaped inside ``<bdi>``."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from ..detectors.ioc import KINDS
from ..state.audit import AuditTrail
from ..state.client import RedisClient
from . import console_data, listing
from .auth import User
from .i18n import Words, data, local_time
from .mailtext import decode_header_text, shorten

SHORT = 80  # characters of a value shown in a list; the detail page shows it whole


@dataclass
class Ctx:
    t: Words
    user: User
    csrf: str
    client: RedisClient
    page_size: int
    grafana_url: str


def a(value: str) -> str:
    return escape(value, quote=True)


def d(value: Any, limit: int = SHORT) -> str:
    text = str(value if value is not None else "")
    return data(shorten(text, limit)) if text else ""


def when(ts: Any) -> str:
    return data(local_time(ts)) if ts else ""


def csrf_input(ctx: Ctx) -> str:
    return f"<input type='hidden' name='csrf' value='{a(ctx.csrf)}'>"


def url(path: str, params: Mapping[str, str]) -> str:
    return a(path + ("?" + urllib.parse.urlencode(params) if params else ""))


# -- overview ------------------------------------------------------------------------------

def chart(values: list[int], label: str) -> str:
    """Seven bars, the last (today) darker; server-rendered, no script, no style."""
    top = max(values) or 1
    w, hgt, gap = 18, 36, 4
    bars = []
    for i, v in enumerate(values):
        bh = max(1, round(v / top * hgt)) if v else 1
        fill = "#0d3b66" if i == len(values) - 1 else "#5b7fa6"
        bars.append(f"<rect x='{i * (w + gap)}' y='{hgt - bh}' width='{w}' height='{bh}' "
                    f"fill='{fill}'/>")
    width = len(values) * (w + gap) - gap
    return (f"<svg role='img' aria-label='{a(label)}' width='{width}' height='{hgt}' "
            f"viewBox='0 0 {width} {hgt}' xmlns='http://www.w3.org/2000/svg'>"
            + "".join(bars) + "</svg>")


def overview(ctx: Ctx, ov: dict[str, Any]) -> str:
    t = ctx.t
    week = ov["days"][0].isoformat()
    grafana = (f" <a href='{a(ctx.grafana_url)}' rel='noopener'>{t('grafana')}</a>"
               if ctx.grafana_url else "")
    card_grafana = (f" <a href='{a(ctx.grafana_url)}' rel='noopener' class='muted'>"
                    f"{t('grafana_short')}</a>" if ctx.grafana_url else "")
    cards = []
    specs = [("judged", ov["judged"], ""), ("rejected", ov["rejected"], ""),
             ("quarantined", ov["quarantined"], "/ui/reports?status=quarantine&from=" + week),
             ("locks_placed", ov["locks"], "/ui/audit?status=lock&from=" + week),
             ("reports_received", ov["reports"], "/ui/reports?from=" + week)]
    for key, values, link in specs:
        counted = ov["counted"] or key not in ("judged", "rejected", "quarantined")
        if counted:
            nums = (f"<div><span class='num'>{data(values[-1])}</span> {t('today')}</div>"
                    f"<div>{data(sum(values))} {t('week')}</div>"
                    + chart(values, t.raw("chart").format(name=t.raw(key))))
        else:
            nums = f"<p class='muted'>{t('not_counted')}</p>"
        more = f"<a href='{a(link)}'>{t('see_list')}</a>" if link else ""
        cards.append(f"<div class='card' id='ov-{key}'><h3>{t(key)}</h3>{nums}{more}"
                     f"{card_grafana}</div>")
    cards.append(f"<div class='card' id='ov-untriaged'><h3>{t('untriaged')}</h3>"
                 f"<div class='num'>{data(ov['untriaged'])}</div>"
                 f"<a href='/ui/reports?status=open'>{t('see_list')}</a></div>")
    rules = "".join(f"<tr><th scope='row'><a href='{url('/ui/locks', {'rule': r})}'>{d(r)}"
                    f"</a></th><td>{data(today)}</td><td>{data(week)}</td><td>{data(now)}</td>"
                    "</tr>" for r, today, week, now in ov["locks_by_rule"])
    rules = rules or f"<tr><td colspan='4'>{t('none')}</td></tr>"
    cards.append(f"<div class='card wide' id='ov-rules'><h3 id='h-rules'>{t('locks_by_rule')}"
                 f"</h3><table aria-labelledby='h-rules'><thead><tr><th scope='col'>"
                 f"{t('rule')}</th><th scope='col'>{t('today')}</th><th scope='col'>"
                 f"{t('week')}</th><th scope='col'>{t('locked_now')}</th></tr></thead>"
                 f"<tbody>{rules}</tbody></table></div>")
    return (f"<section id='overview' aria-labelledby='h-overview'><h2 id='h-overview'>"
            f"{t('overview')}</h2><div class='cards'>{''.join(cards)}</div>"
            f"<p>{grafana}</p></section>")


# -- lists ---------------------------------------------------------------------------------

def filter_form(ctx: Ctx, name: str, q: listing.Query, fields: tuple[str, ...],
                statuses: tuple[str, ...] = ()) -> str:
    t = ctx.t
    # A form whose fields reach outside it (the event field) carries an id they point to.
    form_id = f"id='{name}-filter' " if "event" in fields else ""
    parts = [f"<form {form_id}method='get' action='/ui/{name}' class='filters' role='search' "
             f"aria-label='{t('filter')}: {t(name)}'>"]

    def field(key: str, label: str, control: str) -> None:
        parts.append(f"<label for='{name}-{key}'>{t(label)}{control}</label>")

    for key in fields:
        fid = f"{name}-{key}"
        if key in ("q", "account", "rule"):
            label = {"q": "search", "account": "account", "rule": "rule"}[key]
            kind = "search" if key == "q" else "text"
            field(key, label, f"<input id='{fid}' name='{key}' type='{kind}' "
                  f"value='{a(getattr(q, key))}' maxlength='{listing.LIMITS[key]}'>")
        elif key == "status":
            opts = [("", t("any"))] + [(s, t("status_" + s) if "status_" + s in t.cat
                                        else t("kind_" + s)) for s in statuses]
            field(key, "status", f"<select id='{fid}' name='status'>" + "".join(
                f"<option value='{a(v)}'{' selected' if v == q.status else ''}>{lab}</option>"
                for v, lab in opts) + "</select>")
        elif key in ("from", "to"):
            value = getattr(q, "date_from" if key == "from" else "date_to")
            field(key, "date_from" if key == "from" else "date_to",
                  f"<input id='{fid}' name='{key}' type='date' "
                  f"value='{value.isoformat() if value else ''}'>")
        elif key == "type":  # the blocklist's indicator type, in the rule parameter
            field(key, "ioc_type", f"<select id='{fid}' name='rule'>" + "".join(
                f"<option value='{v}'{' selected' if v == q.rule else ''}>"
                f"{t('type_' + v) if v else t('any')}</option>"
                for v in ("", *KINDS)) + "</select>")
        elif key == "sort":
            field(key, "sort", f"<select id='{fid}' name='sort'>" + "".join(
                f"<option value='{v}'{' selected' if v == q.sort else ''}>{t('sort_' + v)}"
                "</option>" for v in ("new", "old")) + "</select>")
        elif key == "size":
            sizes = sorted({*listing.SIZES, ctx.page_size})
            field(key, "size", f"<select id='{fid}' name='size'>" + "".join(
                f"<option{' selected' if s == q.size else ''}>{s}</option>"
                for s in sizes) + "</select>")
        elif key == "event":  # the audit trail's event, in the status parameter
            field(key, "event", f"<input id='{fid}' name='status' form='{name}-filter' "
                  f"value='{a(q.status)}' maxlength='{listing.LIMITS['status']}'>")
    parts.append(f"<button type='submit'>{t('apply')}</button>"
                 f"<a href='/ui/{name}'>{t('reset')}</a></form>")
    return "".join(parts)


def pager(ctx: Ctx, name: str, pg: listing.Page) -> str:
    t = ctx.t
    q = pg.query
    links = []
    if q.page > 1:
        links.append(f"<a rel='prev' href='{url('/ui/' + name, q.params(page=q.page - 1))}'>"
                     f"{t('prev')}</a>")
    links.append(f"<span>{t.f('page_of', page=q.page, pages=pg.pages, total=pg.total)}</span>")
    if q.page < pg.pages:
        links.append(f"<a rel='next' id='{name}-next' "
                     f"href='{url('/ui/' + name, q.params(page=q.page + 1))}'>{t('next')}</a>")
    return f"<nav class='pager' aria-label='{t(name)}'>{''.join(links)}</nav>"


def section(ctx: Ctx, name: str, table: str, form: str, foot: str, compact: bool) -> str:
    t = ctx.t
    head = (f"<h2 id='h-{name}'>{t(name)}</h2>" if compact
            else f"<h2 id='h-{name}' class='sr'>{t(name)}</h2>")
    more = f"<p><a href='/ui/{name}'>{t('see_all')}</a></p>" if compact else ""
    return (f"<section aria-labelledby='h-{name}'>{head}{'' if compact else form}{table}"
            f"{foot}{more}</section>")


def table(ctx: Ctx, tid: str, heads: list[str], rows: list[str], widths: list[int]) -> str:
    t = ctx.t
    cols = "".join(f"<col width='{w}%'>" for w in widths)
    if not rows:
        rows = [f"<tr><td colspan='{len(heads)}'>{t('none')}</td></tr>"]
    return (f"<table id='{tid}'><colgroup>{cols}</colgroup><thead><tr>"
            + "".join(f"<th scope='col'>{t(k)}</th>" for k in heads)
            + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def triage_controls(ctx: Ctx, cid: str, report: dict[str, Any], indicators: list[str],
                    limit: int) -> tuple[str, str]:
    """The campaign's indicators (to tick, for an operator) and the triage and release
    buttons acting through ``report``."""
    t = ctx.t
    if not ctx.user.may("operator"):
        return "<br>".join(d(i, limit) for i in indicators[:20]), ""
    fid = f"triage-{a(cid)}"
    boxes = "".join(
        f"<br><input type='checkbox' form='{fid}' id='{fid}-{n}' name='indicator'"
        f" value='{a(i)}'> <label for='{fid}-{n}'>{d(i, limit)}</label>"
        for n, i in enumerate(indicators[:50]))
    buttons = (f"<form method='post' action='/ui/triage' id='{fid}'>"
               f"{csrf_input(ctx)}<input type='hidden' name='report' "
               f"value='{a(report['id'])}'>"
               f"<button name='verdict' value='malicious' class='danger'>"
               f"{t('malicious')}</button> <button name='verdict' value='benign' "
               f"class='secondary'>{t('benign')}</button></form>")
    if report.get("kind") == "quarantine" and report.get("status") != "released":
        buttons += (f"<form method='post' action='/ui/release'>{csrf_input(ctx)}"
                    f"<input type='hidden' name='report' value='{a(report['id'])}'>"
                    f"<button class='secondary'>{t('release')}</button></form>")
    return f"<small>{t('pick')}</small>{boxes}", buttons


# One list view = its columns, how a page of rows becomes table rows, and its filters. The
# locks, reports, campaigns, bulk and IOC lists are selected and paged here over rows read
# whole (listing.select); the audit trail is read a page at a time inside Redis and pages by
# an entry-ID cursor, so only its selection and pager differ.

Row = dict[str, Any]
RowsRenderer = Callable[[Ctx, list[Row]], list[str]]


@dataclass(frozen=True)
class ListView:
    name: str
    columns: tuple[tuple[str, int], ...]  # (heading key, width in %)
    rows: RowsRenderer  # one page of rows -> their <tr> elements
    filters: tuple[str, ...]  # the filter form's fields (filter_form)
    statuses: tuple[str, ...] = ()  # the status filter's choices

    def render(self, ctx: Ctx, q: listing.Query, page_rows: list[Row], foot: str,
               compact: bool) -> str:
        tab = table(ctx, self.name, [k for k, _ in self.columns], self.rows(ctx, page_rows),
                    [w for _, w in self.columns])
        form = filter_form(ctx, self.name, q, self.filters, self.statuses)
        return section(ctx, self.name, tab, form, foot, compact)

    def page(self, ctx: Ctx, rows: list[Row], q: listing.Query, compact: bool = False) -> str:
        """Select, page and render rows read whole."""
        pg = listing.select(rows, q)
        return self.render(ctx, q, pg.rows, pager(ctx, self.name, pg), compact)


def _status_text(ctx: Ctx, status: str) -> str:
    return ctx.t("status_" + status) if "status_" + status in ctx.t.cat else d(status)


def _lock_rows(ctx: Ctx, page: list[Row]) -> list[str]:
    t = ctx.t
    out = []
    for lk in page:
        ev = ", ".join(f"{k}={v}" for k, v in sorted(lk["evidence"].items()))
        note = f" {lk['note']}" if lk["note"] else ""
        acc = a(lk["account"])
        form = ""
        if ctx.user.may("operator"):
            fid = f"u-{abs(hash(lk['account']))}"
            form = (f"<form method='post' action='/ui/unlock'>{csrf_input(ctx)}"
                    f"<input type='hidden' name='account' value='{acc}'>"
                    f"<label for='{fid}-r' class='sr'>{t('reference')}</label>"
                    f"<input id='{fid}-r' name='reference' placeholder='{t('reference')}'"
                    " required maxlength='200'>"
                    f"<label for='{fid}-a' class='sr'>{t('approver')}</label>"
                    f"<input id='{fid}-a' name='approver' placeholder='{t('approver')}'"
                    " required maxlength='200'>"
                    f"<button type='submit'>{t('unlock')}</button></form>")
        out.append(f"<tr data-account='{acc}'><td>{d(lk['account'])}</td>"
                   f"<td>{d(lk['reason'])}</td><td>{d(lk['by'])}</td>"
                   f"<td>{when(lk['at'])}</td><td>{d(ev + note, 160)}</td>"
                   f"<td>{form}</td></tr>")
    return out


def _report_rows(ctx: Ctx, page: list[Row]) -> list[str]:
    t = ctx.t
    out = []
    for r in page:
        files = r.get("files") or [{"name": "", "sha256": s} for s in r.get("sha256", [])]
        att = "<br>".join(f"{d(f.get('name', ''), 60)} <small>{d(f.get('sha256', ''), 20)}"
                          "</small>" for f in files[:5] if isinstance(f, dict))
        subj = d(r["subject"]) if r["subject"] else t("no_subject")
        kind = "kind_" + r.get("kind", "")
        kind_text = t(kind) if kind in t.cat else ""
        out.append(
            f"<tr data-report='{a(r['id'])}'><td>{when(r['ts'])}</td>"
            f"<td><a href='/ui/reports/{a(r['id'])}'>{subj}</a></td>"
            f"<td>{d(r.get('sender') or r.get('envelope_sender', ''))}</td>"
            f"<td>{d(r.get('reporter', ''))}<br><small>{kind_text}</small></td>"
            f"<td>{_status_text(ctx, r.get('status', ''))}<br>"
            f"<small>{d(r.get('rules', ''), 60)}</small></td><td>{att}</td></tr>")
    return out


def _campaign_rows(ctx: Ctx, page: list[Row]) -> list[str]:
    t = ctx.t
    inds = console_data.indicators(ctx.client, [c["id"] for c in page])
    out = []
    for c in page:
        first = c["first_report"]
        title = d(c["title"]) if c["title"] else t("no_subject")
        indicators, buttons = triage_controls(ctx, c["id"], first, inds.get(c["id"], []), 60)
        reasons = (f"<br><small class='reasons'>{d(first.get('reasons', ''), 160)}</small>"
                   if first.get("reasons") else "")
        out.append(f"<tr data-campaign='{a(c['id'])}'><td>{when(c['ts'])}</td>"
                   f"<td><a href='/ui/reports/{a(first['id'])}'>{title}</a>"
                   f"<br><small>{d(c['id'])}</small>{reasons}</td>"
                   f"<td>{_status_text(ctx, c.get('status', ''))}</td>"
                   f"<td>{data(len(c['reports']))}</td>"
                   f"<td>{indicators}</td><td>{buttons}</td></tr>")
    return out


def _audit_rows(ctx: Ctx, page: list[Row]) -> list[str]:
    return [f"<tr><td>{when(r.get('ts'))}</td><td>{d(r.get('event', ''))}</td>"
            f"<td>{d(r.get('account', ''))}</td><td>{d(r.get('reason', ''))}</td>"
            f"<td>{d(r.get('actor', ''))}</td><td>{d(r.get('reference', ''))}</td>"
            f"<td>{d(r.get('approver', ''))}</td></tr>" for r in page]


def _bulk_rows(ctx: Ctx, page: list[Row]) -> list[str]:
    return [f"<tr><td>{d(r['account'])}</td><td>"
            f"{ctx.t('no_limit') if r['messages'] == -1 else d(r['messages'])}</td>"
            f"<td>{d(r['note'])}</td></tr>" for r in page]


def _ioc_rows(ctx: Ctx, page: list[Row]) -> list[str]:
    return [f"<tr><td>{ctx.t('type_' + r['type'])}</td><td>{d(r['value'])}</td>"
            f"<td>{d(r['note'])}</td></tr>" for r in page]


VIEWS = {v.name: v for v in (
    ListView("locks", (("account", 20), ("reason", 10), ("by", 14), ("at", 11),
                       ("evidence", 25), ("unlock", 20)),
             _lock_rows, ("q", "account", "rule", "from", "to", "sort", "size")),
    ListView("reports", (("received", 11), ("subject", 27), ("sender", 17), ("reporter", 17),
                         ("verdict", 12), ("attachments", 16)),
             _report_rows, ("q", "account", "rule", "status", "from", "to", "sort", "size"),
             ("open", "malicious", "benign", "released", "quarantine", "user-report")),
    ListView("campaigns", (("at", 11), ("campaign_title", 27), ("status", 9),
                           ("report_count", 7), ("indicators", 30), ("actions", 16)),
             _campaign_rows, ("q", "account", "rule", "status", "from", "to", "sort", "size"),
             ("open", "malicious", "benign")),
    # The audit trail's event filter travels in the status parameter (filter_form "event").
    ListView("audit", (("at", 12), ("event", 10), ("account", 20), ("reason", 14),
                       ("actor", 14), ("reference", 15), ("approver", 15)),
             _audit_rows, ("q", "account", "from", "to", "sort", "size", "event")),
    ListView("bulk", (("account", 40), ("limit", 20), ("note", 40)),
             _bulk_rows, ("q", "account", "size")),
    ListView("ioc", (("ioc_type", 20), ("value", 40), ("note", 40)),
             _ioc_rows, ("q", "type", "size")),
)}


def audit_page(ctx: Ctx, params: Mapping[str, str], compact: bool = False) -> str:
    """Read a page at a time inside Redis (issue 15), searched and filtered by account,
    event and dates there; further pages by the entry ID cursor."""
    t = ctx.t
    size = min(10, ctx.page_size) if compact else ctx.page_size
    q = listing.parse(params if not compact else {}, size, strict=False)
    before = params.get("before", "") if not compact else ""
    if before and not all(c.isdigit() or c == "-" for c in before[:45]):
        before = ""
    since, until = q.bounds()
    pg = AuditTrail(ctx.client, 36500).page(account=q.account, event=q.status,
                                            since=since, until=until, limit=q.size,
                                            before=before[:45], query=q.q,
                                            oldest_first=q.sort == "old")
    links = []
    if before:
        links.append(f"<a href='{url('/ui/audit', q.params())}'>{t('first_page')}</a>")
    if pg.next_before:
        links.append(f"<a id='audit-next' rel='next' href='"
                     f"{url('/ui/audit', {**q.params(), 'before': pg.next_before})}'>"
                     f"{t('next')}</a>")
    foot = f"<nav class='pager' aria-label='{t('audit')}'>{''.join(links)}</nav>"
    return VIEWS["audit"].render(ctx, q, pg.rows, foot, compact)


class lists:
    """The list views as page.py calls them: ``lists.<name>(ctx, rows, query, compact)``;
    the audit trail reads its own rows: ``lists.audit(ctx, params, compact)``."""

    locks = VIEWS["locks"].page
    reports = VIEWS["reports"].page
    campaigns = VIEWS["campaigns"].page
    bulk = VIEWS["bulk"].page
    ioc = VIEWS["ioc"].page
    audit = staticmethod(audit_page)


# -- a report ------------------------------------------------------------------------------

def detail(ctx: Ctx, r: dict[str, Any], headers: str | None) -> str:
    t = ctx.t
    status = r.get("status", "")
    kind = r.get("kind", "")
    files = r.get("files") or [{"name": "", "sha256": s} for s in r.get("sha256", [])]
    rows = [
        ("subject", data(decode_header_text(r.get("subject", ""))) if r.get("subject")
         else t("no_subject")),
        ("sender", d(r.get("sender") or r.get("envelope_sender", ""), 10_000)),
        ("reporter", d(r.get("reporter", ""), 10_000)),
        ("received", when(r.get("ts"))),
        ("kind", t("kind_" + kind) if "kind_" + kind in t.cat else d(kind)),
        ("verdict", t("status_" + status) if "status_" + status in t.cat else d(status)),
        ("rules", d(r.get("rules", ""), 10_000)),
        ("reasons", d(r.get("reasons", ""), 100_000)),
        ("campaign", d(r.get("campaign", ""))),
        ("recipients", d(r.get("original_recipients", ""), 100_000)),
        ("message_id", d(r.get("message_id", ""), 10_000)),
        ("attachments", "<br>".join(f"{d(f.get('name', ''), 10_000)} "
                                    f"<small>{d(f.get('sha256', ''), 100)}</small>"
                                    for f in files if isinstance(f, dict))),
        ("domains", "<br>".join(d(x, 10_000) for x in r.get("domains", []))),
        ("links", "<br>".join(d(x, 10_000) for x in r.get("urls", []))),
        ("note", d(r.get("note", ""), 10_000)),  # e.g. partly parsed (issue 14)
    ]
    cid = r.get("campaign", "")
    if cid:  # triage from here too: the whole campaign, as on its list
        found = console_data.indicators(ctx.client, [cid]).get(cid, [])
        picks, buttons = triage_controls(ctx, cid, r, found, 10_000)
        rows.append(("indicators", picks))
        if buttons:
            rows.append(("actions", buttons))
    kv = "".join(f"<dt>{t(k)}</dt><dd>{v}</dd>" for k, v in rows)
    if headers is None:
        raw = f"<p>{t('no_raw')}</p>"
    else:
        raw = (f"<p><a href='/ui/reports/{a(r['id'])}/raw' download>{t('download')}</a></p>"
               f"<h2>{t('headers')}</h2><pre id='headers'>{data(headers)}</pre>")
    return (f"<section><p><a href='/ui/reports'>{t('back')}</a></p>"
            f"<dl class='kv' id='report'>{kv}</dl>{raw}</section>")
