"""Throwaway servers used only by the tests and bench/ (clamd, Dovecot, a Redis Cluster,
rspamd). Not shipped: the wheel holds only ``congvu_guard``, whose ``lab`` keeps what
``congvu-guard demo`` needs (Postfix). Issue 20."""
