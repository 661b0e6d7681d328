"""Locks that a forked scan worker (milter/pool.py) gets back released.

A fork copies a lock as it is: one that another thread of the milter held at that moment
would stay held in the worker forever, and the worker's first scan that needs it would
hang until the pool's answer timeout (a 451 and a new worker). The locks on the scan path
are made here, and a forked child re-initialises every one of them right after the fork.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

_LOCKS: weakref.WeakSet[Any] = weakref.WeakSet()


def lock() -> Any:
    """A ``threading.Lock`` that a forked child finds released."""
    made = threading.Lock()
    _LOCKS.add(made)
    return made


def _released_in_child() -> None:
    for made in list(_LOCKS):
        made._at_fork_reinit()


os.register_at_fork(after_in_child=_released_in_child)
