"""Stage 2, parse and expand: bytes in, one typed :class:`ParsedMessage` out.

One defensive MIME parse (:func:`congvu_guard.message.parse_message`), then every file the
message carries opened (archives, attached messages, document carriers:
:func:`congvu_guard.detectors.content.expand`) into :attr:`ParsedMessage.content`, charged
to the message's time and byte budget (HUE-11.5 scan-budget). No I/O: the bytes are in
memory. The detectors read the result; none of them re-opens an archive.
"""

from __future__ import annotations

import time

from .detectors.budget import ScanBudget
from .detectors.content import ExpansionCache, ScanLimits, expand
from .message import ParsedMessage, ParseLimits, parse_message
from .runcache import RunCache


def parse_and_expand(
    raw: bytes,
    parse_limits: ParseLimits,
    scan_limits: ScanLimits,
    budget: ScanBudget,
    timings: list[tuple[str, float]],
    max_decoded_bytes: int | None = None,
    cache: ExpansionCache | None = None,
    runs: RunCache | None = None,
) -> ParsedMessage:
    """The parsed message with its content expanded; ``timings`` gets "parse" and "expand".

    A message whose decoded size is over ``max_decoded_bytes`` ([limits] size_basis =
    "decoded") is returned unexpanded: the size gate refuses it (HUE-14), and opening its
    archives first would spend the budget on mail that is rejected anyway."""
    t0 = time.perf_counter()
    parsed = parse_message(raw, parse_limits, runs)
    timings.append(("parse", time.perf_counter() - t0))
    if max_decoded_bytes is not None and parsed.decoded_bytes > max_decoded_bytes:
        return parsed
    t0 = time.perf_counter()
    parsed.content = expand(parsed, scan_limits, budget, cache)
    timings.append(("expand", time.perf_counter() - t0))
    return parsed
