"""The configuration file: a TOML document loaded into frozen, typed objects.

Every key is declared here once, with its type, default and check. Loading rejects unknown
keys, wrong types and bad values with one :class:`ConfigError` that names the key
(``[limits] max_message_bytes: expected an integer, got "20MB"``). The CLI turns that error
into exit status 2. The schema is documented in README.md and congvu-guard.example.toml.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .addresses import is_valid_address, is_valid_domain_pattern
from .model import Action

DEFAULT_PUBLIC_PROVIDERS: tuple[str, ...] = (
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.com.vn", "ymail.com", "rocketmail.com",
    "hotmail.com", "outlook.com", "live.com", "msn.com", "outlook.com.vn", "hotmail.com.vn",
    "icloud.com", "me.com", "mac.com", "aol.com", "yandex.ru", "yandex.com", "mail.ru",
    "gmx.com", "gmx.net", "zoho.com", "proton.me", "protonmail.com", "pm.me", "tutanota.com",
    "qq.com", "163.com", "126.com", "fastmail.com", "mail.com", "zing.vn",
)

MIB = 1024 * 1024

# Cores left to Postfix (smtpd, cleanup, qmgr, delivery) and to the milter's own threads
# before any go to scan worker processes ([scan] workers).
POSTFIX_CORES = 2


def default_scan_workers(cores: int | None) -> int:
    """``[scan] workers`` when not set: the cores beyond what Postfix needs."""
    return max(0, (cores or 1) - POSTFIX_CORES)


class ConfigError(ValueError):
    """A configuration problem, worded for the administrator, naming the offending key."""


def _check(pred: Callable[[Any], bool], message: str) -> dict[str, Any]:
    return {"check": (pred, message)}


def _is_socket_spec(s: str) -> bool:
    if s.startswith(("unix:", "local:")):
        return s.split(":", 1)[1].startswith("/")
    if s.startswith(("inet:", "inet6:")):
        port, _, host = s.split(":", 1)[1].partition("@")
        return port.isdigit() and 0 < int(port) < 65536 and bool(host)
    return False


def _is_listen(s: str) -> bool:
    if s == "":
        return True
    host, _, port = s.rpartition(":")
    return bool(host) and port.isdigit() and 0 <= int(port) < 65536


def _is_octal_mode(s: str) -> bool:
    return len(s) in (3, 4) and all(c in "01234567" for c in s)


@dataclass(frozen=True)
class MilterConfig:
    socket: str = field(
        default="unix:/run/congvu-guard/milter.sock",
        metadata=_check(_is_socket_spec, "expected unix:/ABSOLUTE/PATH or inet:PORT@HOST"),
    )
    name: str = "congvu-guard"
    timeout_seconds: int = field(
        default=600, metadata=_check(lambda v: 1 <= v <= 86400, "must be 1..86400")
    )
    socket_group: str = "postfix"
    socket_mode: str = field(
        default="660", metadata=_check(_is_octal_mode, "expected an octal mode such as \"660\"")
    )


@dataclass(frozen=True)
class RedisConfig:
    url: str = field(
        default="",
        metadata=_check(
            lambda v: v == "" or v.startswith(("redis://", "rediss://", "unix://")),
            "expected redis://, rediss:// or unix:// URL, or \"\" for the embedded Redis",
        ),
    )
    embedded_dir: str = field(
        default="/var/lib/congvu-guard/redis",
        metadata=_check(lambda v: v.startswith("/"), "expected an absolute path"),
    )
    timeout_seconds: float = field(
        default=0.5, metadata=_check(lambda v: 0 < v <= 30, "must be > 0 and <= 30")
    )
    # "standalone" (url), "cluster" (url of any node; keys use hash tags so each account
    # stays in one slot) or "sentinel" (sentinels + sentinel_service; url gives db/password).
    mode: Literal["standalone", "cluster", "sentinel"] = "standalone"
    sentinels: tuple[str, ...] = field(
        default=(),
        metadata=_check(lambda v: all(_is_listen(x) and x for x in v),
                        "expected HOST:PORT entries"),
    )
    sentinel_service: str = "mymaster"


@dataclass(frozen=True)
class RateLimitConfig:
    enabled: bool = True
    # HUE-13.2d: more than max_messages accepted messages in any window_seconds locks.
    max_messages: int = field(default=100, metadata=_check(lambda v: v >= 1, "must be >= 1"))
    window_seconds: int = field(
        default=1800, metadata=_check(lambda v: 1 <= v <= 7 * 86400, "must be 1..604800")
    )
    # A second limit on recipients in the same window; 0 = off.
    max_recipients: int = field(default=0, metadata=_check(lambda v: v >= 0, "must be >= 0"))
    # Mail from internal hosts without a SASL login: count it against the envelope sender
    # (when that is an official address), or do not limit it.
    unauthenticated: Literal["envelope-sender", "ignore"] = "envelope-sender"
    # When Redis is unreachable: "fallback" = a per-process in-memory window (per server,
    # not global); "tempfail" = 451 for mail that must be counted.
    on_redis_down: Literal["fallback", "tempfail"] = "fallback"
    # Locks expire by themselves after this many seconds; 0 = only an unlock ends them.
    lock_expiry_seconds: int = field(default=0, metadata=_check(lambda v: v >= 0, "must be >= 0"))
    # Commands run on lock/unlock, "{account}" replaced, e.g.
    # ["/opt/zimbra/bin/zmprov", "ma", "{account}", "zimbraAccountStatus", "locked"].
    lock_hook: tuple[str, ...] = ()
    unlock_hook: tuple[str, ...] = ()
    hook_timeout_seconds: int = field(
        default=30, metadata=_check(lambda v: 1 <= v <= 3600, "must be 1..3600")
    )
    # A spool directory: every lock/unlock is also written there as a request, which a
    # separate privileged unit applies (congvu-guard zimbra-hooks); "" = none.
    hook_queue: str = field(
        default="", metadata=_check(lambda v: v == "" or v.startswith("/"), "absolute path")
    )
    # Files refreshed (write + rename) after every lock and unlock; "" = not written.
    export_postfix: str = field(
        default="", metadata=_check(lambda v: v == "" or v.startswith("/"), "absolute path")
    )
    export_dovecot: str = field(
        default="", metadata=_check(lambda v: v == "" or v.startswith("/"), "absolute path")
    )
    # Audit entries younger than this are never trimmed.
    audit_retention_days: int = field(
        default=730, metadata=_check(lambda v: v >= 1, "must be >= 1")
    )


@dataclass(frozen=True)
class LimitsConfig:
    max_message_bytes: int = field(
        default=20 * MIB, metadata=_check(lambda v: v >= 1024, "must be at least 1024")
    )
    size_basis: Literal["transmitted", "decoded"] = "transmitted"
    hard_max_bytes: int = field(
        default=0, metadata=_check(lambda v: v >= 0, "must be 0 (automatic) or a byte count")
    )

    @property
    def buffer_ceiling(self) -> int:
        """Most bytes the milter accepts on the wire before rejecting without further parsing."""
        if self.size_basis == "transmitted":
            return self.max_message_bytes
        if self.hard_max_bytes:
            return self.hard_max_bytes
        # base64 grows content by 4/3 plus line breaks (76-char lines): allow 1.37x + 1 MiB.
        return self.max_message_bytes * 137 // 100 + MIB


@dataclass(frozen=True)
class DomainsConfig:
    official: tuple[str, ...] = field(
        default=("gov.vn", "*.gov.vn"),
        metadata=_check(lambda v: all(is_valid_domain_pattern(p) for p in v),
                        "each entry must be a domain (hue.gov.vn) or a pattern (*.gov.vn)"),
    )
    public_providers: tuple[str, ...] = field(
        default=DEFAULT_PUBLIC_PROVIDERS,
        metadata=_check(lambda v: all(is_valid_domain_pattern(p) for p in v),
                        "each entry must be a domain or a *.domain pattern"),
    )
    # HUE-11.11 (origin): the domains this mail system hosts, e.g. ["thuathienhue.gov.vn",
    # "*.thuathienhue.gov.vn"]. Mail from outside claiming them needs their DKIM signature.
    own: tuple[str, ...] = field(
        default=(),
        metadata=_check(lambda v: all(is_valid_domain_pattern(p) for p in v),
                        "each entry must be a domain (hue.gov.vn) or a pattern (*.hue.gov.vn)"),
    )


@dataclass(frozen=True)
class ReportConfig:
    address: str = field(
        default="",
        metadata=_check(lambda v: v == "" or is_valid_address(v),
                        "expected a mail address such as tiepnhan@thuathienhue.gov.vn"),
    )
    extra_addresses: tuple[str, ...] = field(
        default=(),
        metadata=_check(lambda v: all(is_valid_address(a) for a in v),
                        "each entry must be a mail address"),
    )


def _is_network(s: str) -> bool:
    try:
        ipaddress.ip_network(s, strict=False)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class HopsConfig:
    # {daemon_name} of the outbound gate smtpd (milter_macro_daemon_name in master.cf).
    gate: tuple[str, ...] = ("outbound-gate",)
    # {daemon_name}s of our users' submission services; any SASL login counts too.
    submission: tuple[str, ...] = ("submission", "submissions")
    # Our own hosts (pickup/sendmail is 127.0.0.1): their unauthenticated mail is internal.
    internal_networks: tuple[str, ...] = field(
        default=("127.0.0.0/8", "::1/128"),
        metadata=_check(lambda v: all(_is_network(n) for n in v),
                        "each entry must be an IP network such as 10.0.0.0/8"),
    )


@dataclass(frozen=True)
class ForwardingConfig:
    # "non-official": block auto-forwards to any domain outside [domains] official (HUE-11.6,
    # the regulation's text); "public-providers": only to [domains] public_providers.
    mode: Literal["non-official", "public-providers"] = "non-official"
    # File holding the origin-stamp key (>= 32 bytes). "" = a key generated once and shared
    # by every mail server through Redis.
    stamp_key_file: str = field(
        default="",
        metadata=_check(lambda v: v == "" or v.startswith("/"), "expected an absolute path"),
    )


@dataclass(frozen=True)
class ScanConfig:
    # Operator YARA rule directories, added to the shipped rules (congvu_guard/detectors/rules).
    yara_rules_dirs: tuple[str, ...] = field(
        default=(), metadata=_check(lambda v: all(p.startswith("/") for p in v),
                                    "each entry must be an absolute path"))
    yara_timeout_seconds: int = field(
        default=5, metadata=_check(lambda v: 1 <= v <= 120, "must be 1..120"))
    # Archives and attached messages inside each other, members and bytes taken out.
    max_depth: int = field(default=10, metadata=_check(lambda v: 1 <= v <= 20, "must be 1..20"))
    max_members: int = field(default=1000, metadata=_check(lambda v: v >= 1, "must be >= 1"))
    max_expanded_bytes: int = field(
        default=256 * MIB, metadata=_check(lambda v: v >= MIB, "must be >= 1 MiB"))
    max_ratio: int = field(default=100, metadata=_check(lambda v: v >= 2, "must be >= 2"))
    # The "tag" action also prefixes the Subject with this text ("" = header only), ASCII.
    subject_prefix: str = field(
        default="", metadata=_check(lambda v: v.isascii() and v.isprintable(),
                                    "expected printable ASCII, e.g. \"[NGHI NGO]\""))
    # HUE-13.2c: malware (a critical finding) sent by an authenticated user locks the account.
    malware_locks_sender: bool = True
    # Messages larger than this are spooled to disk while they arrive, and at most
    # large_scan_concurrency of them, together at most large_scan_bytes, are parsed and
    # scanned at once (bounded memory; a message larger than the budget goes alone).
    spool_threshold_bytes: int = field(
        default=512 * 1024, metadata=_check(lambda v: v >= 64 * 1024, "must be >= 65536"))
    # 4 and 32 MiB (issue 17): with 2 and 24 MiB the 5 MB zip mix of bench/throughput waited
    # at the gate (b/a 0.47-0.55 against 0.72, the same CPU a message; peak RSS 129 -> 166 MB).
    # A 19 MB message still goes alone: the 20 x 20 MB memory bound is unchanged.
    large_scan_concurrency: int = field(
        default=4, metadata=_check(lambda v: 1 <= v <= 64, "must be 1..64"))
    large_scan_bytes: int = field(
        default=32 * MIB, metadata=_check(lambda v: v >= MIB, "must be >= 1 MiB"))
    # Large bodies stay in memory while they arrive as long as all of them together fit in
    # this many bytes; the next one goes to spool_dir (0 = always to disk; with scan
    # workers they always go to disk). 64 MiB (issue 17): on the 5 MB zip mix writing the
    # body to the file and reading it back was a tenth of the milter's CPU, and 20 x 19 MB
    # in flight peak at 194-206 MB with it (the bound is 300 MB).
    body_memory_bytes: int = field(
        default=64 * MIB, metadata=_check(lambda v: v >= 0, "must be >= 0 (0 = always spool)"))
    # Where those spooled bodies go ("" = the system temporary directory, $TMPDIR or /tmp).
    # Checked at start: it must exist and be writable. When it fills up, the message gets
    # a 452 (try again later) and the milter goes on.
    spool_dir: str = field(
        default="", metadata=_check(lambda v: v == "" or v.startswith("/"),
                                    "expected an absolute path, or \"\" for the system "
                                    "temporary directory"))
    # One budget per message (issue 14, detectors/budget.py): seconds of scan work (parse,
    # archives, detectors); the byte budget is max_expanded_bytes, counting everything a
    # decompressor produces. When one runs out: finding HUE-11.5/scan-budget (MEDIUM).
    time_budget_seconds: float = field(
        default=2.0, metadata=_check(lambda v: 0.1 <= v <= 60, "must be 0.1..60"))
    # Worker processes for the end-of-message scan of large (spooled) messages
    # (milter/pool.py): 0 = scan in the milter's own threads. Default: the cores left once
    # Postfix has its share (0 on a 2-core machine).
    workers: int = field(
        default_factory=lambda: default_scan_workers(os.cpu_count()),
        metadata=_check(lambda v: 0 <= v <= 64, "must be 0..64 (0 = no worker processes)"))


@dataclass(frozen=True)
class ClamavConfig:
    enabled: bool = False
    socket: str = field(
        default="unix:/run/clamav/clamd.ctl",
        metadata=_check(_is_socket_spec, "expected unix:/PATH or inet:PORT@HOST"))
    timeout_seconds: float = field(
        default=10.0, metadata=_check(lambda v: 0 < v <= 300, "must be > 0 and <= 300"))
    # While clamd is down or fails its EICAR probe: "tempfail" (451) or "tag" (deliver
    # with a header saying the message was not virus-scanned).
    on_failure: Literal["tempfail", "tag"] = "tempfail"
    probe_interval_seconds: int = field(
        default=300, metadata=_check(lambda v: 10 <= v <= 86400, "must be 10..86400"))


@dataclass(frozen=True)
class MonitorConfig:
    # The admin API, the security team's page and the Dovecot auth policy endpoint.
    listen: str = field(default="127.0.0.1:9817",
                        metadata=_check(lambda v: bool(v) and _is_listen(v), "expected HOST:PORT"))
    # One line per person or API client: NAME ROLE SECRET-HASH (see `congvu-guard
    # monitor-user add`); roles: viewer, operator, admin.
    users_file: str = field(
        default="/etc/congvu-guard/monitor-users",
        metadata=_check(lambda v: v.startswith("/"), "expected an absolute path"))
    # Session cookies carry the Secure flag (browsers accept it on https and on loopback).
    cookie_secure: bool = True
    # A page session ends session_ttl_seconds after login (absolute) and
    # session_idle_seconds after its last request (ASVS 3.3.2: 30 minutes of inactivity).
    session_ttl_seconds: int = field(
        default=8 * 3600, metadata=_check(lambda v: 60 <= v <= 7 * 86400, "must be 60..604800"))
    session_idle_seconds: int = field(
        default=30 * 60, metadata=_check(lambda v: 60 <= v <= 86400, "must be 60..86400"))
    # Dovecot auth_policy_server_api_header must send "X-API-Key: <this>" when set.
    dovecot_api_key: str = ""
    # BP-6.2d: more than failed_login_limit failures within the window lock the account.
    failed_login_limit: int = field(default=5, metadata=_check(lambda v: v >= 1, "must be >= 1"))
    failed_login_window_seconds: int = field(
        default=3600, metadata=_check(lambda v: v >= 60, "must be >= 60"))
    # "lock": lock the account (the regulation); "tarpit": only slow down the (account,
    # source IP) pair that guesses; "both".
    failed_login_mode: Literal["lock", "tarpit", "both"] = "lock"
    tarpit_seconds: int = field(default=15, metadata=_check(lambda v: 1 <= v <= 300,
                                                            "must be 1..300"))
    # Log files to follow for "authentication failed" lines (Postfix smtpd, Dovecot).
    log_files: tuple[str, ...] = ()
    # systemd units whose journal to follow the same way (journalctl -u), e.g. "postfix@-".
    journal_units: tuple[str, ...] = field(
        default=(), metadata=_check(lambda v: all(u and not u.startswith("-") for u in v),
                                    "expected unit names such as \"postfix@-\""))
    # HUE-13.2a: lock after this many days without a login; BP-5.3c: list for revocation.
    inactivity_days: int = field(default=180, metadata=_check(lambda v: v >= 1, "must be >= 1"))
    revocation_days: int = field(default=365, metadata=_check(lambda v: v >= 1, "must be >= 1"))
    inactivity_sweep_seconds: int = field(
        default=86400, metadata=_check(lambda v: v >= 60, "must be >= 60"))
    inactivity_dry_run: bool = False
    # Where released quarantined mail and replies to reporters are submitted (SMTP).
    smtp_relay: str = field(default="127.0.0.1:25",
                            metadata=_check(lambda v: bool(v) and _is_listen(v),
                                            "expected HOST:PORT"))
    # Tell the reporter the outcome of the triage by mail.
    reply_to_reporter: bool = False
    # --- issue 15 (monitor hardening) ---
    # Answer Dovecot's auth policy at /dovecot/policy. It needs dovecot_api_key (the monitor
    # refuses to start without one); setting the key alone also enables it.
    dovecot_policy: bool = False
    # BP-6.2d locks from failed logins lift themselves after this long (0 = until the
    # HUE-13.3 unlock, which is always available).
    failed_login_lock_seconds: int = field(
        default=3600, metadata=_check(lambda v: 0 <= v <= 365 * 86400, "must be 0..31536000"))
    # Extra accounts that exist (one login per line, e.g. `doveadm user '*'` output), beside
    # `congvu-guard inactivity import` and successful logins: only these can be locked by
    # failed logins; other names only slow down the source address.
    known_accounts_file: str = field(
        default="", metadata=_check(lambda v: v == "" or v.startswith("/"),
                                    "expected an absolute path or \"\""))
    # The page's login: after this many failures of one address or one name, each further
    # attempt waits 2, 4, 8... seconds, up to login_backoff_max_seconds.
    login_throttle_limit: int = field(default=5, metadata=_check(lambda v: 1 <= v <= 1000,
                                                                 "must be 1..1000"))
    login_backoff_max_seconds: int = field(
        default=900, metadata=_check(lambda v: 1 <= v <= 86400, "must be 1..86400"))
    # The province's own domains (beside [domains] official and public_providers): never
    # put on the IOC blocklist as domains.
    own_domains: tuple[str, ...] = field(
        default=(), metadata=_check(lambda v: all(is_valid_domain_pattern(p) for p in v),
                                    "each entry must be a domain or a *.domain pattern"))
    # Total bytes of reported/quarantined message bodies kept for release; the oldest go
    # first beyond it.
    report_raw_max_bytes: int = field(
        default=512 * MIB, metadata=_check(lambda v: v >= MIB, "must be >= 1048576"))
    # --- issue 21 (the security team's console) ---
    # The Grafana dashboard the page's overview links to ("" = no link).
    grafana_url: str = field(
        default="", metadata=_check(lambda v: v == "" or v.startswith(("https://", "http://")),
                                    "expected \"\" or an http(s):// URL"))
    # Rows per page of the page's lists (each list also offers 10, 20, 50 and 100).
    page_size: int = field(default=20, metadata=_check(lambda v: 5 <= v <= 200,
                                                       "must be 5..200"))

    def __post_init__(self) -> None:
        key = self.dovecot_api_key
        if self.dovecot_policy and not key:
            raise ConfigError("[monitor] dovecot_api_key: required when dovecot_policy = true "
                              "(Dovecot sends it as auth_policy_server_api_header X-API-Key)")
        if key and (len(key) < 12 or not key.isascii() or not key.isprintable()
                    or " " in key):
            raise ConfigError("[monitor] dovecot_api_key: expected at least 12 printable "
                              "ASCII characters without spaces")

    @property
    def dovecot_policy_enabled(self) -> bool:
        return self.dovecot_policy or bool(self.dovecot_api_key)


@dataclass(frozen=True)
class MetricsConfig:
    listen: str = field(
        default="127.0.0.1:9816",
        metadata=_check(_is_listen, "expected HOST:PORT (\"\" disables the metrics endpoint)"),
    )


SecretAction = Literal["hold", "reject", "tag", "accept"]


@dataclass(frozen=True)
class SecretConfig:
    """HUE-11.2 classified documents (congvu_guard.detectors.secret)."""

    # The unit's security officer: held mail goes there (not to the report box). "" = held
    # mail is rejected instead, never delivered.
    officer: str = field(
        default="",
        metadata=_check(lambda v: v == "" or is_valid_address(v),
                        "expected a mail address such as baomat@thuathienhue.gov.vn"),
    )
    # What a classification mark does, per direction: hold (deliver to the officer only),
    # reject (550 to the sender), tag (deliver, marked) or accept.
    outbound: SecretAction = "hold"
    inbound: SecretAction = "hold"
    # The monitor tells the sender (our users only) that the message was held.
    notify_sender: bool = True
    # OCR of the top of page 1 of image-only PDFs in outbound mail (tesseract-ocr and
    # tesseract-ocr-vie must be installed; checked at start), within ocr_seconds a message.
    ocr: bool = False
    # 3 s: a page top takes 0.35-0.45 s on an idle 2-core machine and 0.7-0.85 s on the
    # same machine when slow; 1 s was spent on a fresh CI machine's first scan.
    ocr_seconds: float = field(default=3.0, metadata=_check(
        lambda v: 0 < v <= 30, "expected seconds between 0 and 30"))


@dataclass(frozen=True)
class LoggingConfig:
    level: Literal["debug", "info", "warning", "error"] = "info"


def _is_key_file_spec(s: str) -> bool:
    name, _, path = s.partition("=")
    return "._domainkey." in name and path.startswith("/")


def split_nameserver(s: str) -> tuple[str, int] | None:
    """``"127.0.0.1:5353"``, ``"10.0.0.2"``, ``"::1"`` or ``"[::1]:53"`` as (address, port)."""
    host, port = s, "53"
    if s.startswith("["):
        host, _, rest = s[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif s.count(":") == 1:
        host, _, port = s.partition(":")
    if not (port.isdigit() and 0 < int(port) < 65536):
        return None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return host, int(port)


@dataclass(frozen=True)
class OriginConfig:
    # HUE-11.11 (origin): SPF, DKIM and DMARC of mail from outside (DNS lookups). The
    # own-domain DKIM check runs whenever [domains] own is set, whatever this says.
    authentication: bool = False
    # "SELECTOR._domainkey.DOMAIN=/PATH": the DKIM public key record of an own domain read
    # from a file (the TXT record text, or opendkim-genkey's SELECTOR.txt), not from DNS.
    dkim_key_files: tuple[str, ...] = field(
        default=(), metadata=_check(lambda v: all(_is_key_file_spec(x) for x in v),
                                    "expected SELECTOR._domainkey.DOMAIN=/ABSOLUTE/PATH entries"))
    # Names of the province's leaders: a display name naming one on an address outside the
    # official domains is impersonation (with or without diacritics), e.g. ["Nguyen Van A"].
    leader_names: tuple[str, ...] = ()
    # The authserv-id of the Authentication-Results header ("" = this host's name).
    authserv_id: str = field(
        default="", metadata=_check(lambda v: v.isascii() and " " not in v,
                                    "expected a host name without spaces"))


@dataclass(frozen=True)
class DnsConfig:
    # Resolvers for SPF, DKIM and DMARC lookups, "IP" or "IP:PORT"; [] = /etc/resolv.conf.
    nameservers: tuple[str, ...] = field(
        default=(), metadata=_check(lambda v: all(split_nameserver(x) for x in v),
                                    "each entry must be IP or IP:PORT, e.g. 127.0.0.1:53"))
    # Total DNS time per message; past it the result is temperror (tag, never reject).
    budget_seconds: float = field(
        default=2.0, metadata=_check(lambda v: 0 < v <= 30, "must be > 0 and <= 30"))
    # Answers kept in memory (LRU, each for its TTL).
    cache_entries: int = field(
        default=10000, metadata=_check(lambda v: 0 <= v <= 1_000_000, "must be 0..1000000"))


@dataclass(frozen=True)
class Config:
    milter: MilterConfig = field(default_factory=MilterConfig)
    redis: RedisConfig = field(default_factory=RedisConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    domains: DomainsConfig = field(default_factory=DomainsConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    hops: HopsConfig = field(default_factory=HopsConfig)
    ratelimit: RateLimitConfig = field(default_factory=RateLimitConfig)
    scan: ScanConfig = field(default_factory=ScanConfig)
    clamav: ClamavConfig = field(default_factory=ClamavConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    forwarding: ForwardingConfig = field(default_factory=ForwardingConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    secret: SecretConfig = field(default_factory=SecretConfig)
    origin: OriginConfig = field(default_factory=OriginConfig)
    dns: DnsConfig = field(default_factory=DnsConfig)
    # rule ID -> action, overriding the action a detector proposes (e.g. "CG-MIME" = "accept").
    actions: Mapping[str, Action] = field(default_factory=dict)
    # HUE-13.2d registered bulk senders: account -> own message limit (-1 = no limit).
    bulk_senders: Mapping[str, int] = field(default_factory=dict)
    # Scanning findings: direction ("inbound" or "outbound") -> rule ID or severity -> action.
    policy: Mapping[str, Mapping[str, Action]] = field(default_factory=lambda: DEFAULT_POLICY)
    source: str = "(built-in defaults)"


_SECTIONS: dict[str, type] = {
    name: tp
    for name, tp in typing.get_type_hints(Config).items()
    if name not in ("actions", "bulk_senders", "policy", "source")
}


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(f'"{a}"' for a in typing.get_args(tp))
    if origin is tuple:
        return "a list of strings"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        tp, str(tp)
    )


def _convert(key: str, tp: Any, value: Any) -> Any:
    """Check one value against its declared type, returning the typed value."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
    elif origin is tuple:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(value, tp):
        return value
    raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")


