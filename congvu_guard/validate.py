"""One validation of a loaded configuration against the machine it runs on (issue 20).

``config.load`` checks each key on its own (types, ranges, syntax). What needs more than one
key or a look at the machine (a file that must exist, a directory that must be writable,
a key that another key makes required) is checked here, once, and used by every program:
``check-config`` runs every check, ``milter`` and ``monitor`` the ones for what they use,
before they start anything. So ``check-config`` prints OK only for a file the programs
accept. Each problem is one :class:`ConfigError` naming the key.

The rule-ID checks of ``[actions]`` and ``[policy.*]`` need the detectors' rule lists; they
run when the engine is built (``gates.check_overrides``), which ``check-config`` also does.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Literal

from .config import Config, ConfigError
from .milter.spool import check_spool_dir
from .monitor.auth import AuthError, load_users
from .state.stamp_key import read_key_file

Program = Literal["milter", "monitor"]
PROGRAMS: tuple[Program, ...] = ("milter", "monitor")


def _redis_url(config: Config) -> None:
    # Without a URL both programs would start their own embedded Redis: locks and counts
    # would then not be shared, which is what cluster and sentinel modes are for.
    if not config.redis.url and config.redis.mode != "standalone":
        raise ConfigError(f"[redis] url: required with mode = \"{config.redis.mode}\"")


def _spool_dir(config: Config) -> None:
    problem = check_spool_dir(config.scan.spool_dir)
    if problem:
        raise ConfigError(f"[scan] spool_dir: {problem}")


def _stamp_key_file(config: Config) -> None:
    if config.forwarding.stamp_key_file:
        read_key_file(config.forwarding.stamp_key_file)  # raises ConfigError naming the key


def _users_file(config: Config) -> None:
    try:
        load_users(config.monitor.users_file)
    except (AuthError, OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"[monitor] users_file: {e}") from e


# Each check and the programs that would refuse to start without it.
CHECKS: tuple[tuple[Callable[[Config], None], frozenset[Program]], ...] = (
    (_redis_url, frozenset(PROGRAMS)),
    (_spool_dir, frozenset({"milter"})),
    (_stamp_key_file, frozenset(PROGRAMS)),  # the milter stamps, the monitor releases
    (_users_file, frozenset({"monitor"})),
)


def validate(config: Config, programs: Collection[str] = PROGRAMS) -> None:
    """Raise ConfigError for the first problem that one of ``programs`` would refuse."""
    for check, used_by in CHECKS:
        if used_by.intersection(programs):
            check(config)
