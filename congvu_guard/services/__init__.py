"""Stage 3, services: every network service a message needs, asked once per message
before the detectors run, the answers recorded as typed facts (:mod:`congvu_guard.facts`)
on ``parsed.facts``.

- :mod:`.clamd`: clamd INSTREAM of the whole message (HUE-11.5);
- :mod:`.ioc`: the IOC blocklist, from the local copy or one Redis round trip (HUE-11.11);
- :mod:`congvu_guard.auth.service`: SPF, DKIM, DMARC through the DNS budget (HUE-11.11);
- the origin-stamp key (CG-STAMP, HUE-11.6), which a Redis-held key may create (``SET NX``).

:class:`~.stage.ServiceStage` runs them; a failing service is a fact ("unavailable"), which
the detector turns into the finding the configuration asks for (tempfail or tag).
"""

from .stage import ServiceError, ServiceStage

__all__ = ["ServiceError", "ServiceStage"]
