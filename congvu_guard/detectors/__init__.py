"""Detectors: pure functions from (envelope, parsed message) to findings.

A detector never does I/O and never raises for bad input: malformed content is a finding.
What a network service says (clamd, the IOC blocklist, DNS for SPF/DKIM/DMARC, the
origin-stamp key) is asked once per message by the services stage
(:mod:`congvu_guard.services`) and read here from ``msg.facts``; no module in this package
imports ``socket`` or ``redis`` (tests/test_pipeline_stages.py). Each module holds one
concern and declares the rule IDs it emits, so the configuration's ``[actions]`` table can
be checked against them at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..config import Config
from ..message import ParsedMessage
from ..model import Envelope, Finding

DetectFn = Callable[[Envelope, ParsedMessage], Iterable[Finding]]


class DetectorError(RuntimeError):
    """A detector raised: an internal error, reported as a tempfail."""

    def __init__(self, detector: str, error: BaseException) -> None:
        super().__init__(f"detector {detector} failed: {type(error).__name__}: {error}")
        self.detector = detector


@dataclass(frozen=True, slots=True)
class Detector:
    name: str
    rules: tuple[str, ...]
    detect: DetectFn


def default_detectors(
    config: Config,
    extra: tuple[Detector, ...] = (),
) -> tuple[Detector, ...]:
    """The built-in detectors; ``extra`` adds YARA and those reading a service's facts
    (clamd, IOC: ``ServiceStage.detectors``)."""
    from . import (
        archives,
        attachments,
        documents,
        forwarding,
        handler_links,
        legacy_encoding,
        mime,
        office_docs,
        pdf_active,
    )
    from .carrier_checks import DETECTOR as CARRIERS
    from .impersonation import build as build_impersonation
    from .origin import build as build_origin
    from .secret import build as secret_detector

    return (mime.DETECTOR, forwarding.build(config), attachments.DETECTOR,
            documents.DETECTOR, archives.DETECTOR, legacy_encoding.DETECTOR,
            office_docs.DETECTOR, pdf_active.DETECTOR, CARRIERS, handler_links.DETECTOR,
            secret_detector(config),
            build_impersonation(config), build_origin(config), *extra)
