"""Meetings: booking links.

Owns: meeting types (``MeetingType``, team members), booked meetings (``Meeting``) and the
rep's calendar lock, availability (``availability.py``), external calendars (``calendars.py``),
iCalendar invites (``invites.py``) and the signed links (``tokens.py``).

Offers (``crm.meetings.services``): meeting types, slots, atomic ``book``, cancel and
reschedule, ``lock_hosts``, ``meetings_between`` (the rep's meetings for other features) and
``meeting_link_for`` (the rep's booking link). Input models in ``crm.meetings.inputs``. Sends
``crm.signals.meeting_booked``; asks for busy time through ``crm.signals.busy_time_requested``.

Called by: its pages, API (public booking and the rep's routes), jobs and demo; calls (the
calendar, the ICS feed, blocks over meetings) and sequences (``{{ meeting_link }}``).
"""
