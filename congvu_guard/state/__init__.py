"""Everything congvu-guard keeps in Redis, in one package (issue 20).

- :mod:`.keys`: the one registry of key names, prefixes, streams and channels (owner, type
  and lifetime of each).
- :mod:`.client`: :class:`~.client.RedisClient`, the typed protocol of the redis-py
  commands used, and ``connect`` (standalone, Cluster, Sentinel).
- :mod:`.embedded`: the local redis-server and ``open_redis``, the one "``[redis] url``,
  else the embedded Redis" used by the milter, the monitor and the locks CLI.
- Repositories, each owning its keys and side effects: :mod:`.locks` (locks, and
  ``LockChanges``: the hooks and exports after every lock change), :mod:`.audit` (the
  audit trail), :mod:`.bulk` (bulk senders), :mod:`.window` (the limiter's Lua window),
  :mod:`.reports` (the report stream, its consumer group and the stored reports),
  :mod:`.report_bodies` (their message bodies), :mod:`.campaigns` (campaigns of the report
  box), :mod:`.stamp_key` (the shared origin-stamp key), :mod:`.sessions` (the monitor's
  page sessions), :mod:`.throttle` (the page's login throttle), :mod:`.logins` (failed-login
  counters), :mod:`.accounts` (known accounts, last logins), :mod:`.ioc` (IOC lists),
  :mod:`.daystats` (day counters), :mod:`.top` (top senders and forwarders),
  :mod:`.local_copy` (pub/sub local copies).

No module outside this package sends a Redis command (``tests/test_state_layer.py``): the
milter (through ``store.py``), the monitor and the CLIs call these repositories, which keep
the policies out (what a count means, when to lock, how to triage stays with the caller).
"""
