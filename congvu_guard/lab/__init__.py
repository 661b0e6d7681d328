"""Throwaway servers on loopback (Postfix, Redis, the milter) for tests, bench and demos."""
