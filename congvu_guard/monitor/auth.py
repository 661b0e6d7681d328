"""Who may use the monitor: users and API clients from a file of hashed secrets, three
roles, server-side sessions in Redis, CSRF tokens for the page's forms.

The users file has one line per person or client: ``NAME ROLE HASH``. HASH is
``sha256:HEX`` of an API token (for ``Authorization: Bearer TOKEN``) or
``pbkdf2_sha256$ITERATIONS$SALT$HEX`` of a password (for the page's login). No secret is
ever stored in clear; ``congvu-guard monitor-user add`` writes lines.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

ROLES = ("viewer", "operator", "admin")
PBKDF2_ITERATIONS = 310_000
# ASVS 2.1.1 (docs/asvs-monitor.md): `monitor-user add` refuses shorter page passwords.
MIN_PASSWORD_LENGTH = 12


class AuthError(ValueError):
    pass


@dataclass(frozen=True)
class User:
    name: str
    role: str
    secret: str  # "sha256:..." or "pbkdf2_sha256$..."

    def may(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def as_bytes(text: str) -> bytes:
    """Any str as bytes, never an exception: header values reach us with surrogate escapes
    for non-UTF-8 bytes, and a non-ASCII API key or CSRF value must get 401/403, not 500."""
    return text.encode("utf-8", "surrogatepass")


def same(presented: str, expected: str) -> bool:
    """Constant-time comparison of two secrets, as bytes."""
    return hmac.compare_digest(as_bytes(presented), as_bytes(expected))


def hash_token(token: str) -> str:
    return "sha256:" + hashlib.sha256(as_bytes(token)).hexdigest()


def hash_password(password: str, salt: str | None = None,
                  iterations: int = PBKDF2_ITERATIONS) -> str:
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", as_bytes(password), as_bytes(salt), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${digest.hex()}"


def verify(secret_hash: str, presented: str) -> bool:
    if secret_hash.startswith("sha256:"):
        return same(secret_hash, hash_token(presented))
    if secret_hash.startswith("pbkdf2_sha256$"):
        try:
            _, iterations, salt, _digest = secret_hash.split("$")
            expected = hash_password(presented, salt, int(iterations))
        except ValueError:
            return False
        return same(secret_hash, expected)
    return False


def _iterations(secret_hash: str) -> int:
    try:
        return int(secret_hash.split("$")[1])
    except (IndexError, ValueError):
        return 0


def load_users(path: str) -> dict[str, User]:
    """The users file; a missing file means no users (only /health answers)."""
    p = Path(path)
    if not p.exists():
        return {}
    users: dict[str, User] = {}
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 3 or parts[1] not in ROLES:
            raise AuthError(f"{path}:{n}: expected NAME ROLE HASH with ROLE one of "
                            f"{', '.join(ROLES)}")
        users[parts[0]] = User(*parts)
    return users


class Authenticator:
    def __init__(self, users: dict[str, User]) -> None:
        self.users = users
        # Equal work for unknown names (issue 15: 1,000 iterations against 310,000 made
        # names enumerable by timing): a dummy hash with the users' own iteration count.
        counts = [_iterations(u.secret) for u in users.values()
                  if u.secret.startswith("pbkdf2_sha256$")]
        self.dummy = hash_password(secrets.token_urlsafe(16),
                                   iterations=max(counts, default=PBKDF2_ITERATIONS))

    def by_token(self, token: str) -> User | None:
        for user in self.users.values():
            if user.secret.startswith("sha256:") and verify(user.secret, token):
                return user
        return None

    def by_password(self, name: str, password: str) -> User | None:
        user = self.users.get(name)
        if user is None or not user.secret.startswith("pbkdf2_sha256$"):
            verify(self.dummy, password)  # the same work as for a real name
            return None
        return user if verify(user.secret, password) else None
