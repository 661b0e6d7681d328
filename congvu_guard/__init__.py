"""congvu-guard: Postfix milter and abuse monitor for official (cong vu) mail systems."""

__version__ = "0.1.0"
