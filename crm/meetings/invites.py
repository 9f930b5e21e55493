"""Calendar invites: an iCalendar object (``icalendar``) per change, mailed to the guest and to
the host with a ``text/calendar; method=...`` part next to a plain-text body carrying the signed
manage links. Queued in the mail outbox (``queue_invites``) by the service that books, moves or
cancels the meeting, in its transaction: the request never talks SMTP, the invite exists
exactly when the change is committed, and the send tick delivers and retries it like any email.

One UID per meeting (``Meeting.uid``) in every invite and in the rep's calendar feed, so a
CANCEL removes the very event its REQUEST created and a rep who both accepts invites and
subscribes to the feed sees the meeting once; SEQUENCE rises with each move and the cancel."""
from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import icalendar
from flask import current_app

from crm.contacts.models import Contact
from crm.extensions import db
from crm.mail.services import enqueue_invite
from crm.meetings.models import Meeting
from crm.meetings.tokens import manage_token

log = logging.getLogger(__name__)

PRODID = "-//Prospect CRM//Meetings//EN"


def manage_url(meeting: Meeting) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/meet/m/{manage_token(meeting)}"


def location_text(meeting: Meeting) -> str:
    return meeting.location_value or {"phone": "Phone call", "video": "Video call"}.get(meeting.location_kind, "")


def build_calendar(meeting: Meeting, method: str, now: datetime) -> icalendar.Calendar:
    """METHOD:REQUEST for a booking or a move (same UID, higher SEQUENCE), METHOD:CANCEL for a
    cancellation. Times are UTC (``...Z``) so no client has to know the rep's zone rules."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    event = icalendar.Event()
    event.add("uid", meeting.uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", now.astimezone(ZoneInfo("UTC")))
    event.add("dtstart", meeting.start_at.astimezone(ZoneInfo("UTC")))
    event.add("dtend", meeting.end_at.astimezone(ZoneInfo("UTC")))
    event.add("summary", meeting.title)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    if location_text(meeting):
        event.add("location", location_text(meeting))
    event.add("description", f"Manage this meeting: {manage_url(meeting)}")
    organizer = icalendar.vCalAddress(f"mailto:{meeting.host.email}")
    organizer.params["cn"] = icalendar.vText(meeting.host.name)
    event.add("organizer", organizer)
    for address, name, status in ((meeting.guest_email, meeting.guest_name, "ACCEPTED"),
                                  (meeting.host.email, meeting.host.name, "ACCEPTED")):
        attendee = icalendar.vCalAddress(f"mailto:{address}")
        attendee.params["cn"] = icalendar.vText(name)
        attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = icalendar.vText(status)
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    return calendar


def _when(meeting: Meeting, zone_name: str) -> str:
    zone = ZoneInfo(zone_name or "UTC")
    start, end = meeting.start_at.astimezone(zone), meeting.end_at.astimezone(zone)
    return f"{start:%A %d %B %Y, %H:%M}–{end:%H:%M} ({zone_name})"


def invite_text(meeting: Meeting, method: str, *, to_guest: bool, rescheduled: bool = False) -> tuple[str, str]:
    """(subject, plain text) of one invite: times in the reader's zone, the guest's answers
    for the host, the manage links while the meeting stands."""
    kind = "Cancelled" if method == "CANCEL" else ("Updated" if rescheduled else "Invitation")
    zone = meeting.guest_time_zone if to_guest else (meeting.host.time_zone or "UTC")
    link = manage_url(meeting)
    lines = [f"{kind}: {meeting.title}", "", f"When: {_when(meeting, zone)}"]
    if location_text(meeting):
        lines.append(f"Where: {location_text(meeting)}")
    if method != "CANCEL":
        lines += ["", f"Reschedule: {link}/reschedule", f"Cancel: {link}"]
    if not to_guest and meeting.answers:
        # By the question's label ("Which plant?"), not its key ("q1"); a deleted question keeps its key.
        labels = {q.get("key"): q.get("label") or q.get("key")
                  for q in ((meeting.meeting_type.questions or []) if meeting.meeting_type else [])}
        lines += ["", "Answers:"] + [f"- {labels.get(key, key)}: {value}" for key, value in meeting.answers.items()]
    return f"{kind}: {meeting.title}", "\n".join(lines) + "\n"


def queue_invites(meeting: Meeting, method: str, now: datetime, *, rescheduled: bool = False) -> list[int]:
    """Queue the invite to the guest and to the host, from the host's mailbox, in the caller's
    transaction. Returns the outbox ids. Flushes."""
    ics = build_calendar(meeting, method, now).to_ical().decode("utf-8")
    guest_contact = db.session.get(Contact, meeting.contact_id) if meeting.contact_id else None
    ids = []
    for to_guest, address, contact in ((True, meeting.guest_email, guest_contact),
                                       (False, meeting.host.email, None)):
        subject, text = invite_text(meeting, method, to_guest=to_guest, rescheduled=rescheduled)
        email = enqueue_invite(sender=meeting.host, contact=contact, to_address=address, subject=subject,
                               text_body=text, calendar_ics=ics, method=method, now=now)
        ids.append(email.id)
    return ids
