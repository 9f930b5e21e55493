"""Calls: the rep's day.

Owns: prospecting time blocks (``TimeBlock``) and the secret ICS feed, the daily call queue
(``CallQueueEntry``, built by the morning job or "Start calling"), call logging with callbacks
and follow-ups (``CallTask``), call scripts, recordings, plan versus actual, ``CallSettings``.

Offers (``crm.calls.services``): blocks (``create_block``, ``busy_intervals``...), the queue
(``build_queue``, ``queue_entries``...), ``log_call``, settings and the
feed; ``connect_signals`` answers meetings' ``busy_time_requested`` with the rep's blocks.

Called by: its pages, API, jobs and demo; meetings' booking (through the signal). It calls
meetings (``meetings_between``, ``lock_hosts``), contacts (``record_activity``), sequences
(due call tasks), scoring (scores) and tracking (live intent) through their services.
"""
