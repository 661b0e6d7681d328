"""``congvu-guard monitor``, ``monitor-user`` and ``inactivity`` subcommands."""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
from pathlib import Path
from typing import Any

import redis

from ..config import Config
from .auth import MIN_PASSWORD_LENGTH, ROLES, AuthError, hash_password, hash_token, load_users


def add_parsers(sub: Any) -> None:
    m = sub.add_parser("monitor", help="run the abuse monitor (admin API, page, Dovecot policy)")
    m.add_argument("--config", metavar="FILE")

    u = sub.add_parser("monitor-user", help="add a person or API client to the users file")
    usub = u.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    a = usub.add_parser("add")
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=ROLES)
    kind = a.add_mutually_exclusive_group(required=True)
    kind.add_argument("--password", action="store_true",
                      help="a person: asks for the password (or reads it from stdin)")
    kind.add_argument("--token", action="store_true",
                      help="an API client: prints a new bearer token once")
    a.add_argument("--config", metavar="FILE")

    i = sub.add_parser("inactivity", help="HUE-13.2a/BP-5.3c: import accounts, run the sweep")
    isub = i.add_subparsers(dest="inactivity_command", required=True, metavar="ACTION")
    p = isub.add_parser("import", help="CSV with an account column, or doveadm user '*'")
    p.add_argument("file")
    p.add_argument("--config", metavar="FILE")
    p = isub.add_parser("sweep")
    p.add_argument("--dry-run", action="store_true", help="only report")
    p.add_argument("--config", metavar="FILE")


def add_user(args: argparse.Namespace, config: Config) -> int:
    path = Path(config.monitor.users_file)
    try:
        users = load_users(str(path))
    except AuthError as e:
        print(f"congvu-guard: {e}", file=sys.stderr)
        return 2
    if args.name in users or not args.name.isprintable() or " " in args.name:
        print(f"congvu-guard: {args.name!r} exists already or is not a valid name",
              file=sys.stderr)
        return 2
    if args.token:
        secret = secrets.token_urlsafe(32)
        line = f"{args.name} {args.role} {hash_token(secret)}\n"
    else:
        secret = (getpass.getpass("Password: ") if sys.stdin.isatty()
                  else sys.stdin.readline().rstrip("\n"))
        if len(secret) < MIN_PASSWORD_LENGTH:
            print(f"congvu-guard: the password needs at least {MIN_PASSWORD_LENGTH} characters",
                  file=sys.stderr)
            return 2
        line = f"{args.name} {args.role} {hash_password(secret)}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(line)
    path.chmod(0o640)
    if args.token:
        print(f"token for {args.name} (shown once): {secret}")
    else:
        print(f"added {args.name} ({args.role})")
    return 0


def run(args: argparse.Namespace, config: Config) -> int:
    if args.command == "monitor":
        from .app import run as run_monitor

        return run_monitor(config)
    if args.command == "monitor-user":
        return add_user(args, config)
    from ..ratelimit.admin import _client
    from .inactivity import import_accounts, parse_accounts, sweep
    from .state import MonitorState

    try:
        state = MonitorState(config, _client(config))
        if args.inactivity_command == "import":
            try:
                accounts = parse_accounts(Path(args.file).read_text(encoding="utf-8"))
            except OSError as e:
                print(f"congvu-guard: {args.file}: {e.strerror}", file=sys.stderr)
                return 2
            print(f"{import_accounts(state.client, accounts)} new of {len(accounts)} accounts")
            return 0
        result = sweep(state, dry_run=args.dry_run or None)
        for acct in result.locked:
            print(f"locked {acct} (HUE-13.2a)")
        for acct in result.would_lock:
            print(f"would lock {acct} (HUE-13.2a, dry run)")
        for acct in result.revoke:
            print(f"due for revocation {acct} (BP-5.3c)")
        return 0
    except redis.RedisError as e:
        print(f"congvu-guard: redis unreachable: {e}", file=sys.stderr)
        return 1