def _load_section(name: str, cls: type, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"[{name}]: expected a table, got {raw!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        label = f"[{name}] {key}"
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"{label}: unknown key (known keys: {known})")
        typed = _convert(label, hints[key], value)
        check = fields[key].metadata.get("check")
        if check is not None:
            pred, message = check
            if not pred(typed):
                raise ConfigError(f"{label}: {message}, got {value!r}")
        values[key] = typed
    return cls(**values)


def _load_actions(raw: Any, section: str = "actions") -> dict[str, Action]:
    if not isinstance(raw, dict):
        raise ConfigError(f"[{section}]: expected a table of KEY = \"action\", got {raw!r}")
    out: dict[str, Action] = {}
    names = ", ".join(a.value for a in Action if a is not Action.TEMPFAIL)
    for rule, value in raw.items():
        try:
            action = Action(value) if isinstance(value, str) else None
        except ValueError:
            action = None
        if action is None or action is Action.TEMPFAIL:
            raise ConfigError(f"[{section}] {rule}: expected one of {names}, got {value!r}")
        out[rule] = action
    return out


def _load_bulk_senders(raw: Any) -> dict[str, int]:
    if not isinstance(raw, dict):
        raise ConfigError(f"[bulk_senders]: expected a table of ACCOUNT = limit, got {raw!r}")
    out: dict[str, int] = {}
    for account, value in raw.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < -1:
            raise ConfigError(f"[bulk_senders] {account}: expected a message limit "
                              f"(-1 = no limit), got {value!r}")
        out[account.strip().lower()] = value
    return out


