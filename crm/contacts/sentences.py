"""The timeline read as sentences: each activity kind is one line a person can read ("Rita
Rep called Ana Ruiz: left voicemail, 1m 31s"), with the useful words from its details, links
to what it points at (the email, the meeting, the page visited, the deal, the sequence) and the
technical fields (ids, IP, user agent, verdicts) folded into a details toggle.

Features declare the sentence of each kind they write in the manifest (``timeline_sentences``
in ``crm/features.py``): a ``%(name)s`` template marked with ``_l`` so it is translated when
rendered. Placeholders are filled from the activity's details, plus:

- ``actor``: who did it (the user, or "Someone" for system and visitor events);
- ``contact``: the contact's name, linked when the timeline spans several contacts;
- ``deal``: the deal's name, linked (empty on the deal's own page);
- ``email``: the email's subject, linked to the sent email when there is one;
- ``page``: the page title, linked to its URL (http/https only);
- ``meeting``: the meeting's title, linked to the meetings page;
- ``sequence``: the sequence's name, linked to the sequence;
- ``duration``, ``outcome``, ``amount``, ``when``: formatted for people.

A kind with no sentence (or whose sentence needs a detail the row lacks) falls back to its
label from ``timeline_labels``. Values are escaped: the template is Markup, so ``%`` escapes
every plain-string argument.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app, url_for
from markupsafe import Markup, escape

from crm.i18n import _
from crm.web.formatting import activity_label, detail_label, detail_value, local_datetime, money

# Details shown as a quoted paragraph under the sentence (what was written or said).
BODY_KEYS = ("body", "notes", "excerpt", "answer", "message")
# Details never shown, even in the toggle (noise or duplicated by the sentence's links).
HIDDEN_KEYS = frozenset({"outcome_label"})
# Kinds that happen once per thing: a second row for the same thing is the same event written
# twice (queued and sent, a retried webhook). Opens and clicks repeat for real: those are
# folded into one entry per email on the page, with a count.
DEDUPE_KEYS = {"email_sent": "outbound_email_id", "email_failed": "outbound_email_id",
               "email_opened": "outbound_email_id", "email_clicked": "outbound_email_id",
               "meeting_booked": "meeting_id", "email_replied": "message_id"}


@dataclass
class TimelineEntry:
    activity: Any
    sentence: Markup
    body: str | None = None
    details: list[tuple[str, str]] = field(default_factory=list)
    repeats: int = 1


class _Values(dict):
    """Placeholders for one activity; a missing one raises ``KeyError`` so the caller falls
    back to the kind's label instead of printing an empty hole."""

    def __missing__(self, key: str):
        raise KeyError(key)


def _link(href: str | None, text: str) -> Markup:
    if not href:
        return Markup("<strong>%s</strong>") % text
    return Markup('<a href="%s">%s</a>') % (href, text)


def _safe_url(url: Any) -> str | None:
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None


