"""A local redis-server started for the milter when ``[redis] url`` is empty, and
:func:`open_redis`, the one place that decides between the two.

This is the "embedded default" for a single mail server and for trying congvu-guard out:
Redis listens only on a unix socket in ``[redis] embedded_dir`` (mode 0700), persists with
an append-only file there, and stops when the milter stops. Several mail servers sharing
one limit need a real Redis: set ``[redis] url``.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from ..config import RedisConfig
from .client import RedisClient, connect

log = logging.getLogger("congvu_guard.embedded_redis")


class EmbeddedRedisError(RuntimeError):
    pass


class EmbeddedRedis:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.socket = self.directory / "redis.sock"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def _alive(self) -> bool:
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket), socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def start(self, wait_seconds: float = 10.0) -> str:
        binary = shutil.which("redis-server")
        if binary is None:
            raise EmbeddedRedisError(
                "[redis] url is empty, so an embedded Redis is needed, but redis-server is "
                "not installed (apt-get install redis-server), or set [redis] url"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        if self.socket.exists() and self._alive():
            log.info("embedded redis already running at %s; reusing it", self.socket)
            return self.url
        args = [
            binary, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
            "--dir", str(self.directory), "--appendonly", "yes", "--save", "",
            "--daemonize", "no", "--logfile", str(self.directory / "redis.log"),
        ]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EmbeddedRedisError(
                    f"embedded redis-server exited with status {self.proc.returncode}; "
                    f"see {self.directory / 'redis.log'}"
                )
            if self._alive():
                log.info("embedded redis started at %s", self.socket)
                return self.url
            time.sleep(0.05)
        self.stop()
        raise EmbeddedRedisError(f"embedded redis-server did not answer within {wait_seconds} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None


@dataclass
class OpenRedis:
    """A client, its URL, and the embedded server this process started (if any)."""

    client: RedisClient
    url: str
    embedded: EmbeddedRedis | None = None

    def close(self) -> None:
        """Stops the embedded server this process started; a configured Redis stays up."""
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None

    def __enter__(self) -> OpenRedis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_redis(cfg: RedisConfig, *, start: bool = True) -> OpenRedis:
    """``[redis] url``, else the embedded Redis in ``[redis] embedded_dir``.

    ``start``: start it (or reuse the one running there), and own it: :meth:`OpenRedis.close`
    stops what was started (the milter and the monitor). Without ``start`` only its socket
    is addressed: the operator's CLI talks to the Redis a running milter started.
    """
    if cfg.url:
        return OpenRedis(connect(cfg, cfg.url), cfg.url)
    embedded = EmbeddedRedis(cfg.embedded_dir)
    if not start:
        return OpenRedis(connect(cfg, embedded.url), embedded.url)
    url = embedded.start()
    try:
        return OpenRedis(connect(cfg, url), url, embedded)
    except BaseException:
        embedded.stop()
        raise
