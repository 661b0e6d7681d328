"""libmilter's limit on the size of one protocol packet.

libmilter hangs up on any packet larger than 64 KiB. Postfix sends each header in one
packet, up to its ``header_size_limit`` (100 KiB by default, often raised), so one long
header - a ``To:`` naming a few thousand addresses, a long ``Received:`` chain line - used
to cost the whole message: the connection dropped, Postfix applied
``milter_default_action = tempfail``, and the sender retried the same message for days.
pymilter does not expose ``smfi_setmaxdatasize``; it is called through ctypes on the
libmilter that pymilter's extension module loaded.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("congvu_guard.milter")

# MILTER_MDS_1M, the largest size libmilter itself knows. A larger packet still closes
# the connection (a tempfail by the MTA): the memory one packet may take stays bounded.
MAX_PACKET_BYTES = 1024 * 1024 - 1


def raise_packet_limit(size: int = MAX_PACKET_BYTES) -> bool:
    """Let libmilter accept packets of up to ``size`` bytes; False if it cannot be set."""
    name = ctypes.util.find_library("milter")
    if not name:
        log.warning("libmilter not found: headers over 64 KiB will drop the connection")
        return False
    try:
        lib = ctypes.CDLL(name)
        setmax = lib.smfi_setmaxdatasize
    except (OSError, AttributeError):
        log.warning("smfi_setmaxdatasize unavailable: headers over 64 KiB will drop the "
                    "connection")
        return False
    setmax.argtypes = [ctypes.c_size_t]
    setmax.restype = ctypes.c_size_t
    setmax(size)
    return True
