"""Send-rate limits and account locks shared across mail servers (HUE-13.2d, HUE-13.3).

Built in issue 4; its Redis state (locks, audit trail, bulk senders, key names) lives in
:mod:`congvu_guard.state`.
"""