def _values(activity, names: dict, current_deal: int | None, show_contact: bool) -> tuple[_Values, set[str]]:
    """The placeholder values, and the detail keys the sentence makes redundant."""
    d = activity.details or {}
    used: set[str] = set()
    values = _Values({k: detail_value(k, v) for k, v in d.items()
                      if isinstance(v, (str, int, float)) and not isinstance(v, bool)})
    values["actor"] = activity.user.name if activity.user else _("Someone")
    contact_name = names.get("contacts", {}).get(activity.contact_id)
    if contact_name and show_contact:
        values["contact"] = _link(url_for("contacts.show_contact", contact_id=activity.contact_id), contact_name)
    else:
        values["contact"] = contact_name or _("the contact")
    if isinstance(d.get("reason"), str) and d["reason"].replace("_", "").isalpha() and "_" in d["reason"]:
        values["reason"] = d["reason"].replace("_", " ")  # a code such as out_of_office
    if activity.deal_id and activity.deal_id != current_deal:
        deal_name = names.get("deals", {}).get(activity.deal_id) or d.get("name") or _("a deal")
        values["deal"] = _link(url_for("deals.show_deal", deal_id=activity.deal_id), deal_name)
        used.add("name")
    elif activity.deal_id:
        values["deal"] = _("this deal")
        used.add("name")
    if d.get("subject"):
        email_id = d.get("outbound_email_id")
        href = url_for("mail.show_email", email_id=email_id) if isinstance(email_id, int) else None
        values["email"] = _link(href, d["subject"])
        used.update({"subject", "outbound_email_id"})
    if d.get("url") or d.get("title"):
        values["page"] = _link(_safe_url(d.get("url")), d.get("title") or d.get("url"))
        used.update({"url", "title"})
    if d.get("title") and activity.kind.startswith("meeting"):
        values["meeting"] = _link(url_for("meetings.list_meetings"), d["title"])
        used.add("title")
    if d.get("sequence"):
        sequence_id = d.get("sequence_id")
        href = url_for("sequences.builder", sequence_id=sequence_id) if isinstance(sequence_id, int) else None
        values["sequence"] = _link(href, d["sequence"])
        used.update({"sequence", "sequence_id"})
    for key in ("duration_seconds", "duration_s", "duration_min"):
        if isinstance(d.get(key), (int, float)) and d[key]:
            values["duration"] = detail_value("duration_s" if key != "duration_min" else key,
                                              d[key] if key != "duration_seconds" else int(d[key]))
            used.add(key)
    if d.get("outcome_label") or d.get("outcome"):
        # ``outcome_label`` is stored in English (crm.calls.models.OUTCOME_LABELS): read in the viewer's.
        values["outcome"] = (_(d["outcome_label"]) if d.get("outcome_label")
                             else detail_value("outcome", d["outcome"])).lower()
        used.update({"outcome", "outcome_label"})
    if d.get("amount") not in (None, ""):
        try:
            # The deal's own currency (older activities name none), never a default one.
            currency = d.get("currency") or names.get("deal_currencies", {}).get(activity.deal_id)
            values["amount"] = money(d["amount"], currency) if currency else detail_value("amount", d["amount"])
            used.update({"amount", "currency"})
        except (ArithmeticError, ValueError, TypeError):
            pass
    for key in ("start", "until", "from"):
        if isinstance(d.get(key), str):
            try:
                values[key] = local_datetime(datetime.fromisoformat(d[key]))
            except ValueError:
                pass
    return values, used


def _sentence(activity, values: _Values, used: set[str]) -> Markup:
    for template in current_app.extensions.get("crm_timeline_sentences", {}).get(activity.kind, ()):
        try:
            text = Markup(escape(str(template))) % values
        except (KeyError, TypeError, ValueError):
            continue  # this row lacks a detail the template needs: try the next, shorter one
        used.update(_placeholders(str(template)))
        return text
    return Markup("<strong>%s</strong>") % activity_label(activity.kind)


def _placeholders(template: str) -> set[str]:
    return set(re.findall(r"%\((\w+)\)s", template))


def _dedupe_key(activity) -> tuple | None:
    """Two rows for one event (an email recorded when queued and again when sent, a retried
    webhook) share this key; rows without an event id are never merged."""
    key = DEDUPE_KEYS.get(activity.kind)
    value = (activity.details or {}).get(key) if key else None
    return None if value in (None, "") else (activity.kind, activity.contact_id, value)


def timeline_entries(activities, names: dict, current_deal: int | None = None,
                     show_contact: bool = False) -> list[TimelineEntry]:
    """One entry per event, newest first, each with its sentence, body and folded details."""
    entries: list[TimelineEntry] = []
    seen: dict[tuple, TimelineEntry] = {}
    for activity in activities:
        key = _dedupe_key(activity)
        if key is not None and key in seen:
            seen[key].repeats += 1
            continue
        values, used = _values(activity, names, current_deal, show_contact)
        sentence = _sentence(activity, values, used)
        d = activity.details or {}
        body_key = next((k for k in BODY_KEYS if isinstance(d.get(k), str) and d[k].strip()), None)
        details = [(detail_label(k), detail_value(k, v)[:300]) for k, v in d.items()
                   if k not in used and k != body_key and k not in HIDDEN_KEYS and v not in (None, "")
                   and not isinstance(v, (dict, list))]
        entry = TimelineEntry(activity, sentence, d.get(body_key) if body_key else None, details)
        entries.append(entry)
        if key is not None:
            seen[key] = entry
    return entries


def init(app) -> None:
    """Manifest ``setup``: timeline templates call ``timeline_entries``."""
    app.add_template_global(timeline_entries, "timeline_entries")
