"""Lead scoring: a 0-100 score per contact blending decaying engagement (human opens, clicks,
page views, replies, bookings), fit (title, company size, industry rules) and an optional
predictive model, each with the reasons behind it.

Owns: ``contact_scores``, ``score_events``, the rules, settings and trained models
(``models.py``); the arithmetic and the score store (``scores.py``), explanations
(``explain.py``), the model (``predictive.py``, ``history.py``).
Offers (``services.py``): ``record_event`` (a human event, O(1)), ``score_summaries`` and
``top_scored_contacts`` (scores as other features show them), and the pages' and API's services.
Called by: tracking, mail (replies) and meetings (bookings) through ``record_event``; calls'
queue and work page, and the alerts demo, through the summaries. Jobs: ``jobs.py`` (fit and
prediction refresh, recompute after a rule change), ``background.py`` (the admin's recompute
and train buttons).
"""
