"""The security team's page: server-rendered, Vietnamese first (``?lang=en`` for English).

Login with a name and password from the users file; a server-side session in Redis behind
an HttpOnly, SameSite=Strict (and Secure) cookie; every form carries the session's CSRF
token. Issue 21: an overview of today and the last 7 days at the top, then each list
(locks with the HUE-13.3 unlock form, reports, campaigns with triage, audit trail, bulk
senders, blocklist) one page at a time with filters and a search box; a detail page per
report with its original headers and the raw message as a download. Every word comes from
the catalogue of the page's language (:mod:`i18n`); no JavaScript, a strict CSP.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import urllib.parse
from html import escape
from typing import Any

from aiohttp import web

from ..state.locks import LockError, NotLocked
from . import console_data as data_
from . import listing
from .api import STATE, run
from .auth import User, same
from .campaigns import TriageError
from .console_views import Ctx, detail, lists, overview
from .i18n import CATALOGUES, Words
from .mailtext import header_block
from .reports import ReportStore, _attached_message
from .style import CSS

log = logging.getLogger("congvu_guard.monitor.page")
# Logins waiting for the password hash beyond this are answered 429 at once: the hashing
# pool (two threads) is never queued deeper than a few seconds of work.
MAX_WAITING_LOGINS = 16

COOKIE = "cg_session"
CSP = ("default-src 'self'; style-src 'self'; img-src 'self'; script-src 'none'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
_RID = re.compile(r"r[0-9]{1,40}\Z")


def lang_of(request: web.Request) -> str:
    lang = request.query.get("lang") or request.cookies.get("cg_lang", "vi")
    return lang if lang in CATALOGUES else "vi"


def page(request: web.Request, body: str, status: int = 200, user: User | None = None,
         csrf: str = "", heading: str = "") -> web.Response:
    t = Words(lang_of(request))
    other = "en" if t.lang == "vi" else "vi"
    query = {**request.query, "lang": other}
    switch = (f"<a href='{request.path}?{h_attr(urllib.parse.urlencode(query))}' "
              f"lang='{other}'>{t('other_lang')}</a>")
    nav = ""
    who = ""
    if user is not None:
        items = [("/", "nav_overview"), ("/ui/locks", "locks"), ("/ui/reports", "reports"),
                 ("/ui/campaigns", "campaigns"), ("/ui/audit", "audit"),
                 ("/ui/bulk", "bulk"), ("/ui/ioc", "ioc")]
        current = " aria-current='page'"
        nav = (f"<nav aria-label='{t('nav')}'><ul>" + "".join(
            f"<li><a href='{u}'{current if u == request.path else ''}>"
            f"{t(k)}</a></li>" for u, k in items) + "</ul></nav>")
        role = t.raw("role_" + user.role)
        who = (f"<span class='who'>{t.f('signed_in', user=user.name, role=role)}</span>"
               f"<form method='post' action='/logout'>{_csrf(csrf)}"
               f"<button type='submit' class='secondary'>{t('logout')}</button></form>")
    html = (f"<!doctype html><html lang='{t.lang}'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{t('title')}</title><link rel='stylesheet' href='/ui/style.css'>"
            f"</head><body><a class='skip' href='#main'>{t('skip')}</a>"
            f"<header class='top'><span class='brand'>{t('title')}</span>{nav}{switch}{who}"
            f"</header><main id='main'><h1>{heading or t('title')}</h1>{body}</main>"
            "</body></html>")
    resp = web.Response(text=html, content_type="text/html", status=status)
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["Cache-Control"] = "no-store"
    if "lang" in request.query:
        resp.set_cookie("cg_lang", t.lang, httponly=True, samesite="Strict")
    return resp


def h_attr(value: str) -> str:
    return escape(value, quote=True)


async def stylesheet(request: web.Request) -> web.Response:
    resp = web.Response(text=CSS, content_type="text/css")
    resp.headers["Cache-Control"] = "max-age=3600"
    return resp


async def session_user(request: web.Request) -> tuple[User | None, str, str]:
    state = request.app[STATE]
    sid = request.cookies.get(COOKIE, "")
    found = await run(state.sessions.get, sid) if sid else None
    if not found:
        return None, "", ""
    name, csrf = found
    user = state.auth.users.get(name)
    return user, csrf, sid


async def login_form(request: web.Request, error: str = "", status: int = 200,
                     **values: Any) -> web.Response:
    t = Words(lang_of(request))
    err = f"<p class='err' role='alert'>{t.f(error, **values)}</p>" if error else ""
    return page(request, f"<section class='login'>{err}<form method='post' action='/login'>"
                f"<label for='user'>{t('user')}</label><input id='user' name='user' "
                "autocomplete='username' required>"
                f"<label for='password'>{t('password')}</label><input id='password' "
                "name='password' type='password' autocomplete='current-password' required>"
                f"<p><button type='submit'>{t('login')}</button></p></form></section>",
                status, heading=t("login"))


def _too_many(request: web.Request, seconds: int) -> web.Response:
    t = Words(lang_of(request))
    resp = page(request, f"<p class='err' role='alert'>{t.f('wait', seconds=seconds)}</p>",
                429, heading=t("login"))
    resp.headers["Retry-After"] = str(max(1, seconds))
    return resp


async def login(request: web.Request) -> web.Response:
    """Per-address and per-name backoff (throttle.py) before any hashing; the hash runs on
    the login pool, never on the one answering Dovecot (issue 15)."""
    state = request.app[STATE]
    form = await request.post()
    name, password = str(form.get("user", ""))[:100], str(form.get("password", ""))[:200]
    remote = request.remote or ""
    wait = await run(state.throttle.wait_seconds, remote, name)
    if wait:
        return _too_many(request, wait)
    if state.logins_waiting >= MAX_WAITING_LOGINS:
        return _too_many(request, 1)
    state.logins_waiting += 1
    try:
        user = await asyncio.get_running_loop().run_in_executor(
            state.login_executor, state.auth.by_password, name, password)
    finally:
        state.logins_waiting -= 1
    if user is None:
        await run(state.throttle.failed, remote, name)
        # Unauthenticated: its own capped stream, not the operators' trail.
        await run(state.audit.append_unauthenticated, "login-failed", name, remote=remote)
        # Raw value: the monitor's log formatter escapes control characters (logsafe).
        log.warning("failed page login for %s from %s", name, remote)
        return await login_form(request, "bad_login", 401)
    await run(state.throttle.succeeded, remote, name)
    sid, _ = await run(state.sessions.create, user)
    resp = web.HTTPSeeOther("/")
    resp.set_cookie(COOKIE, sid, httponly=True, samesite="Strict",
                    secure=state.config.monitor.cookie_secure,
                    max_age=state.config.monitor.session_ttl_seconds)
    await run(state.audit.append, "login", user.name, user.name)
    raise resp


def error_page(request: web.Request, key: str, status: int,
               user: User | None = None, csrf: str = "") -> web.Response:
    t = Words(lang_of(request))
    return page(request, f"<p class='err' role='alert'>{t(key)}</p>", status, user, csrf)


class FormRefused(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


async def check_form(request: web.Request, role: str) -> tuple[User, Any]:
    user, csrf, _ = await session_user(request)
    if user is None:
        raise web.HTTPSeeOther("/login")
    form = await request.post()
    if not csrf or not same(str(form.get("csrf", "")), csrf):
        raise FormRefused(error_page(request, "err_csrf", 403, user, csrf))
    if not user.may(role):
        raise FormRefused(error_page(request, "err_role", 403, user, csrf))
    request["user"] = user
    return user, form


async def back(request: web.Request, key: str, **values: str) -> web.HTTPSeeOther:
    """Back to the overview, which shows a message from the catalogue with its values."""
    _, _, sid = await session_user(request)
    if sid:
        message = json.dumps({"key": key, **{k: v[:300] for k, v in values.items()}})
        await run(request.app[STATE].sessions.set_flash, sid, message)
    return web.HTTPSeeOther("/")


def form_handler(role: str) -> Any:
    def wrap(fn: Any) -> Any:
        async def handler(request: web.Request) -> web.Response:
            try:
                user, form = await check_form(request, role)
            except FormRefused as e:
                return e.response
            return await fn(request, user, form)
        return handler
    return wrap


async def logout(request: web.Request) -> web.Response:
    _, _, sid = await session_user(request)
    try:
        await check_form(request, "viewer")
    except FormRefused as e:
        return e.response
    await run(request.app[STATE].sessions.drop, sid)
    resp = web.HTTPSeeOther("/login")
    resp.del_cookie(COOKIE)
    raise resp


@form_handler("operator")
async def ui_unlock(request: web.Request, user: User, form: Any) -> web.Response:
    state = request.app[STATE]
    account = str(form.get("account", ""))[:320]
    try:
        lock = await run(state.locks.unlock, account, str(form.get("reference", "")),
                         str(form.get("approver", "")), actor=user.name)
    except NotLocked:
        raise await back(request, "err_not_locked", account=account) from None
    except LockError:
        raise await back(request, "err_unlock", account=account) from None
    await run(state.after_lock_change, "unlock", lock.account, user.name)
    raise await back(request, "flash_unlocked", account=lock.account)


@form_handler("operator")
async def ui_triage(request: web.Request, user: User, form: Any) -> web.Response:
    verdict = str(form.get("verdict", ""))
    if verdict not in ("malicious", "benign"):
        raise await back(request, "err_verdict")
    chosen = [str(v) for v in form.getall("indicator", [])][:200]
    try:
        result = await run(ReportStore(request.app[STATE]).triage, str(form.get("report", "")),
                           verdict, user.name, chosen)
    except KeyError:
        raise await back(request, "err_no_report") from None
    except TriageError:
        raise await back(request, "err_triage") from None
    raise await back(request, "flash_triaged", campaign=result["campaign"], status=result["status"],
               added=str(len(result["ioc_added"])), refused=str(len(result["ioc_refused"])))


@form_handler("operator")
async def ui_release(request: web.Request, user: User, form: Any) -> web.Response:
    try:
        result = await run(ReportStore(request.app[STATE]).release,
                           str(form.get("report", "")), user.name)
    except KeyError:
        raise await back(request, "err_no_report") from None
    except ValueError:
        raise await back(request, "err_release") from None
    except OSError:
        raise await back(request, "err_release_failed") from None
    raise await back(request, "flash_released", report=result["released"])


async def flash_html(request: web.Request, t: Words) -> str:
    _, _, sid = await session_user(request)
    raw = await run(request.app[STATE].sessions.pop_flash, sid) if sid else ""
    try:
        values = json.loads(raw) if raw else {}
    except ValueError:
        values = {}
    key = str(values.pop("key", "")) if isinstance(values, dict) else ""
    if not (key.startswith(("flash_", "err_")) and key in t.cat):
        return ""
    if key == "flash_triaged":
        values["status"] = t.raw("status_" + str(values.get("status", "")))
    cls = "err" if key.startswith("err_") else "flash"
    return f"<p class='{cls}' id='flash' role='status'>{t.f(key, **values)}</p>"


async def _ctx(request: web.Request) -> tuple[Ctx, User, str]:
    user, csrf, _ = await session_user(request)
    if user is None:
        raise web.HTTPSeeOther("/login")
    state = request.app[STATE]
    return Ctx(Words(lang_of(request)), user, csrf, state.client,
               state.config.monitor.page_size, state.config.monitor.grafana_url), user, csrf


async def dashboard(request: web.Request) -> web.Response:
    ctx, user, csrf = await _ctx(request)
    started = time.perf_counter()
    body = await run(_dashboard_body, ctx, request.query)
    log.debug("dashboard rendered in %.0f ms", (time.perf_counter() - started) * 1000)
    return page(request, await flash_html(request, ctx.t) + body, user=user, csrf=csrf)


def _dashboard_body(ctx: Ctx, params: Any) -> str:
    locks = data_.locks(ctx.client)
    reports = data_.reports(ctx.client)
    out = [overview(ctx, data_.overview(ctx.client, time.time(), locks, reports))]
    # The overview page shows the first rows of each list; the list pages go further.
    default = listing.parse({}, min(10, ctx.page_size), strict=False)
    out.append(lists.locks(ctx, locks, default, compact=True))
    out.append(lists.campaigns(ctx, data_.campaigns(ctx.client, reports), default,
                               compact=True))
    out.append(lists.reports(ctx, reports, default, compact=True))
    out.append(lists.audit(ctx, params, compact=True))
    out.append(lists.bulk(ctx, data_.bulk(ctx.client), default, compact=True))
    return "".join(out)


LISTS = {"locks", "reports", "campaigns", "audit", "bulk", "ioc"}


async def list_page(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in LISTS:
        return error_page(request, "err_not_found", 404)
    ctx, user, csrf = await _ctx(request)
    body = await run(_list_body, ctx, name, request.query)
    return page(request, await flash_html(request, ctx.t) + body, user=user, csrf=csrf,
                heading=ctx.t(name))


def _list_body(ctx: Ctx, name: str, params: Any) -> str:
    query = listing.parse(params, ctx.page_size, strict=False)
    if name == "audit":
        return lists.audit(ctx, params)
    if name == "locks":
        return lists.locks(ctx, data_.locks(ctx.client), query)
    if name == "bulk":
        return lists.bulk(ctx, data_.bulk(ctx.client), query)
    if name == "ioc":
        return lists.ioc(ctx, data_.ioc(ctx.client), query)
    reports = data_.reports(ctx.client)
    if name == "reports":
        return lists.reports(ctx, reports, query)
    return lists.campaigns(ctx, data_.campaigns(ctx.client, reports), query)


async def report_page(request: web.Request) -> web.Response:
    ctx, user, csrf = await _ctx(request)
    rid = request.match_info["id"]
    store = ReportStore(request.app[STATE])
    rec = await run(store.get, rid) if _RID.match(rid) else None
    if rec is None:
        return error_page(request, "err_no_report", 404, user, csrf)
    raw = await run(store.raw.get, rid)
    if raw and rec.get("kind") != "quarantine":  # a user's report: the reported message
        raw = _attached_message(raw) or raw
    body = detail(ctx, rec, header_block(raw) if raw else None)
    return page(request, body, user=user, csrf=csrf, heading=ctx.t.f("report", id=rid))


async def report_raw(request: web.Request) -> web.StreamResponse:
    """The reported message as a file to save, never to render: attachment, .eml, nosniff,
    a type no browser displays inline."""
    user, _, _ = await session_user(request)
    if user is None:
        raise web.HTTPSeeOther("/login")
    rid = request.match_info["id"]
    raw = await run(ReportStore(request.app[STATE]).raw.get, rid) if _RID.match(rid) else None
    if not raw:
        return error_page(request, "err_no_report", 404, user)
    await run(request.app[STATE].audit.append, "report-download", rid, user.name)
    return web.Response(body=raw, headers={
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f'attachment; filename="{rid}.eml"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox"})


def _csrf(csrf: str) -> str:
    return f"<input type='hidden' name='csrf' value='{h_attr(csrf)}'>"


def routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/", dashboard)
    r.add_get("/ui/style.css", stylesheet)
    r.add_get("/login", login_form)
    r.add_post("/login", login)
    r.add_post("/logout", logout)
    r.add_post("/ui/unlock", ui_unlock)
    r.add_post("/ui/triage", ui_triage)
    r.add_post("/ui/release", ui_release)
    r.add_get("/ui/reports/{id}", report_page)
    r.add_get("/ui/reports/{id}/raw", report_raw)
    r.add_get("/ui/{name}", list_page)
