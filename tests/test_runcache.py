"""Base64 runs decoded once (runcache.py): the same attachment encoded the same way is not
checked, decoded or hashed again, and nothing else is ever served for it."""

from __future__ import annotations

import base64
import hashlib
import random

import pytest

from congvu_guard import message, runcache
from congvu_guard.detectors.content import expand
from congvu_guard.message import ParseLimits, parse_message
from congvu_guard.runcache import RunCache, run_cache
from congvu_guard.verdict_cache import VerdictCache
from tests.helpers import message_with_attachment
from tests.test_message_fast_parse import _b64, _corpus

MIB = 1024 * 1024


def _message(data: bytes) -> bytes:
    return message_with_attachment("Bao cao", "bao-cao.zip", data)


def _cache() -> RunCache:
    return VerdictCache(runcache.RUN_CACHE_ENTRIES, runcache.RUN_CACHE_BYTES)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every base64 decode the fast path makes (its length)."""
    seen: list[int] = []
    real = message._b64decode

    def counting(run: bytes) -> bytes:
        seen.append(len(run))
        return real(run)

    monkeypatch.setattr(message, "_b64decode", counting)
    return seen


def test_the_same_attachment_is_decoded_once_and_then_served_as_is(
        decodes: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    data = random.Random(1).randbytes(300_000)
    raw, cache = _message(data), _cache()
    first = parse_message(raw, cache=cache).parts[1]
    assert len(decodes) == 1
    # The next time neither the alphabet check nor the decode runs: with the check made to
    # refuse every run, the remembered run still takes the fast way.
    monkeypatch.setattr(message, "_BASE64_LINES", b"")
    again = parse_message(bytearray(raw), cache=cache).parts[1]  # the milter's buffer too
    assert len(decodes) == 1
    assert first.payload == again.payload == data
    assert again.payload is first.payload  # the remembered bytes, shared
    assert first.sha256 == again.sha256 == hashlib.sha256(data).hexdigest()


def test_a_run_with_the_same_length_and_ends_but_other_bytes_is_decoded_on_its_own(
        decodes: list[int]) -> None:
    rng = random.Random(2)
    data = rng.randbytes(300_000)
    other = data[:150_000] + bytes(b ^ 0x5A for b in data[150_000:150_100]) + data[150_100:]
    cache = _cache()
    for _ in range(2):
        parse_message(_message(data), cache=cache)
    assert len(cache) == 1 and len(decodes) == 1
    part = parse_message(_message(other), cache=cache).parts[1]
    assert part.payload == other and part.payload != data
    assert part.sha256 == hashlib.sha256(other).hexdigest()
    assert len(decodes) == 2


def test_a_run_with_a_defect_is_never_remembered() -> None:
    data = random.Random(3).randbytes(200_000)
    encoded = _b64(data)
    damaged = encoded[:1000] + b"*" + encoded[1001:]  # not the base64 alphabet
    raw = _message(data).replace(encoded, damaged)
    cache = _cache()
    for _ in range(3):
        parsed = parse_message(raw, cache=cache)
        assert any("InvalidBase64CharactersDefect" in d for d in parsed.defects)
    assert len(cache) == 0


def test_a_payload_cut_by_the_decoded_limit_carries_no_remembered_hash() -> None:
    data = random.Random(4).randbytes(300_000)
    cache = _cache()
    parse_message(_message(data), cache=cache)
    cut = parse_message(_message(data), ParseLimits(max_decoded_bytes=100_000), cache=cache)
    part = cut.parts[1]
    assert part.truncated and part.sha256 == ""


def test_the_files_of_the_message_take_the_hash_the_parse_already_knows() -> None:
    data = random.Random(5).randbytes(300_000)
    parsed = parse_message(_message(data), cache=_cache())
    content = expand(parsed)
    [node] = [f for f in content.files if f.name == "bao-cao.zip"]
    assert node._sha256 == hashlib.sha256(data).hexdigest()


def test_the_cache_is_bounded_by_the_runs_and_their_decodings() -> None:
    cache = run_cache()
    rng = random.Random(7)
    for i in range(6):
        parse_message(message_with_attachment("x", f"{i}.zip", rng.randbytes(4 * MIB)),
                      cache=cache)
    assert cache.bytes <= runcache.RUN_CACHE_BYTES
    assert len(cache) == 3  # 4 MiB decoded + 5.3 MiB of base64 each, 32 MiB in all


@pytest.mark.skipif(not _corpus(), reason="peer corpus not found")
def test_the_peer_corpus_parses_the_same_with_runs_remembered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(message, "_BLOB_MIN", 8)  # every base64 body takes the fast way
    cache = _cache()
    for path in _corpus():
        raw = path.read_bytes()
        plain = parse_message(raw)
        for _ in range(2):
            again = parse_message(raw, cache=cache)
            assert again.parts == plain.parts, path.name
            assert sorted(again.defects) == sorted(plain.defects), path.name
            for part in again.parts:
                assert part.sha256 in ("", hashlib.sha256(part.payload).hexdigest())
    assert len(cache) > 0


def test_a_base64_body_is_remembered_as_the_standard_library_decodes_it() -> None:
    data = random.Random(6).randbytes(100_000)
    cache = _cache()
    parsed = parse_message(_message(data), cache=cache)
    assert parsed.parts[1].payload == base64.b64decode(_b64(data).replace(b"\r\n", b""))
    assert len(cache) == 1
