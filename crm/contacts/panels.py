"""Panels other features add to the contact page (sequence state, score, pages read,
meetings, calls), without the contacts feature knowing about them.

A feature registers a panel at import time from its ``views.py``::

    register_contact_panel(ContactPanel(
        key="sequences", template="sequences/_contact_panel.html",
        load=lambda contact, viewer, now: {"enrollments": ...}, column="main", order=10))

The template receives ``contact`` and ``panel`` (what ``load`` returned). ``load`` runs a
bounded number of queries: the contact page's query count must not grow with history.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

PANELS: list["ContactPanel"] = []


@dataclass(frozen=True)
class ContactPanel:
    key: str
    template: str
    load: Callable[[Any, Any, datetime], dict[str, Any]]
    column: str = "side"  # "side" (left, narrow) or "main" (above the timeline)
    order: int = 50


def register_contact_panel(panel: ContactPanel) -> None:
    if any(existing.key == panel.key for existing in PANELS):
        PANELS[:] = [p for p in PANELS if p.key != panel.key]  # re-import in tests: replace
    PANELS.append(panel)
    PANELS.sort(key=lambda p: (p.order, p.key))


def contact_panels(contact, viewer, now: datetime) -> list[tuple[ContactPanel, dict[str, Any]]]:
    return [(panel, panel.load(contact, viewer, now)) for panel in PANELS]
