"""Sender authentication for HUE-11.11 (origin): SPF, DKIM and DMARC of mail from outside.

This is the service stage: it does DNS I/O, before the detectors run, and hands them plain
facts (:class:`~congvu_guard.auth.model.AuthFacts`) on the parsed message; the detector
:mod:`congvu_guard.detectors.origin` turns them into findings.
"""
