"""Dovecot's authentication policy server (``auth_policy_server_url``).

Dovecot posts JSON (``login``, ``remote``, ``protocol``...) to ``?command=allow`` before
(and after) checking the password, and to ``?command=report`` with ``success`` after. The
answer ``{"status": N, "msg": ...}`` refuses (N < 0), delays N seconds (tarpit) or allows
(0). A locked account is refused whatever its password, so a lock also stops IMAP, POP and
submission through Dovecot SASL.

The endpoint exists only when enabled (``dovecot_policy`` or ``dovecot_api_key``), and then
every command, ``report`` with ``success`` included, needs the key (compared in constant
time as bytes). Its Redis work runs on an executor of its own, never behind the page's
password hashing (issue 15).
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .api import STATE
from .auth import same
from .logins import LoginTracker
from .state import MonitorState


async def on_policy_pool(state: MonitorState, fn: Callable[..., Any], *args: Any) -> Any:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(state.policy_executor, functools.partial(fn, *args))


async def policy(request: web.Request) -> web.Response:
    state = request.app[STATE]
    key = state.config.monitor.dovecot_api_key
    if not key or not same(request.headers.get("X-API-Key", ""), key):
        return web.json_response({"status": 0, "msg": "unauthorized"}, status=401)
    command = request.query.get("command", "")
    if command not in ("allow", "report"):
        return web.json_response({"error": "command must be allow or report"}, status=400)
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return web.json_response({"error": "the body must be a JSON object"}, status=400)
    if not isinstance(data, dict):
        return web.json_response({"error": "the body must be a JSON object"}, status=400)
    login = str(data.get("login", ""))[:320]
    remote = str(data.get("remote", ""))[:64]
    tracker = LoginTracker(state)
    if command == "report":
        success = data.get("success") is True
        if success and not data.get("policy_reject"):
            await on_policy_pool(state, tracker.succeeded, login, remote)
        elif not success:
            await on_policy_pool(state, tracker.failed, login, remote, "dovecot")
        return web.json_response({"status": 0, "msg": ""})
    decision = await on_policy_pool(state, tracker.check, login, remote)
    return web.json_response({"status": decision.status, "msg": decision.message})


def routes(app: web.Application) -> None:
    if app[STATE].config.monitor.dovecot_policy_enabled:
        app.router.add_post("/dovecot/policy", policy)
