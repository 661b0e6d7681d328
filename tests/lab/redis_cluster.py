"""A throwaway Redis Cluster (3 masters, no replicas) on loopback TCP ports."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_ports(n: int = 3) -> list[int]:
    """Free ports whose cluster bus ports (port + 10000) are free and valid too."""
    ports: list[int] = []
    candidate = random.randrange(20000, 30000)
    while len(ports) < n:
        candidate += 1
        if _bindable(candidate) and _bindable(candidate + 10000):
            ports.append(candidate)
    return ports


class RedisClusterLab:
    def __init__(self, base: Path, ports: list[int]) -> None:
        self.base = base
        self.ports = ports
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self, timeout: float = 30.0) -> None:
        if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
            raise RuntimeError("redis-server and redis-cli are needed")
        for port in self.ports:
            d = self.base / str(port)
            d.mkdir(parents=True, exist_ok=True)
            self.procs.append(subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                 "--cluster-enabled", "yes", "--cluster-config-file", str(d / "nodes.conf"),
                 "--dir", str(d), "--save", "", "--appendonly", "no",
                 "--logfile", str(d / "redis.log")],
                stdin=subprocess.DEVNULL))
        for port in self.ports:
            self._wait(lambda p=port: redis.Redis(port=p, socket_timeout=1).ping(), timeout)
        subprocess.run(
            ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60)

        def ok() -> bool:
            info = redis.Redis(port=self.ports[0]).execute_command("CLUSTER INFO")
            if isinstance(info, dict):
                return info.get("cluster_state") == "ok"
            text = info.decode() if isinstance(info, bytes) else str(info)
            return "cluster_state:ok" in text

        self._wait(ok, timeout)

    @staticmethod
    def _wait(pred, timeout: float) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while True:
            try:
                if pred():
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("redis cluster did not come up")
            time.sleep(0.1)

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs = []
