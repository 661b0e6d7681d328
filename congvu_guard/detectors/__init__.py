"""Detectors: pure functions from (envelope, parsed message) to findings.

A detector never does I/O on the mail path and never raises for bad input: malformed
content is a finding. Each module holds one concern and declares the rule IDs it emits, so
the configuration's ``[actions]`` table can be checked against them at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..config import Config
from ..message import ParsedMessage
from ..model import Envelope, Finding

DetectFn = Callable[[Envelope, ParsedMessage], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class Detector:
    name: str
    rules: tuple[str, ...]
    detect: DetectFn


def default_detectors(
    config: Config,
    stamp_key: Callable[[], bytes | None] = lambda: None,
    extra: tuple[Detector, ...] = (),
) -> tuple[Detector, ...]:
    """The built-in detectors; ``extra`` adds those that need a service (YARA, clamd, IOC)."""
    from . import (
        archives,
        attachments,
        documents,
        forwarding,
        legacy_encoding,
        mime,
        office_docs,
        pdf_active,
    )
    from .carrier_checks import DETECTOR as CARRIERS
    from .impersonation import build as build_impersonation
    from .origin import build as build_origin
    from .secret import build as secret_detector

    return (mime.DETECTOR, forwarding.build(config, stamp_key), attachments.DETECTOR,
            documents.DETECTOR, archives.DETECTOR, legacy_encoding.DETECTOR,
            office_docs.DETECTOR, pdf_active.DETECTOR, CARRIERS, secret_detector(config),
            build_impersonation(config), build_origin(config), *extra)
