"""Tracking: email opens and clicks, website page views and forms, and a verdict on every event
(human, scanner, proxy, duplicate...; ``verdicts.py``) so machines never count as interest.

Owns: tracking links, the intake queue, events, visitors, tracked origins and IP ranges
(``models.py``); the public endpoints (``public_views.py``, blueprint ``tracking_public``), the
intake (``inbox.py``), storing an event and what a human one sets off (``events.py``).
Offers (``services.py``): ``instrument_html`` / ``insert_links`` (mail's outbound path) and
``recent_human_intent`` (calls' queue).
Calls: scoring (``record_event``), alerts (``notify``), contacts (timeline, form-captured
contacts). Never imports mail: what it needs of an email comes through the signals in
``crm/signals.py`` (``tracked_email_requested``, ``email_engaged``...), answered by
``crm.mail.engagement``.
"""
