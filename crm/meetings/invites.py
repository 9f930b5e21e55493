"""Calendar invites: an iCalendar object (``icalendar``) per change, mailed to the guest and to
the host with a ``text/calendar; method=...`` part next to a plain-text body carrying the signed
manage links. Sent after the booking is committed: a mail failure is logged, never undoes it."""
from __future__ import annotations

import logging
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

import icalendar
from flask import current_app

from crm.mail.services import send_message
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


def build_message(meeting: Meeting, method: str, now: datetime, *, to_guest: bool,
                  rescheduled: bool = False) -> EmailMessage:
    kind = "Cancelled" if method == "CANCEL" else ("Updated" if rescheduled else "Invitation")
    zone = meeting.guest_time_zone if to_guest else (meeting.host.time_zone or "UTC")
    link = manage_url(meeting)
    lines = [f"{kind}: {meeting.title}", "", f"When: {_when(meeting, zone)}"]
    if location_text(meeting):
        lines.append(f"Where: {location_text(meeting)}")
    if method != "CANCEL":
        lines += ["", f"Reschedule: {link}/reschedule", f"Cancel: {link}"]
    if not to_guest and meeting.answers:
        lines += ["", "Answers:"] + [f"- {key}: {value}" for key, value in meeting.answers.items()]
    domain = current_app.config.get("MAIL_FROM_DOMAIN", "crm.localhost")
    message = EmailMessage()
    message["Subject"] = f"{kind}: {meeting.title}"
    message["From"] = f"{meeting.host.name} <meetings@{domain}>"
    message["Reply-To"] = meeting.host.email
    message["To"] = meeting.guest_email if to_guest else meeting.host.email
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content("\n".join(lines) + "\n")
    ics = build_calendar(meeting, method, now).to_ical()
    message.add_alternative(ics.decode("utf-8"), subtype="calendar", params={"method": method})
    message.add_attachment(ics, maintype="application", subtype="ics", filename="invite.ics")
    return message


def send_invites(meeting: Meeting, method: str, now: datetime, *, rescheduled: bool = False) -> int:
    """Mail the guest and the host; returns how many went out. Never raises: the meeting is
    already committed, so a failure is logged for the operator instead."""
    sent = 0
    for to_guest in (True, False):
        try:
            send_message(build_message(meeting, method, now, to_guest=to_guest, rescheduled=rescheduled))
            sent += 1
        except Exception:  # smtplib errors, refused recipients, DNS... the booking stands
            log.exception("meeting %s: could not send the %s invite to the %s", meeting.id, method,
                          "guest" if to_guest else "host")
    return sent
