"""The milter's day counters (state/daystats.py) against a real Redis: counted in memory,
written in one round trip a second, nothing lost when Redis refuses a write."""

from __future__ import annotations

import datetime as dt
import os

import redis

from congvu_guard.ratelimit import service
from congvu_guard.state import daystats

NOON = dt.datetime(2026, 12, 1, 12, 0, tzinfo=daystats.VN).timestamp()
DAY = dt.date(2026, 12, 1)
FIELDS = ("judged", "accept", "reject", "quarantine")


def test_counts_reach_redis_at_the_next_write_not_one_round_trip_per_message(
        redis_client: redis.Redis) -> None:
    counts = daystats.DayCounts(redis_client, interval=3600, clock=lambda: NOON)
    before = redis_client.info("commandstats").get("cmdstat_hincrby", {}).get("calls", 0)
    for action in ["accept"] * 70 + ["reject"] * 20 + ["quarantine"] * 10:
        counts.count(action)
    after = redis_client.info("commandstats").get("cmdstat_hincrby", {}).get("calls", 0)
    assert after == before  # a hundred messages, no round trip yet
    counts.flush()
    assert daystats.read(redis_client, [DAY], FIELDS) == [
        {"judged": 100, "accept": 0, "reject": 20, "quarantine": 10}]
    counts.stop()


def test_counts_redis_refused_are_written_with_the_next_write(
        redis_client: redis.Redis) -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    counts = daystats.DayCounts(dead, interval=3600, clock=lambda: NOON)
    counts.count("reject")
    counts.flush()  # refused: kept
    counts.client = redis_client
    counts.count("accept")
    counts.stop()  # stop writes what is left
    assert daystats.read(redis_client, [DAY], FIELDS) == [
        {"judged": 2, "accept": 0, "reject": 1, "quarantine": 0}]


def test_the_window_member_of_a_forked_scan_worker_never_repeats_the_parents() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: its first members, handed to the parent
        os.close(read)
        os.write(write, ",".join(service.window_member("Q") for _ in range(3)).encode())
        os._exit(0)
    os.close(write)
    child = set(os.read(read, 4096).decode().split(","))
    os.close(read)
    os.waitpid(pid, 0)
    parent = {service.window_member("Q") for _ in range(3)}
    assert len(child) == 3 and len(parent) == 3 and not child & parent