SEVERITY_NAMES = ("critical", "high", "medium", "low", "info")
_DEFAULT_BY_SEVERITY = {"critical": Action.REJECT, "high": Action.REJECT,
                        "medium": Action.QUARANTINE, "low": Action.TAG, "info": Action.TAG}
DEFAULT_POLICY: Mapping[str, Mapping[str, Action]] = types.MappingProxyType({
    "inbound": types.MappingProxyType(dict(_DEFAULT_BY_SEVERITY)),
    "outbound": types.MappingProxyType(dict(_DEFAULT_BY_SEVERITY)),
})


def _load_policy(raw: Any) -> Mapping[str, Mapping[str, Action]]:
    if not isinstance(raw, dict):
        raise ConfigError(f"[policy]: expected [policy.inbound] and [policy.outbound] tables, "
                          f"got {raw!r}")
    out = {k: dict(v) for k, v in DEFAULT_POLICY.items()}
    for direction, table in raw.items():
        if direction not in out:
            raise ConfigError(f"[policy.{direction}]: unknown direction (inbound, outbound)")
        if not isinstance(table, dict):
            raise ConfigError(f"[policy.{direction}]: expected a table, got {table!r}")
        for key, action in _load_actions(table, f"policy.{direction}").items():
            out[direction][key] = action
    return types.MappingProxyType({k: types.MappingProxyType(v) for k, v in out.items()})


