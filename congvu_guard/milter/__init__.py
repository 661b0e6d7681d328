"""The Postfix milter: a thin adapter from libmilter callbacks to the policy engine.

Named ``congvu_guard.milter`` because pymilter owns the top-level import name ``milter``.
"""
