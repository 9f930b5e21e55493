"""Demo data of the documents feature: a proposal PDF made on the spot (pypdfium2), rendered by
the same worker code, shared with a demo contact who read three pages; a colleague of theirs
read it after a forward."""
from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select

from crm.auth.models import User
from crm.contacts.models import Contact
from crm.documents import services
from crm.documents.samples import sample_pdf
from crm.documents.worker import prepare
from crm.extensions import db


class _Upload:
    def __init__(self, data: bytes, filename: str):
        self.stream, self.filename = io.BytesIO(data), filename


def seed(actors, today, now) -> dict[str, int]:
    rep = db.session.scalar(select(User).where(User.role == "rep").order_by(User.id).limit(1))
    contacts = list(db.session.scalars(select(Contact).where(Contact.company_id.is_not(None))
                                       .order_by(Contact.id).limit(1)))
    if rep is None or not contacts:
        return {"documents": 0}
    item = services.create_document(rep, {"name": "Proposal: Northwind rollout"},
                                    _Upload(sample_pdf(["Proposal", "Scope", "Pricing", "Timeline", "Terms"]),
                                            "proposal.pdf"), now - timedelta(days=3))
    prepare(item)  # what the worker does, without its commits: the demo commits once
    item.status, item.processed_at = "ready", now - timedelta(days=3)
    db.session.flush()
    link = services.create_link(rep, item.id, {"contact_id": contacts[0].id}, now - timedelta(days=2))
    token = services.link_token(link)
    reader = services.Request(ip="203.0.113.7", user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0")
    at = now - timedelta(days=2, hours=-1)
    services.record_beacon(token, "demo-reader-key-0000001", {"view": "demo-view-key-00000001", "page": 1,
                                                             "seconds": 0}, reader, at)
    for page, seconds in ((1, 40.0), (2, 95.0), (3, 180.0)):
        services.record_beacon(token, "demo-reader-key-0000001", {"view": "demo-view-key-00000001", "page": page,
                                                                 "seconds": seconds}, reader, at)
    return {"documents": 1}
