"""Fixtures for sequence tests: a rep in New York, contacts in Tokyo and Berlin, a template
and a three-step sequence (email, follow-up email, call)."""
from __future__ import annotations

import pytest

from crm.extensions import db
from crm.sequences import library
from tests.conftest import NOW


@pytest.fixture
def rep(make_user, mallory):
    return make_user("rep", name="Ray Rep", email="ray@acme-sales.com", time_zone="America/New_York",
                     manager_id=mallory.id)


@pytest.fixture
def tokyo_contact(make_contact, make_company, rep):
    company = make_company(name="Nippon Pumps", domain="nippon-pumps.jp", time_zone="Asia/Tokyo")
    return make_contact(first_name="Yuki", last_name="Tanaka", email="yuki@nippon-pumps.jp", company_id=company.id,
                        owner_id=rep.id, title="Plant Manager", actor=rep)


@pytest.fixture
def template(rep):
    created = library.create_template(rep, {
        "name": "Intro", "subject": "Pumps for {{ company.name }}",
        "text_body": "Hi {{ contact.first_name }},\nwe make pumps.\n{{ sender.name }}",
        "html_body": "<p>Hi {{ contact.first_name }},</p><p>we make pumps.</p>",
    }, NOW)
    db.session.commit()
    return created


@pytest.fixture
def sequence(rep, template):
    seq = library.create_sequence(rep, {"name": "Outbound Q2"}, NOW)
    library.add_step(rep, seq.id, {"kind": "auto_email", "template_id": template.id}, NOW)
    library.add_step(rep, seq.id, {"kind": "auto_email", "delay_days": 2, "subject": "ignored for a follow-up",
                                   "text_body": "Just checking in, {{ contact.first_name }}."}, NOW)
    library.add_step(rep, seq.id, {"kind": "call", "delay_days": 1, "task_note": "Ask about the tender"}, NOW)
    db.session.commit()
    return seq
