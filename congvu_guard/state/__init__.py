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
  :mod:`.reports` (the report stream), :mod:`.stamp_key` (the shared origin-stamp key),
  :mod:`.sessions` (the monitor's page sessions), :mod:`.daystats` (day counters),
  :mod:`.top` (top senders and forwarders), :mod:`.local_copy` (pub/sub local copies).

Outside this package, Redis is spoken directly only by the monitor's own stores
(``monitor/reports.py``, ``rawstore.py``, ``campaigns.py``, ``logins.py``, ``throttle.py``,
``inactivity.py``, ``console_data.py``) and by ``detectors/ioc.py`` (its ``IocStore``, to
move with the detectors' restructuring); all of them take names from :mod:`.keys`.
"""
