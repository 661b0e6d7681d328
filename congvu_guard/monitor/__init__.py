"""Abuse monitor (aiohttp): admin API and page, failed-login and inactivity locks, report
triage (BP-6.2d, HUE-13.2a, HUE-13.3, HUE-11.11). Built in issue 6."""
