"""Panels other features add to the contact page (sequence state, score, pages read,
meetings, calls, open deals) and the company page (deals), without the contacts feature
knowing about them.

A feature declares its panel in its ``views.py`` and names it in its manifest entry
(``contact_panels`` in ``crm/features.py``); the app keeps the list in ``extensions``::

    CONTACT_PANEL = ContactPanel(
        key="sequences", template="sequences/_contact_panel.html",
        load=lambda contact, viewer, now: {"enrollments": ...}, column="main", order=10)

The template receives ``contact`` and ``panel`` (what ``load`` returned). ``load`` runs a
bounded number of queries: the contact page's query count must not grow with history.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from flask import current_app


@dataclass(frozen=True)
class ContactPanel:
    key: str
    template: str
    load: Callable[[Any, Any, datetime], dict[str, Any]]
    column: str = "side"  # "side" (left, narrow) or "main" (above the timeline)
    order: int = 50
    page: str = "contact"  # "contact" (load gets the contact) or "company" (load gets the company)


def panels_in_order(panels: list[ContactPanel]) -> list[ContactPanel]:
    keys = [panel.key for panel in panels]
    if len(set(keys)) != len(keys):
        raise RuntimeError(f"contact panel keys declared twice: {sorted(keys)}")
    return sorted(panels, key=lambda p: (p.order, p.key))


def contact_panels(contact, viewer, now: datetime) -> list[tuple[ContactPanel, dict[str, Any]]]:
    panels = current_app.extensions["crm_contact_panels"]
    return [(panel, panel.load(contact, viewer, now)) for panel in panels if panel.page == "contact"]


def company_panels(company, viewer, now: datetime) -> list[tuple[ContactPanel, dict[str, Any]]]:
    """The panels for the company page (``page="company"``): its template receives ``company``
    and ``panel``. How the deals feature shows a company's deals without contacts importing it."""
    panels = current_app.extensions["crm_contact_panels"]
    return [(panel, panel.load(company, viewer, now)) for panel in panels if panel.page == "company"]
