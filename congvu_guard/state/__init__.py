"""Everything congvu-guard keeps in Redis, in one package (issue 20).

- :mod:`.keys`: the one registry of key names, prefixes, streams and channels.
- :mod:`.client`: the typed client protocol (the subset of redis-py used) and ``connect``.
- :mod:`.embedded`: the local redis-server, and :func:`.embedded.open_redis`, the one
  "``[redis] url``, else start an embedded Redis" used by the milter, monitor and CLI.
- The repositories, each owning its keys and side effects: :mod:`.locks` (locks, the
  audit trail, the "after a lock change" hooks and exports), :mod:`.reports` (the report
  stream and stored reports), :mod:`.sessions` (the monitor's page sessions) and
  :mod:`.stamp_key` (the shared origin-stamp key).

Modules outside this package take names from :mod:`.keys` and speak to Redis through a
repository; the monitor's own stores (``monitor/``) are repositories of their own keys.
"""
