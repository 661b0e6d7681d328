"""Which account names may be locked (issue 15): a name is written as it is into the Postfix
access map (``NAME REJECT ...``) and the Dovecot passwd-file (``NAME:``), so only names that
both read back unchanged are accepted. Anything else is refused with the reason, never
folded into another name (``victim@x#`` must not become ``victim@x``)."""

from __future__ import annotations

import re

# Local part: the characters mailbox and login names use in practice (no space, '#', ':',
# quotes, braces, control or non-ASCII characters); domain: DNS labels.
_LOCAL = re.compile(r"[a-z0-9._%+=~-]{1,64}\Z")
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){0,30}"
                     r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
MAX_LENGTH = 254


def account_problem(account: str) -> str | None:
    """Why ``account`` cannot be locked or exported safely, or None when it can."""
    name = account.strip().lower()
    if not name:
        return "an account is required"
    if len(name) > MAX_LENGTH:
        return f"longer than {MAX_LENGTH} characters"
    if not name.isascii() or not name.isprintable():
        return "only ASCII letters, digits and . _ % + = ~ - @ are allowed"
    local, at, domain = name.partition("@")
    if not _LOCAL.match(local):
        return ("the login part may only hold letters, digits and . _ % + = ~ - "
                "(no space, '#', ':', quotes or braces)")
    if at and not _DOMAIN.match(domain):
        return "the domain part is not a valid domain name"
    return None


def valid_account(account: str) -> bool:
    return account_problem(account) is None
