"""Moved to :mod:`congvu_guard.state.local_copy` (issue 20). Kept for ``detectors/ioc.py``,
whose imports change with the detectors' restructuring; import from ``state`` elsewhere."""

from .state.local_copy import LocalCopy, bump

__all__ = ["LocalCopy", "bump"]
