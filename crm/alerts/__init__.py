"""Alerts: in-app notices to one user (a hot lead reading their email now, a reply, a booking),
delivered by short polling (the badge and the alerts page, ``GET /api/v1/alerts``).

Owns: the ``alerts`` table (``models.py``).
Offers (``services.py``): ``notify`` (a new alert for a user; never commits) and what the pages
and the API read (``alerts_after``, ``unread_count``, ``list_alerts``, ``mark_read``...).
Called by: tracking (hot leads), mail's inbound processing (replies), meetings (bookings).
"""
