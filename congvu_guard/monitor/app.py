"""The monitor's aiohttp application and its start-up."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..config import Config
from ..metrics import MonitorMetrics
from ..sdnotify import Watchdog, notify
from ..state.embedded import open_redis
from ..validate import validate
from . import api, logsafe
from .state import MonitorState

log = logging.getLogger("congvu_guard.monitor")
OPENAPI = Path(__file__).resolve().parent / "openapi.json"
Background = Callable[[MonitorState], Awaitable[None]]


# Redis (the locks, the reports, the sessions) is down or unreachable: a clear, temporary
# answer, one log line and no stack trace; the next request tries Redis again.
REDIS_DOWN = ("Tam thoi khong truy cap duoc Redis, vui long thu lai sau / "
              "Shared state (Redis) is unavailable, try again later")


@web.middleware
async def errors(request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
    """No stack trace ever reaches a client: Redis errors are answered 503, other
    unexpected errors are logged and answered 500."""
    try:
        response = await handler(request)
    except web.HTTPException:
        raise
    except redis.RedisError as e:
        log.error("redis unavailable on %s %s: %s", request.method, request.path,
                  type(e).__name__)
        if request.path.startswith("/api/"):
            return web.json_response({"error": REDIS_DOWN}, status=503,
                                     headers={"Retry-After": "30"})
        return web.Response(text=REDIS_DOWN, status=503, headers={"Retry-After": "30"})
    except Exception:
        log.exception("internal error on %s %s", request.method, request.path)
        return web.json_response({"error": "internal error"}, status=500)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


async def metrics_handler(request: web.Request) -> web.Response:
    registry = request.app[api.STATE].metrics.registry
    return web.Response(body=generate_latest(registry),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})


async def openapi_handler(request: web.Request) -> web.Response:
    return web.json_response(json.loads(OPENAPI.read_text(encoding="utf-8")))


async def health_forever(state: MonitorState) -> None:
    """Keep congvu_guard_redis_up true to the monitor's own view of Redis."""
    while True:
        ok = await asyncio.to_thread(state.redis_ok)
        state.metrics.redis_up.set(1 if ok else 0)
        await asyncio.sleep(15)


def build_app(state: MonitorState, background: tuple[Background, ...] = ()) -> web.Application:
    app = web.Application(middlewares=[errors], client_max_size=2 * 1024 * 1024)
    app[api.STATE] = state
    api.routes(app)
    from . import dovecot, page, reports

    dovecot.routes(app)
    reports.routes(app)
    page.routes(app)
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/api/v1/openapi.json", openapi_handler)

    async def start_background(app: web.Application) -> Any:
        tasks = [asyncio.create_task(job(state)) for job in background]
        yield
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        state.policy_executor.shutdown(wait=False, cancel_futures=True)
        state.login_executor.shutdown(wait=False, cancel_futures=True)

    app.cleanup_ctx.append(start_background)
    return app


def run(config: Config) -> int:
    validate(config, ("monitor",))  # the same checks as check-config, before anything starts
    logsafe.install()  # one log line per event, whatever the values hold (issue 15)
    opened = open_redis(config.redis)  # [redis] url, else the embedded Redis, started
    try:
        state = MonitorState(config, opened.client, MonitorMetrics())
        if not state.auth.users:
            log.warning("no users in %s: only /api/v1/health answers; add one with "
                        "congvu-guard monitor-user add", config.monitor.users_file)
        from . import inactivity, logwatch, reports

        jobs: list[Background] = [health_forever, reports.consume_forever,
                                  inactivity.sweep_forever]
        if config.monitor.log_files:
            jobs.append(logwatch.watch_forever)
        if config.monitor.journal_units:
            from .journalwatch import watch_journal_forever

            jobs.append(watch_journal_forever)
        host, _, port = config.monitor.listen.rpartition(":")
        log.info("congvu-guard monitor on http://%s:%s/", host, port)
        asyncio.run(serve(build_app(state, tuple(jobs)), host.strip("[]"), int(port), state))
        return 0
    finally:
        opened.close()


async def serve(app: web.Application, host: str, port: int, state: MonitorState) -> None:
    """Serve until SIGTERM or SIGINT. Under systemd (Type=notify) READY=1 goes out once the
    port listens and Redis was asked; the keep-alives come from this event loop, so a
    blocked loop stops them and systemd restarts the monitor (WatchdogSec=)."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await web.TCPSite(runner, host, port).start()
        redis_ok = await asyncio.to_thread(state.redis_ok)
        notify("READY=1", f"STATUS=listening on {host}:{port}; redis "
                          f"{'answered' if redis_ok else 'DOWN'}")
        watchdog = Watchdog()
        while not stop.is_set():
            watchdog.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(watchdog.interval or 1, 1))
        notify("STOPPING=1")
    finally:
        await runner.cleanup()
