"""Every Redis key, key prefix, stream and channel congvu-guard uses: the one registry.

Each name has one line: the module of this package that owns it (writes it), the Redis
type, and how long it lives. Other modules read names from here and never spell
``congvu:`` themselves (``tests/test_state_keys.py`` fails on a literal elsewhere in the
package).

Keys of one account carry the account as a hash tag (``congvu:{account}:…``): the
limiter's Lua script and the multi-key deletes of an unlock then touch one Redis Cluster
slot. The other names are single keys, each in a slot of its own.
"""

from __future__ import annotations

import datetime as dt

PREFIX = "congvu:"  # every name below starts with it

# -- one account (hash tag {account}: one Cluster slot) -------------------------------------
ACCOUNT_PREFIX = "congvu:{"  # family: congvu:{account}:msgs|rcpts|lock|bulk|fails|tarpit:IP

# -- rate limit and locks (HUE-13.2c/d, HUE-13.3) -------------------------------------------
# locks; set of locked accounts; no TTL, expired members pruned on read
LOCK_INDEX = "congvu:locks"
BULK_INDEX = "congvu:bulk-senders"  # bulk; hash account -> JSON limits; no TTL
# audit; stream of lock/unlock/hook/bulk events; [ratelimit] audit_retention_days
AUDIT_STREAM = "congvu:audit"
# audit; stream of failed page logins; capped at audit.UNAUTH_MAXLEN entries
AUDIT_UNAUTH_STREAM = "congvu:audit-unauth"

# -- shared by every mail server ------------------------------------------------------------
# stamp_key; string, 32 random bytes set once (SET NX); no TTL
STAMP_KEY = "congvu:stamp-key"
# local_copy; hash copy name -> version, bumped by every writer; no TTL
VERSIONS = "congvu:versions"
# local_copy; pub/sub channel (not a key): the name of the set that changed
CHANGED_CHANNEL = "congvu:changed"
# ioc; family congvu:ioc:KIND (hash indicator -> note); no TTL
IOC_PREFIX = "congvu:ioc:"
# daystats; family congvu:day:YYYYMMDD (hash action -> count); daystats.KEEP_DAYS
DAY_PREFIX = "congvu:day:"
# top.Publisher; hash milter host -> JSON counts; stale entries ignored on read
TOP_SENDERS = "congvu:top-senders"
# top.Publisher; family congvu:top-forwarders:YYYY-MM-DD (zset); top.FORWARDER_DAYS
TOP_FORWARDERS_PREFIX = "congvu:top-forwarders:"

# -- reports (HUE-11.11): milter -> monitor -------------------------------------------------
# reports.append_report; stream, the monitor reads it as a group; MAXLEN ~REPORT_STREAM_MAXLEN
REPORT_STREAM = "congvu:reports"
REPORT_INDEX = "congvu:reports-index"  # reports; zset report id -> time; no TTL
# reports; family congvu:report:ID (hash, the report); no TTL
REPORT_PREFIX = "congvu:report:"
# report_bodies; family congvu:report-raw:ID (string body); report_bodies.RETENTION
REPORT_RAW_PREFIX = "congvu:report-raw:"
# report_bodies; zset report id -> time stored; pruned with the bodies
REPORT_RAW_ORDER = "congvu:report-raw-order"
# report_bodies; hash report id -> bytes; pruned with the bodies
REPORT_RAW_SIZES = "congvu:report-raw-sizes"
# report_bodies; string, bytes of the stored bodies; no TTL
REPORT_RAW_TOTAL = "congvu:report-raw-bytes"
# campaigns; family congvu:campaign:ID (hash) and :ID:reports, :ID:indicators (sets); no TTL
CAMPAIGN_PREFIX = "congvu:campaign:"
# campaigns; hash strong indicator -> campaign id; no TTL
CAMPAIGN_BY = "congvu:campaign-by"
CAMPAIGNS_OPEN = "congvu:campaigns-open"  # campaigns; set of open campaign ids; no TTL

