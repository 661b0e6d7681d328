"""Throwaway servers on loopback for ``congvu-guard demo`` (and the tests and bench): Postfix.
Servers only the tests and bench/ use live in ``tests/lab`` and are not shipped."""
