"""Rate-limit counters every web process shares, for the limits that must hold exactly.

Flask-Limiter counts in one store per app; ``crm.extensions.CrmLimiter`` picks two: the
hottest public endpoints (the tracking pixel, click and page-view limits, generous flood
guards) always count in process memory, and every other limit (sign-in, API, failed API
authentication, booking, unsubscribe...) counts in a store all processes share when there is
one: Redis when ``RATELIMIT_STORAGE_URI`` names it, otherwise the app's database
(``DatabaseStorage`` here, table ``rate_limit_counters``), automatically on PostgreSQL and with
``RATELIMIT_STORAGE_URI=crm-database://`` on SQLite. Only a single process on SQLite keeps
them all in memory, which is exact there.

Infrastructure, not a feature: it offers no services; ``crm.extensions`` (the limiter) is its
only caller, and no feature imports it.
"""