# -- the monitor's logins, sessions and accounts --------------------------------------------
# sessions; family congvu:session:SID (hash); [monitor] session_ttl_seconds
SESSION_PREFIX = "congvu:session:"
# throttle; family ...:ip:ADDR, ...:name:HASH (hash); max(1 h, 2x max backoff)
LOGIN_THROTTLE_PREFIX = "congvu:login-throttle:"
# logins; family congvu:login-unknown:ADDR (counter); failed_login_window_seconds
LOGIN_UNKNOWN_PREFIX = "congvu:login-unknown:"
# accounts; hash account -> unix time of the last login; no TTL
LAST_LOGIN = "congvu:last-login"
# accounts; hash account -> time it became known; no TTL
KNOWN_ACCOUNTS = "congvu:accounts"
# accounts; string, accounts due for revocation; no TTL
REVOCATION_DUE = "congvu:revocation-due"


def normalize(account: str) -> str:
    """Accounts compare case-insensitively; braces would break the hash tag."""
    return account.strip().lower().replace("{", "(").replace("}", ")")


def _tag(account: str) -> str:
    return f"{ACCOUNT_PREFIX}{normalize(account)}}}"


def messages(account: str) -> str:
    """window (Lua); zset of the account's messages; PEXPIRE = the window."""
    return f"{_tag(account)}:msgs"


def recipients(account: str) -> str:
    """window (Lua); zset of the account's recipients; PEXPIRE = the window."""
    return f"{_tag(account)}:rcpts"


def lock(account: str) -> str:
    """locks / window (Lua); hash, the lock; optional expiry ([ratelimit])."""
    return f"{_tag(account)}:lock"


def bulk(account: str) -> str:
    """bulk; string, the account's own limit (read by the Lua script); no TTL."""
    return f"{_tag(account)}:bulk"


def login_fails(account: str) -> str:
    """logins; zset of failed logins; failed_login_window_seconds."""
    return f"{_tag(account)}:fails"


def login_tarpit(account: str, remote: str) -> str:
    """logins; counter per account and address; failed_login_window_seconds."""
    return f"{_tag(account)}:tarpit:{remote}"


def login_unknown(remote: str) -> str:
    return f"{LOGIN_UNKNOWN_PREFIX}{remote or '-'}"


def login_throttle_ip(remote: str) -> str:
    return f"{LOGIN_THROTTLE_PREFIX}ip:{remote or '-'}"


def login_throttle_name(digest: str) -> str:
    return f"{LOGIN_THROTTLE_PREFIX}name:{digest}"


def ioc(kind: str) -> str:
    return f"{IOC_PREFIX}{kind}"


def day(when: dt.date) -> str:
    return f"{DAY_PREFIX}{when:%Y%m%d}"


def top_forwarders(day_text: str) -> str:
    """``day_text``: the UTC day as YYYY-MM-DD."""
    return f"{TOP_FORWARDERS_PREFIX}{day_text}"


def session(sid: str) -> str:
    return f"{SESSION_PREFIX}{sid}"


def report(rid: str) -> str:
    return f"{REPORT_PREFIX}{rid}"


def report_raw(rid: str) -> str:
    return f"{REPORT_RAW_PREFIX}{rid}"


def campaign(cid: str) -> str:
    return f"{CAMPAIGN_PREFIX}{cid}"


def campaign_reports(cid: str) -> str:
    return f"{CAMPAIGN_PREFIX}{cid}:reports"


def campaign_indicators(cid: str) -> str:
    return f"{CAMPAIGN_PREFIX}{cid}:indicators"


def registered() -> dict[str, str]:
    """Every fixed name and family prefix above (constant name -> value), for the tests
    that keep the registry free of duplicates and of names that fall inside a family."""
    return {k: v for k, v in globals().items()
            if k.isupper() and isinstance(v, str) and k != "PREFIX"}