def from_mapping(data: Mapping[str, Any], source: str = "(mapping)") -> Config:
    """Build a Config from an already parsed TOML document."""
    kwargs: dict[str, Any] = {"source": source}
    for name, raw in data.items():
        if name == "actions":
            kwargs["actions"] = types.MappingProxyType(_load_actions(raw))
        elif name == "bulk_senders":
            kwargs["bulk_senders"] = types.MappingProxyType(_load_bulk_senders(raw))
        elif name == "policy":
            kwargs["policy"] = _load_policy(raw)
        elif name in _SECTIONS:
            kwargs[name] = _load_section(name, _SECTIONS[name], raw)
        else:
            known = ", ".join(sorted([*_SECTIONS, "actions", "bulk_senders", "policy"]))
            raise ConfigError(f"[{name}]: unknown section (known sections: {known})")
    return Config(**kwargs)


def load(path: str | Path) -> Config:
    """Read and validate a configuration file. Raises ConfigError with a clear message."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8")
    except OSError as e:
        raise ConfigError(f"{p}: cannot read configuration file: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: configuration file is not UTF-8: {e}") from e
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from e
    try:
        return from_mapping(data, source=str(p))
    except ConfigError as e:
        raise ConfigError(f"{p}: {e}") from e


def load_or_default(path: str | Path | None) -> Config:
    return Config() if path is None else load(path)
