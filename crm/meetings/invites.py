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
from flask import current_app, has_request_context

from crm.contacts.models import Contact
from crm.extensions import db
from crm.i18n import _, force_language, language_for_contact, select_format_locale
from crm.mail.services import enqueue_invite
from crm.meetings.models import Meeting
from crm.meetings.tokens import manage_token
from crm.web.formatting import format_clock, format_when

log = logging.getLogger(__name__)

PRODID = "-//Prospect CRM//Meetings//EN"


def manage_url(meeting: Meeting) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/meet/m/{manage_token(meeting)}"


def location_text(meeting: Meeting) -> str:
    return meeting.location_value or {"phone": _("Phone call"), "video": _("Video call")}.get(meeting.location_kind, "")


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
    """"Monday, December 7, 2026, 9:00 AM–9:30 AM (America/Monterrey)" in the language being
    rendered ("lunes, 7 de diciembre de 2026, 9:00 a.m.–9:30 a.m. ...")."""
    zone = ZoneInfo(zone_name or "UTC")
    start = format_when(meeting.start_at, "full", zone=zone)
    return f"{start}–{format_clock(meeting.end_at, zone)} ({zone_name})"


def invite_text(meeting: Meeting, method: str, *, to_guest: bool, rescheduled: bool = False,
                language: str | None = None) -> tuple[str, str]:
    """(subject, plain text) of one invite, in the reader's ``language`` (the guest's contact's,
    else the booking page's; the host's own): times in the reader's zone, the guest's answers
    for the host, the manage links while the meeting stands."""
    with force_language(language):
        return _invite_text(meeting, method, to_guest=to_guest, rescheduled=rescheduled)


def _invite_text(meeting: Meeting, method: str, *, to_guest: bool, rescheduled: bool) -> tuple[str, str]:
    if method == "CANCEL":
        subject = _("Cancelled: %(title)s", title=meeting.title)
    elif rescheduled:
        subject = _("Updated: %(title)s", title=meeting.title)
    else:
        subject = _("Invitation: %(title)s", title=meeting.title)
    zone = meeting.guest_time_zone if to_guest else (meeting.host.time_zone or "UTC")
    link = manage_url(meeting)
    lines = [subject, "", _("When: %(when)s", when=_when(meeting, zone))]
    if location_text(meeting):
        lines.append(_("Where: %(where)s", where=location_text(meeting)))
    if method != "CANCEL":
        lines += ["", _("Reschedule: %(url)s", url=f"{link}/reschedule"), _("Cancel: %(url)s", url=link)]
    if not to_guest and meeting.answers:
        # By the question's label ("Which plant?"), not its key ("q1"); a deleted question keeps its key.
        labels = {q.get("key"): q.get("label") or q.get("key")
                  for q in ((meeting.meeting_type.questions or []) if meeting.meeting_type else [])}
        lines += ["", _("Answers:")] + [f"- {labels.get(key, key)}: {value}" for key, value in meeting.answers.items()]
    return subject, "\n".join(lines) + "\n"


def guest_language(contact: Contact | None, host) -> str:
    """The guest's language: their contact's, else the page they booked on (the visitor's
    Accept-Language or switcher), else the host's."""
    if contact is not None and contact.language:
        return language_for_contact(contact)
    if has_request_context():
        return select_format_locale()
    return getattr(host, "language", None) or "en"


def queue_invites(meeting: Meeting, method: str, now: datetime, *, rescheduled: bool = False) -> list[int]:
    """Queue the invite to the guest and to the host, from the host's mailbox, in the caller's
    transaction. Returns the outbox ids. Flushes."""
    ics = build_calendar(meeting, method, now).to_ical().decode("utf-8")
    guest_contact = db.session.get(Contact, meeting.contact_id) if meeting.contact_id else None
    ids = []
    for to_guest, address, contact in ((True, meeting.guest_email, guest_contact),
                                       (False, meeting.host.email, None)):
        language = guest_language(contact, meeting.host) if to_guest else meeting.host.language
        subject, text = invite_text(meeting, method, to_guest=to_guest, rescheduled=rescheduled, language=language)
        email = enqueue_invite(sender=meeting.host, contact=contact, to_address=address, subject=subject,
                               text_body=text, calendar_ics=ics, method=method, now=now)
        ids.append(email.id)
    return ids
