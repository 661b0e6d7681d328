"""``congvu-guard locks ...`` and ``congvu-guard bulk-senders ...``: the operator's side.

Exit status: 0 done; 1 Redis unreachable; 2 bad usage, bad configuration or a refused
operation (e.g. an unlock without a request reference); 3 no such lock or bulk sender.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import sys
from typing import Any

import redis

from ..config import Config
from ..state.audit import AuditTrail, to_csv, to_json_lines
from ..state.bulk import NO_LIMIT, BulkSenders
from ..state.client import RedisClient
from ..state.embedded import open_redis
from ..state.locks import LockChanges, LockError, LockStore, NotLocked, export_from_redis
from .model import Lock

EXIT_REDIS, EXIT_REFUSED, EXIT_NOT_FOUND = 1, 2, 3


def add_parsers(sub: Any) -> None:
    lk = sub.add_parser("locks", help="list, show, lock and unlock accounts; the audit trail")
    lsub = lk.add_subparsers(dest="locks_command", required=True, metavar="ACTION")
    p = lsub.add_parser("list", help="locked accounts")
    p.add_argument("--json", action="store_true")
    p = lsub.add_parser("show", help="one account's lock")
    p.add_argument("account")
    p.add_argument("--json", action="store_true")
    p = lsub.add_parser("lock", help="lock an account by hand (e.g. HUE-13.2c)")
    p.add_argument("account")
    p.add_argument("--reason", required=True, help="rule ID, e.g. HUE-13.2c")
    p.add_argument("--note", default="", help="evidence or ticket, free text")
    p.add_argument("--expires", type=int, default=0, metavar="SECONDS",
                   help="lift the lock by itself after this long (default: never)")
    p = lsub.add_parser("unlock", help="unlock after the HUE-13.3 request")
    p.add_argument("account")
    p.add_argument("--reference", required=True,
                   help="the unit head's written or signed request number")
    p.add_argument("--approver", required=True, help="who approved the restoration")
    p = lsub.add_parser("audit", help="the audit trail of locks, unlocks and hooks")
    p.add_argument("--account", default="")
    p.add_argument("--event", default="", choices=("", "lock", "unlock", "hook", "bulk-add",
                                                   "bulk-remove"))
    p.add_argument("--since", default="", help="ISO date/time or unix seconds")
    p.add_argument("--limit", type=int, default=10_000, metavar="N",
                   help="the newest N entries (default 10000), newest first")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="one JSON object per line")
    fmt.add_argument("--csv", action="store_true")
    p = lsub.add_parser("export", help="write the Postfix and Dovecot lock lists now")
    p.add_argument("--postfix", default=None, metavar="FILE")
    p.add_argument("--dovecot", default=None, metavar="FILE")
    for parser in lsub.choices.values():
        parser.add_argument("--config", metavar="FILE")
        parser.add_argument("--actor", default="", help="who you are (default: login name)")

    bk = sub.add_parser("bulk-senders", help="registered bulk senders (HUE-13.2d)")
    bsub = bk.add_subparsers(dest="bulk_command", required=True, metavar="ACTION")
    p = bsub.add_parser("list")
    p.add_argument("--json", action="store_true")
    p = bsub.add_parser("add")
    p.add_argument("account")
    p.add_argument("--limit", type=int, default=NO_LIMIT,
                   help="messages per window (-1, the default: no limit)")
    p.add_argument("--note", default="")
    p = bsub.add_parser("remove")
    p.add_argument("account")
    for parser in bsub.choices.values():
        parser.add_argument("--config", metavar="FILE")
        parser.add_argument("--actor", default="", help="who you are (default: login name)")


def _client(config: Config) -> RedisClient:
    """The configured Redis, or the embedded one a running milter started (never started
    here: a CLI that started its own would lock accounts in a Redis nobody reads)."""
    return open_redis(config.redis, start=False).client


def _since(text: str) -> float:
    if not text:
        return 0.0
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not 0 <= seconds < 1e11:  # nan, inf and years beyond 5000
            raise LockError(f"--since: expected an ISO date/time or unix seconds, got {text!r}")
        return seconds
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise LockError(f"--since: expected an ISO date/time or unix seconds, got {text!r}") from e
    if when.tzinfo is None:
        when = when.astimezone()
    return when.timestamp()


def _show(lock: Lock) -> str:
    when = dt.datetime.fromtimestamp(lock.at).isoformat(timespec="seconds")
    exp = (dt.datetime.fromtimestamp(lock.expires_at).isoformat(timespec="seconds")
           if lock.expires_at else "never")
    evidence = " ".join(f"{k}={v}" for k, v in sorted(lock.evidence.items()))
    return f"{lock.account}  {lock.reason}  by {lock.by}  at {when}  expires {exp}  {evidence}"


def run(args: argparse.Namespace, config: Config) -> int:
    actor = args.actor or getpass.getuser()
    try:
        client = _client(config)
        audit = AuditTrail(client, config.ratelimit.audit_retention_days)
        if args.command == "bulk-senders":
            return _bulk(args, BulkSenders(client, audit), actor)
        return _locks(args, config, LockStore(client, audit), audit, actor)
    except NotLocked as e:
        print(f"congvu-guard locks: {e}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except (LockError, ValueError) as e:
        print(f"congvu-guard: {e}", file=sys.stderr)
        return EXIT_REFUSED
    except redis.RedisError as e:
        print(f"congvu-guard: redis unreachable: {e}", file=sys.stderr)
        return EXIT_REDIS


def _locks(args: argparse.Namespace, config: Config, store: LockStore, audit: AuditTrail,
           actor: str) -> int:
    cmd = args.locks_command
    rl = config.ratelimit
    changes = LockChanges(store.client, rl, audit, actor)
    if cmd == "list":
        locks = store.list()
        if args.json:
            for lock in locks:
                print(json.dumps(lock.as_dict(), ensure_ascii=False))
        else:
            for lock in locks:
                print(_show(lock))
            print(f"{len(locks)} locked account(s)")
        return 0
    if cmd == "show":
        found = store.get(args.account)
        if found is None:
            raise NotLocked(f"{args.account} is not locked")
        print(json.dumps(found.as_dict(), ensure_ascii=False) if args.json else _show(found))
        return 0
    if cmd == "lock":
        lock = store.lock(args.account, args.reason, by=actor, note=args.note,
                          expires_seconds=args.expires)
        changes.after("lock", lock.account, wait=True)
        print(f"locked {lock.account} ({lock.reason})")
        return 0
    if cmd == "unlock":
        lock = store.unlock(args.account, args.reference, args.approver, actor=actor)
        changes.after("unlock", lock.account, wait=True)
        print(f"unlocked {lock.account} (was {lock.reason}); reference {args.reference}, "
              f"approved by {args.approver}")
        return 0
    if cmd == "audit":
        # Newest first, like the API, the page and the CSV export.
        rows = audit.entries(account=args.account, since=_since(args.since), event=args.event,
                             count=args.limit)
        if args.json:
            sys.stdout.write(to_json_lines(rows))
        elif args.csv:
            sys.stdout.write(to_csv(rows))
        else:
            for r in rows:
                when = dt.datetime.fromtimestamp(float(r.get("ts", 0))).isoformat(
                    timespec="seconds")
                extra = " ".join(f"{k}={r[k]}" for k in ("reference", "approver") if r.get(k))
                print(f"{when}  {r.get('event', ''):11} {r.get('account', '')}  "
                      f"{r.get('reason', '')}  by {r.get('actor', '')}  {extra}".rstrip())
        return 0
    if cmd == "export":
        pf = rl.export_postfix if args.postfix is None else args.postfix
        dc = rl.export_dovecot if args.dovecot is None else args.dovecot
        if not (pf or dc):
            raise LockError("nothing to write: give --postfix/--dovecot or set "
                            "[ratelimit] export_postfix/export_dovecot")
        for path in export_from_redis(store.client, pf, dc):
            print(f"wrote {path}")
        return 0
    raise LockError(f"unknown action {cmd}")


def _bulk(args: argparse.Namespace, bulk: BulkSenders, actor: str) -> int:
    cmd = args.bulk_command
    if cmd == "list":
        entries = bulk.list()
        for account, data in entries.items():
            if args.json:
                print(json.dumps({"account": account, **data}, ensure_ascii=False))
            else:
                limit = data.get("messages")
                shown = "no limit" if limit == NO_LIMIT else f"{limit} messages"
                print(f"{account}  {shown}  {data.get('note', '')}".rstrip())
        return 0
    if cmd == "add":
        bulk.add(args.account, args.limit, actor, args.note)
        print(f"registered {args.account} as a bulk sender")
        return 0
    if cmd == "remove":
        if not bulk.remove(args.account, actor):
            raise NotLocked(f"{args.account} is not a registered bulk sender")
        print(f"removed {args.account}")
        return 0
    raise LockError(f"unknown action {cmd}")
