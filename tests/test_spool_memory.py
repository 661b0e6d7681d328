"""Large bodies stay in memory within one budget shared by every connection; past it they
go to the spool file (milter/spool.py, ``[scan] body_memory_bytes``)."""

from __future__ import annotations

from congvu_guard.milter.spool import BodyMemory, BodySpool


def test_a_large_body_within_the_budget_stays_in_memory_and_is_read_whole() -> None:
    memory = BodyMemory(10_000)
    spool = BodySpool(threshold=1000, memory=memory)
    spool.write(b"a" * 600)
    assert not spool.large and memory.used == 0  # small bodies cost the budget nothing
    spool.write(b"b" * 600)
    spool.write(b"c" * 600)
    assert spool.large and not spool.spooled and spool.size == 1800
    assert memory.used == 1800
    assert spool.read_all(b"H:\r\n\r\n") == b"H:\r\n\r\n" + b"a" * 600 + b"b" * 600 + b"c" * 600
    assert memory.used == 0  # handed over with the body: the large-scan gate bounds it now
    spool.close()
    assert memory.used == 0


def test_the_body_that_does_not_fit_goes_to_disk_and_gives_its_share_back() -> None:
    memory = BodyMemory(3000)
    first, second = BodySpool(1000, memory=memory), BodySpool(1000, memory=memory)
    first.write(b"x" * 2500)
    assert not first.spooled and memory.used == 2500
    second.write(b"y" * 800)
    second.write(b"z" * 800)  # 1,600 bytes more do not fit beside the first body
    assert second.spooled and memory.used == 2500
    assert second.read_all(b"H:") == b"H:" + b"y" * 800 + b"z" * 800
    first.write(b"x" * 600)  # the first one outgrows what is left: to disk, share given back
    assert first.spooled and memory.used == 0
    assert first.read_all() == b"x" * 3100
    first.close()
    second.close()


def test_closing_an_unread_body_gives_its_share_back() -> None:
    memory = BodyMemory(10_000)
    spool = BodySpool(100, memory=memory)
    spool.write(b"q" * 500)
    assert memory.used == 500
    spool.close()  # an aborted transaction: nothing was read
    assert memory.used == 0 and spool.size == 0


def test_a_zero_budget_spools_every_large_body() -> None:
    spool = BodySpool(100, memory=BodyMemory(0))
    spool.write(b"w" * 50)
    assert not spool.spooled
    spool.write(b"w" * 51)
    assert spool.spooled
    assert spool.read_all() == b"w" * 101
    spool.close()


def test_the_memory_held_and_its_budget_are_exported_when_scraped() -> None:
    from congvu_guard.config import Config
    from congvu_guard.engine import Engine
    from congvu_guard.metrics import Metrics
    from congvu_guard.milter.adapter import Services

    metrics = Metrics()
    services = Services(Engine(Config()), metrics, None, "mx.test")
    value = metrics.registry.get_sample_value
    assert value("congvu_guard_body_memory_limit_bytes") == Config().scan.body_memory_bytes
    assert value("congvu_guard_body_memory_bytes") == 0
    spool = BodySpool(100, memory=services.body_memory)
    spool.write(b"q" * 500)
    assert value("congvu_guard_body_memory_bytes") == 500  # a share left taken shows here
    spool.close()
    assert value("congvu_guard_body_memory_bytes") == 0
    assert value("congvu_guard_body_spooled_total") == 0


def test_bodies_that_do_not_fit_the_budget_are_counted_once_each() -> None:
    from congvu_guard.metrics import Metrics

    metrics, memory = Metrics(), BodyMemory(1000)
    metrics.watch_body_memory(memory)
    held, spilled = BodySpool(100, memory=memory), BodySpool(100, memory=memory)
    held.write(b"a" * 900)
    for _ in range(3):  # the first chunk that does not fit sends the body to disk, once
        spilled.write(b"b" * 200)
    assert spilled.spooled and not held.spooled
    assert metrics.registry.get_sample_value("congvu_guard_body_spooled_total") == 1
    held.close()
    spilled.close()
