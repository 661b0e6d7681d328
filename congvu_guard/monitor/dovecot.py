"""Dovecot's authentication policy server (``auth_policy_server_url``).

Dovecot posts JSON (``login``, ``remote``, ``protocol``...) to ``?command=allow`` before
(and after) checking the password, and to ``?command=report`` with ``success`` after. The
answer ``{"status": N, "msg": ...}`` refuses (N < 0), delays N seconds (tarpit) or allows
(0). A locked account is refused whatever its password, so a lock also stops IMAP, POP and
submission through Dovecot SASL.
"""

from __future__ import annotations

import hmac
import json

from aiohttp import web

from .api import STATE, run
from .logins import LoginTracker


async def policy(request: web.Request) -> web.Response:
    state = request.app[STATE]
    key = state.config.monitor.dovecot_api_key
    if key and not hmac.compare_digest(request.headers.get("X-API-Key", ""), key):
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
            await run(tracker.succeeded, login, remote)
        elif not success:
            await run(tracker.failed, login, remote, "dovecot")
        return web.json_response({"status": 0, "msg": ""})
    decision = await run(tracker.check, login, remote)
    return web.json_response({"status": decision.status, "msg": decision.message})


def routes(app: web.Application) -> None:
    app.router.add_post("/dovecot/policy", policy)
