"""Send-rate limits and account locks shared across mail servers (HUE-13.2d, HUE-13.3).

Built in issue 4; the Redis access it needs goes through :mod:`congvu_guard.store`.
"""
