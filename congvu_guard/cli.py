"""The ``congvu-guard`` command.

Exit status: 0 success, 1 runtime failure, 2 bad usage, bad configuration or unreadable input.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from . import __version__
from .config import Config, ConfigError, load_or_default
from .detectors.yara_scan import YaraError


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from .journal import PriorityFormatter, stderr_is_journal

    if stderr_is_journal():  # under systemd: <N> prefixes, so journalctl -p err works
        for handler in logging.getLogger().handlers:
            handler.setFormatter(PriorityFormatter("%(levelname)s %(name)s: %(message)s"))


def _err() -> str:
    """``<3>`` (error) before a fatal message when stderr is the journal (journal.py)."""
    from .journal import stderr_is_journal

    return "<3>" if stderr_is_journal() else ""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="congvu-guard",
        description="Postfix milter and abuse monitor for official (cong vu) mail systems.",
    )
    p.add_argument("--version", action="version", version=f"congvu-guard {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    m = sub.add_parser("milter", help="run the milter (Postfix smtpd_milters/non_smtpd_milters)")
    m.add_argument("--config", metavar="FILE",
                   help="configuration file (default: built-in defaults, embedded Redis)")

    c = sub.add_parser("check-config", help="validate a configuration file and print it")
    c.add_argument("file", metavar="FILE")

    s = sub.add_parser("scan", help="judge .eml files with the milter's policy engine")
    s.add_argument("--config", metavar="FILE")
    s.add_argument("--from", dest="sender", metavar="ADDR",
                   help="envelope sender (default: Return-Path or From of the message)")
    s.add_argument("--rcpt", action="append", default=[], metavar="ADDR",
                   help="envelope recipient, repeatable (default: To and Cc)")
    s.add_argument("--auth-user", default="", metavar="USER", help="SASL login of the sender")
    s.add_argument("--hop", choices=("inbound", "submission", "internal", "gate"), default="",
                   help="which door the message passes (default: from --daemon/--client-addr/"
                        "--auth-user as the milter would)")
    s.add_argument("--daemon", dest="daemon_name", default="", metavar="NAME",
                   help="the {daemon_name} the milter would see, e.g. outbound-gate")
    s.add_argument("--client-addr", default="", metavar="IP", help="the SMTP client address")
    s.add_argument("--json", action="store_true", help="one JSON object per file per line")
    s.add_argument("files", nargs="+", metavar="FILE", help=".eml file, or - for stdin")
    from .ioc_cli import add_parser as add_ioc_parser
    from .monitor.cli import add_parsers as add_monitor_parsers
    from .ratelimit.admin import add_parsers

    add_parsers(sub)
    add_ioc_parser(sub)
    add_monitor_parsers(sub)
    from .zimbra_hooks import add_parser as add_zimbra_hooks_parser

    add_zimbra_hooks_parser(sub)

    dm = sub.add_parser("demo", help="every rule once on a throwaway mail system (root)")
    dm.add_argument("--keep", action="store_true", help="keep it running until Ctrl-C")
    dm.add_argument("--config", metavar="FILE", help=argparse.SUPPRESS)

    a = sub.add_parser("audit-forwarding",
                       help="list configured forwards that point outside the official domains")
    a.add_argument("--config", metavar="FILE")
    a.add_argument("--postfix-map", action="append", default=[], metavar="FILE",
                   help="alias or virtual map source, or postalias -s / postmap -s output")
    a.add_argument("--forward", action="append", default=[], metavar="FILE",
                   help="a .forward file (account: its directory's name)")
    a.add_argument("--homes", action="append", default=[], metavar="DIR",
                   help="read DIR/*/.forward")
    a.add_argument("--sieve", action="append", default=[], metavar="FILE", help="a Sieve script")
    a.add_argument("--sieve-dir", action="append", default=[], metavar="DIR",
                   help="read every *.sieve below DIR")
    a.add_argument("--zimbra", action="append", default=[], metavar="FILE",
                   help="LDIF export or zmprov -l gaa -v output (zimbra*ForwardingAddress)")
    a.add_argument("--all", action="store_true", help="also list forwards to official domains")
    a.add_argument("--json", action="store_true", help="one JSON object per line")
    return p


def _describe(config: Config) -> str:
    lines = [f"configuration {config.source}: OK"]
    for section in ("milter", "redis", "limits", "domains", "report", "hops", "forwarding",
                    "ratelimit", "scan", "clamav", "monitor", "metrics", "logging"):
        value = getattr(config, section)
        for key, v in vars(value).items():
            shown = list(v) if isinstance(v, tuple) else v
            lines.append(f"  [{section}] {key} = {shown!r}")
    for key, v in vars(config.secret).items():  # HUE-11.2
        lines.append(f"  [secret] {key} = {v!r}")
    for rule, action in config.actions.items():
        lines.append(f"  [actions] {rule} = {action.value!r}")
    for account, limit in config.bulk_senders.items():
        lines.append(f"  [bulk_senders] {account} = {limit}")
    for direction, table in config.policy.items():
        for key, action in table.items():
            lines.append(f"  [policy.{direction}] {key} = {action.value!r}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "milter" and argv is None:  # a process of its own, not a caller's
        from .milter.memory import restart_with_huge_pages

        restart_with_huge_pages()
    if args.command == "zimbra-hooks":  # no configuration: it runs as user zimbra
        from . import zimbra_hooks

        return zimbra_hooks.run(args)
    try:
        if args.command == "check-config":
            from .engine import Engine
            from .validate import validate

            config = load_or_default(args.file)
            validate(config)  # what the milter and the monitor would refuse at start
            Engine(config)  # checks [actions] against the known rule IDs
            print(_describe(config))
            return 0
        config = load_or_default(args.config)
        _setup_logging(config.logging.level)
        if args.command == "scan":
            from .scan import ScanEnvelopeArgs, run_scan, scan_engine

            envelope_args = ScanEnvelopeArgs(args.sender, args.rcpt, args.auth_user, args.hop,
                                             args.daemon_name, args.client_addr)
            return run_scan(scan_engine(config), args.files, envelope_args, args.json)
        if args.command == "demo":
            from .lab import demo

            return demo.run(args.keep)
        if args.command in ("monitor", "monitor-user", "inactivity"):
            from .monitor import cli as monitor_cli

            return monitor_cli.run(args, config)
        if args.command == "ioc":
            from . import ioc_cli

            return ioc_cli.run(args, config)
        if args.command in ("locks", "bulk-senders"):
            from .ratelimit import admin

            return admin.run(args, config)
        if args.command == "audit-forwarding":
            from .audit import AuditError, AuditSources, run_audit

            sources = AuditSources(args.postfix_map, args.forward, args.homes, args.sieve,
                                   args.sieve_dir, args.zimbra)
            if not any(vars(sources).values()):
                print("congvu-guard audit-forwarding: give at least one source "
                      "(--postfix-map, --forward, --homes, --sieve, --sieve-dir, --zimbra)",
                      file=sys.stderr)
                return 2
            try:
                return run_audit(config, sources, args.json, args.all)
            except AuditError as e:
                print(f"congvu-guard audit-forwarding: {e}", file=sys.stderr)
                return 2
        if args.command == "milter":
            from .milter.server import run

            return run(config)
    except ConfigError as e:
        print(f"{_err()}congvu-guard: configuration error: {e}", file=sys.stderr)
        return 2
    except YaraError as e:
        print(f"{_err()}congvu-guard: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:
        print(f"{_err()}congvu-guard: {e}", file=sys.stderr)
        return 1
    return 2
