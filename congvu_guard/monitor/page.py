"""The security team's page: server-rendered, Vietnamese first (``?lang=en`` for English).

Login with a name and password from the users file; a server-side session in Redis behind
an HttpOnly, SameSite=Strict (and Secure) cookie; every form carries the session's CSRF
token. Locked accounts with reason and evidence and an unlock form (HUE-13.3), the audit
trail, reports grouped into campaigns with triage buttons, bulk senders.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from html import escape
from typing import Any

from aiohttp import web

from ..ratelimit.locks import LockError, NotLocked
from .api import STATE, run
from .auth import User, same
from .campaigns import TriageError
from .reports import ReportStore

log = logging.getLogger("congvu_guard.monitor.page")
# Logins waiting for the password hash beyond this are answered 429 at once: the hashing
# pool (two threads) is never queued deeper than a few seconds of work.
MAX_WAITING_LOGINS = 16

COOKIE = "cg_session"
T = {
    "vi": {
        "title": "congvu-guard: giám sát thư công vụ", "login": "Đăng nhập",
        "user": "Tài khoản", "password": "Mật khẩu", "logout": "Đăng xuất",
        "locks": "Hộp thư đang bị tạm khóa", "account": "Hộp thư", "reason": "Lý do",
        "by": "Người/thành phần khóa", "at": "Thời điểm", "evidence": "Bằng chứng",
        "unlock": "Khôi phục (HUE-13.3)", "reference": "Số văn bản đề nghị",
        "approver": "Người phê duyệt", "audit": "Nhật ký khóa/mở khóa",
        "event": "Sự kiện", "actor": "Người thực hiện", "campaigns": "Thư báo cáo theo chiến dịch",
        "reports": "Báo cáo", "status": "Trạng thái", "indicators": "Dấu hiệu",
        "malicious": "Độc hại", "benign": "Vô hại", "release": "Trả thư cho người nhận",
        "bulk": "Hộp thư được phép gửi số lượng lớn", "limit": "Giới hạn",
        "none": "Không có", "bad_login": "Sai tài khoản hoặc mật khẩu",
        "role": "Vai trò", "done": "Đã thực hiện", "sender": "Người gửi", "subject": "Tiêu đề",
        "wait": "Đăng nhập sai quá nhiều lần, vui lòng chờ", "older": "Cũ hơn",
        "pick": "Chọn dấu hiệu đưa vào danh sách chặn (khi bấm Độc hại)",
    },
    "en": {
        "title": "congvu-guard: official mail monitor", "login": "Log in",
        "user": "User", "password": "Password", "logout": "Log out",
        "locks": "Locked accounts", "account": "Account", "reason": "Reason",
        "by": "Locked by", "at": "When", "evidence": "Evidence",
        "unlock": "Unlock (HUE-13.3)", "reference": "Request reference",
        "approver": "Approver", "audit": "Lock and unlock audit trail",
        "event": "Event", "actor": "Actor", "campaigns": "Reports grouped into campaigns",
        "reports": "Reports", "status": "Status", "indicators": "Indicators",
        "malicious": "Malicious", "benign": "Benign", "release": "Release to recipients",
        "bulk": "Registered bulk senders", "limit": "Limit",
        "none": "None", "bad_login": "Wrong user or password",
        "role": "Role", "done": "Done", "sender": "Sender", "subject": "Subject",
        "wait": "Too many failed logins, please wait", "older": "Older",
        "pick": "Pick the indicators to blocklist (with Malicious)",
    },
}
STYLE = ("body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;"
         "margin-bottom:2em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;"
         "vertical-align:top}th{background:#eef}.flash{background:#efe;padding:8px}"
         ".err{background:#fee;padding:8px}input{margin:2px}")


def h(value: Any) -> str:
    return escape(str(value), quote=True)


def lang_of(request: web.Request) -> str:
    lang = request.query.get("lang") or request.cookies.get("cg_lang", "vi")
    return lang if lang in T else "vi"


def when(ts: Any) -> str:
    try:
        return dt.datetime.fromtimestamp(float(ts)).isoformat(sep=" ", timespec="seconds")
    except (TypeError, ValueError, OverflowError):
        return ""


def page(request: web.Request, body: str, status: int = 200) -> web.Response:
    lang = lang_of(request)
    other = "en" if lang == "vi" else "vi"
    html = (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
            f"<title>{h(T[lang]['title'])}</title><style>{STYLE}</style></head><body>"
            f"<p><a href='?lang={other}'>{'English' if other == 'en' else 'Tiếng Việt'}</a></p>"
            f"<h1>{h(T[lang]['title'])}</h1>{body}</body></html>")
    resp = web.Response(text=html, content_type="text/html", status=status)
    resp.headers["Content-Security-Policy"] = "default-src 'self'; style-src 'unsafe-inline'"
    resp.headers["Cache-Control"] = "no-store"
    if "lang" in request.query:
        resp.set_cookie("cg_lang", lang, httponly=True, samesite="Strict")
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


async def login_form(request: web.Request, error: str = "") -> web.Response:
    t = T[lang_of(request)]
    err = f"<p class='err'>{h(error)}</p>" if error else ""
    return page(request, f"{err}<form method='post' action='/login'>"
                f"<label>{h(t['user'])} <input name='user' autocomplete='username'></label> "
                f"<label>{h(t['password'])} <input name='password' type='password' "
                f"autocomplete='current-password'></label> "
                f"<button type='submit'>{h(t['login'])}</button></form>",
                401 if error else 200)


def _too_many(request: web.Request, seconds: int) -> web.Response:
    t = T[lang_of(request)]
    resp = page(request, f"<p class='err'>{h(t['wait'])} ({seconds} s)</p>", 429)
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
        return await login_form(request, T[lang_of(request)]["bad_login"])
    await run(state.throttle.succeeded, remote, name)
    sid, _ = await run(state.sessions.create, user)
    resp = web.HTTPSeeOther("/")
    resp.set_cookie(COOKIE, sid, httponly=True, samesite="Strict",
                    secure=state.config.monitor.cookie_secure,
                    max_age=state.config.monitor.session_ttl_seconds)
    await run(state.audit.append, "login", user.name, user.name)
    raise resp


async def check_form(request: web.Request, role: str) -> tuple[User, Any]:
    user, csrf, _ = await session_user(request)
    if user is None:
        raise web.HTTPSeeOther("/login")
    form = await request.post()
    if not csrf or not same(str(form.get("csrf", "")), csrf):
        raise web.HTTPForbidden(text="CSRF token missing or wrong")
    if not user.may(role):
        raise web.HTTPForbidden(text=f"{user.name} has role {user.role}; this needs {role}")
    request["user"] = user
    return user, form


def back(message: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther("/?flash=" + message[:200].replace("&", "and").replace("#", ""))


async def logout(request: web.Request) -> web.Response:
    _, _, sid = await session_user(request)
    await check_form(request, "viewer")
    await run(request.app[STATE].sessions.drop, sid)
    resp = web.HTTPSeeOther("/login")
    resp.del_cookie(COOKIE)
    raise resp


async def ui_unlock(request: web.Request) -> web.Response:
    user, form = await check_form(request, "operator")
    state = request.app[STATE]
    account = str(form.get("account", ""))
    try:
        lock = await run(state.locks.unlock, account, str(form.get("reference", "")),
                         str(form.get("approver", "")), actor=user.name)
    except (LockError, NotLocked) as e:
        raise back(f"error: {e}") from None
    await run(state.after_lock_change, "unlock", lock.account, user.name)
    raise back(f"unlocked {lock.account}")


async def ui_triage(request: web.Request) -> web.Response:
    user, form = await check_form(request, "operator")
    verdict = str(form.get("verdict", ""))
    if verdict not in ("malicious", "benign"):
        raise back("error: bad verdict")
    chosen = [str(v) for v in form.getall("indicator", [])][:200]
    try:
        result = await run(ReportStore(request.app[STATE]).triage, str(form.get("report", "")),
                           verdict, user.name, chosen)
    except KeyError:
        raise back("error: no such report") from None
    except TriageError as e:
        raise back(f"error: {e}") from None
    refused = "; ".join(f"{r['indicator']}: {r['reason']}" for r in result["ioc_refused"])
    raise back(f"campaign {result['campaign']}: {result['status']}, "
               f"{len(result['ioc_added'])} blocklisted" + (f"; refused {refused}" if refused
                                                             else ""))


async def ui_release(request: web.Request) -> web.Response:
    user, form = await check_form(request, "operator")
    try:
        result = await run(ReportStore(request.app[STATE]).release,
                           str(form.get("report", "")), user.name)
    except (KeyError, ValueError, OSError) as e:
        raise back(f"error: {e}") from None
    raise back(f"released {result['released']}")


def _csrf(csrf: str) -> str:
    return f"<input type='hidden' name='csrf' value='{h(csrf)}'>"


async def dashboard(request: web.Request) -> web.Response:
    user, csrf, _ = await session_user(request)
    if user is None:
        raise web.HTTPSeeOther("/login")
    state = request.app[STATE]
    t = T[lang_of(request)]
    locks = await run(state.locks.list)
    before = request.query.get("before", "")
    if before and not all(c.isdigit() or c == "-" for c in before[:45]):
        before = ""
    audit_page = await run(state.audit.page, limit=50, before=before[:45])
    audit = audit_page.rows  # newest first
    store = ReportStore(state)
    campaigns = await run(store.campaigns)
    bulk = await run(state.bulk.list)
    flash = request.query.get("flash", "")
    out = [f"<p>{h(user.name)} ({h(t['role'])}: {h(user.role)}) <form method='post' "
           f"action='/logout' style='display:inline'>{_csrf(csrf)}<button>{h(t['logout'])}"
           "</button></form></p>"]
    if flash:
        out.append(f"<p class='{'err' if flash.startswith('error') else 'flash'}' "
                   f"id='flash'>{h(flash)}</p>")
    out.append(f"<h2>{h(t['locks'])}</h2><table id='locks'><tr><th>{h(t['account'])}</th>"
               f"<th>{h(t['reason'])}</th><th>{h(t['by'])}</th><th>{h(t['at'])}</th>"
               f"<th>{h(t['evidence'])}</th><th>{h(t['unlock'])}</th></tr>")
    for lk in locks:
        ev = ", ".join(f"{k}={v}" for k, v in sorted(lk.evidence.items()))
        note = f" {lk.note}" if lk.note else ""
        form = (f"<form method='post' action='/ui/unlock'>{_csrf(csrf)}"
                f"<input type='hidden' name='account' value='{h(lk.account)}'>"
                f"<input name='reference' placeholder='{h(t['reference'])}' required>"
                f"<input name='approver' placeholder='{h(t['approver'])}' required>"
                f"<button type='submit'>{h(t['unlock'])}</button></form>"
                if user.may("operator") else "")
        out.append(f"<tr data-account='{h(lk.account)}'><td>{h(lk.account)}</td>"
                   f"<td>{h(lk.reason)}</td><td>{h(lk.by)}</td><td>{h(when(lk.at))}</td>"
                   f"<td>{h(ev + note)}</td><td>{form}</td></tr>")
    if not locks:
        out.append(f"<tr><td colspan='6'>{h(t['none'])}</td></tr>")
    out.append("</table>")
    out.append(f"<h2>{h(t['campaigns'])}</h2><table id='campaigns'><tr><th>ID</th>"
               f"<th>{h(t['status'])}</th><th>{h(t['reports'])}</th>"
               f"<th>{h(t['indicators'])}</th><th></th></tr>")
    for c in campaigns:
        first = c["reports"][0] if c["reports"] else ""
        rep = await run(store.get, first) if first else None
        desc = (f"{h(rep.get('subject', ''))} — {h(t['sender'])}: {h(rep.get('sender', ''))}"
                if rep else "")
        if rep and rep.get("reasons"):  # the evidence, e.g. HUE-11.11/lookalike ...
            desc += f"<br><small class='reasons'>{h(rep['reasons'][:400])}</small>"
        buttons = ""
        indicators = "<br>".join(h(i) for i in c["indicators"])
        if user.may("operator") and first:
            # Every indicator, none pre-selected: the operator picks what is blocklisted.
            fid = f"triage-{h(c['id'])}"
            indicators = (f"<small>{h(t['pick'])}</small><br>" + "<br>".join(
                f"<label><input type='checkbox' form='{fid}' name='indicator' "
                f"value='{h(i)}'> {h(i)}</label>" for i in c["indicators"]))
            buttons = (f"<form method='post' action='/ui/triage' id='{fid}' "
                       f"style='display:inline'>{_csrf(csrf)}"
                       f"<input type='hidden' name='report' value='{h(first)}'>"
                       + "".join(f"<button name='verdict' value='{v}'>{h(t[v])}</button>"
                                 for v in ("malicious", "benign")) + "</form>")
            if rep and rep.get("kind") == "quarantine" and rep.get("status") != "released":
                buttons += (f"<form method='post' action='/ui/release' style='display:inline'>"
                            f"{_csrf(csrf)}<input type='hidden' name='report' "
                            f"value='{h(first)}'><button>{h(t['release'])}</button></form>")
        out.append(f"<tr><td>{h(c['id'])}</td><td>{h(c.get('status', ''))}</td>"
                   f"<td>{len(c['reports'])}: {desc}</td>"
                   f"<td>{indicators}</td><td>{buttons}</td></tr>")
    out.append("</table>")
    out.append(f"<h2>{h(t['audit'])}</h2><table id='audit'><tr><th>{h(t['at'])}</th>"
               f"<th>{h(t['event'])}</th><th>{h(t['account'])}</th><th>{h(t['reason'])}</th>"
               f"<th>{h(t['actor'])}</th><th>{h(t['reference'])}</th>"
               f"<th>{h(t['approver'])}</th></tr>")
    for r in audit:
        out.append(f"<tr><td>{h(when(r.get('ts')))}</td><td>{h(r.get('event', ''))}</td>"
                   f"<td>{h(r.get('account', ''))}</td><td>{h(r.get('reason', ''))}</td>"
                   f"<td>{h(r.get('actor', ''))}</td><td>{h(r.get('reference', ''))}</td>"
                   f"<td>{h(r.get('approver', ''))}</td></tr>")
    out.append("</table>")
    if audit_page.next_before:
        out.append(f"<p><a id='audit-older' href='/?before={h(audit_page.next_before)}'>"
                   f"{h(t['older'])}</a></p>")
    out.append(f"<h2>{h(t['bulk'])}</h2><table id='bulk'><tr><th>{h(t['account'])}</th>"
               f"<th>{h(t['limit'])}</th></tr>")
    for account, data in bulk.items():
        out.append(f"<tr><td>{h(account)}</td><td>{h(json.dumps(data, ensure_ascii=False))}"
                   "</td></tr>")
    out.append("</table>")
    return page(request, "".join(out))


def routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/", dashboard)
    r.add_get("/login", login_form)
    r.add_post("/login", login)
    r.add_post("/logout", logout)
    r.add_post("/ui/unlock", ui_unlock)
    r.add_post("/ui/triage", ui_triage)
    r.add_post("/ui/release", ui_release)
