"""Every monitor log line stays one line (issue 15): a value from the network (a policy
login name, a user name typed on the page, a path) with a newline or another control
character could otherwise forge a line in the log that operators and log shippers trust.
The formatter escapes them in the rendered message (``\\n`` becomes ``\\x0a``)."""

from __future__ import annotations

import logging
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


def escape(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class EscapingFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape(record.message)
        return super().formatMessage(record)


def install(logger: logging.Logger | None = None) -> None:
    """Wrap the formatters of the root logger's handlers (set up by the command line)."""
    for handler in (logger or logging.getLogger()).handlers:
        old = handler.formatter
        if isinstance(old, EscapingFormatter):
            continue
        fmt = old._fmt if old is not None else None
        handler.setFormatter(EscapingFormatter(fmt, old.datefmt if old else None))
