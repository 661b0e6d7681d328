"""``congvu-guard ioc add|remove|list``: the security team feeds the IOC blocklist.

Exit status: 0 done; 1 Redis unreachable; 2 bad usage or a malformed indicator; 3 not listed.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

import redis

from .config import Config
from .detectors.ioc import KINDS
from .ratelimit.admin import _client
from .state.audit import AuditTrail
from .state.ioc import IocStore


def add_parser(sub: Any) -> None:
    p = sub.add_parser("ioc", help="the IOC blocklist: attachment SHA-256, domains, senders")
    isub = p.add_subparsers(dest="ioc_command", required=True, metavar="ACTION")
    for name in ("add", "remove"):
        q = isub.add_parser(name)
        q.add_argument("--type", required=True, choices=KINDS, dest="kind")
        q.add_argument("value")
        if name == "add":
            q.add_argument("--note", default="", help="why (ticket, source of the indicator)")
    q = isub.add_parser("list")
    q.add_argument("--type", choices=KINDS, dest="kind", default=None)
    q.add_argument("--json", action="store_true")
    for parser in isub.choices.values():
        parser.add_argument("--config", metavar="FILE")
        parser.add_argument("--actor", default="", help="who you are (default: login name)")


def run(args: argparse.Namespace, config: Config) -> int:
    actor = args.actor or getpass.getuser()
    try:
        client = _client(config)
        store = IocStore(client)
        audit = AuditTrail(client, config.ratelimit.audit_retention_days)
        if args.ioc_command == "add":
            if args.kind == "domain":  # issue 15: never an official/own/public domain
                from .monitor.blockguard import DomainGuard

                why = DomainGuard(config).refusal(args.value)
                if why is not None:
                    raise ValueError(why)
            value = store.add(args.kind, args.value, args.note)
            audit.append("ioc-add", value, actor, reason=args.kind, detail={"note": args.note})
            print(f"added {args.kind} {value}")
            return 0
        if args.ioc_command == "remove":
            if not store.remove(args.kind, args.value):
                print(f"congvu-guard ioc: {args.value} is not listed", file=sys.stderr)
                return 3
            audit.append("ioc-remove", args.value, actor, reason=args.kind)
            print(f"removed {args.kind} {args.value}")
            return 0
        for kind in [args.kind] if args.kind else list(KINDS):
            for value, note in store.list(kind).items():
                if args.json:
                    print(json.dumps({"type": kind, "value": value, "note": note},
                                     ensure_ascii=False))
                else:
                    print(f"{kind:7} {value}  {note}")
        return 0
    except ValueError as e:
        print(f"congvu-guard ioc: {e}", file=sys.stderr)
        return 2
    except redis.RedisError as e:
        print(f"congvu-guard: redis unreachable: {e}", file=sys.stderr)
        return 1
