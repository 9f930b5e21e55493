"""The write rule on another rep's records (issue #19, part 5; ``crm.policy``'s docstring):
anyone in sales ADDS to any record's timeline (notes, logged calls, their own follow-ups);
only the owner, the owner's manager or an admin CHANGES a record (fields, owner, delete,
import over it, enroll or email its contact, move or close a deal). Pages, API and imports."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from crm.calls.models import CallTask
from crm.contacts.models import Activity, Company, Contact
from crm.deals.models import Deal
from crm.extensions import db
from crm.imports.services import ImportOptions, import_file
from crm.sequences.services import refusal_for
from tests.conftest import NOW, csrf_from, timedelta

API = "/api/v1"


@pytest.fixture
def bobs(bob, make_company, make_contact, make_deal):
    """A company, a contact and a deal that Bob (a rep on Mallory's team) owns."""
    company = make_company(name="Bob's Account", owner_id=bob.id)
    contact = make_contact(email="buyer@bobs-account.com", first_name="Bea", last_name="Buyer",
                           company_id=company.id, owner_id=bob.id)
    deal = make_deal(name="Bob's deal", owner_id=bob.id, contact_id=contact.id, company_id=company.id)
    return {"company": company.id, "contact": contact.id, "deal": deal.id}


@pytest.fixture
def web(app, login):
    def as_user(user):
        client = app.test_client()
        login(client, user)
        client.token = csrf_from(client.get("/account").get_data(as_text=True))
        return client

    return as_user


@pytest.fixture
def api(client, api_token):
    def call(user, method, path, **kwargs):
        return client.open(API + path, method=method, headers=api_token(user), **kwargs)

    return call


def _fresh(model, record_id):
    db.session.expire_all()
    return db.session.get(model, record_id)


def _notes_by(user_id) -> list[str]:
    return list(db.session.scalars(
        select(Activity.details["body"].as_string()).where(Activity.kind == "note", Activity.user_id == user_id)
        .order_by(Activity.id)))


# --- adding to the timeline: everyone in sales, on any record ---------------------------------

@pytest.mark.parametrize("persona", ["alice", "charlie", "mallory", "admin"])
def test_anyone_in_sales_adds_notes_to_another_reps_records_on_pages(request, web, bobs, persona):
    user = request.getfixturevalue(persona)
    page = web(user)
    for path in (f"/contacts/{bobs['contact']}/notes", f"/companies/{bobs['company']}/notes",
                 f"/deals/{bobs['deal']}/notes"):
        response = page.post(path, data={"csrf_token": page.token, "body": f"{persona} was here: {path}"})
        assert response.status_code == 302, path
    assert len(_notes_by(user.id)) == 3
    # The owner sees them on the timeline, signed.
    bob_page = web(request.getfixturevalue("bob")).get(f"/contacts/{bobs['contact']}").get_data(as_text=True)
    assert f"{persona} was here: /contacts/{bobs['contact']}/notes" in bob_page and user.name in bob_page


@pytest.mark.parametrize("persona", ["alice", "charlie", "mallory", "admin"])
def test_anyone_in_sales_adds_notes_to_another_reps_records_in_the_api(request, api, bobs, persona):
    user = request.getfixturevalue(persona)
    for target in ({"contact_id": bobs["contact"]}, {"company_id": bobs["company"]}, {"deal_id": bobs["deal"]}):
        response = api(user, "POST", "/activities", json={"body": "Met them at the fair", **target})
        assert response.status_code == 201, (target, response.get_json())
    assert _notes_by(user.id) == ["Met them at the fair"] * 3


def test_a_rep_logs_a_call_on_another_reps_contact_and_the_follow_up_is_their_own(api, alice, bobs):
    response = api(alice, "POST", "/calls", json={
        "contact_id": bobs["contact"], "outcome": "connected", "notes": "Called back the switchboard",
        "follow_up": {"title": "Send Bea the brochure", "due_at": (NOW + timedelta(days=1)).isoformat()}})
    assert response.status_code == 201, response.get_json()
    call = db.session.get(Activity, response.get_json()["activity_id"])
    assert (call.kind, call.contact_id, call.user_id) == ("call", bobs["contact"], alice.id)
    task = db.session.get(CallTask, response.get_json()["follow_up_id"])
    assert task.user_id == alice.id  # her to-do, not put on Bob's list


def test_planners_add_nothing(web, api, pat, bobs):
    page = web(pat)
    for path in (f"/contacts/{bobs['contact']}/notes", f"/companies/{bobs['company']}/notes",
                 f"/deals/{bobs['deal']}/notes"):
        assert page.post(path, data={"csrf_token": page.token, "body": "hi"}).status_code == 403, path
    assert api(pat, "POST", "/activities", json={"body": "hi", "deal_id": bobs["deal"]}).status_code == 403
    assert api(pat, "POST", "/calls", json={"contact_id": bobs["contact"], "outcome": "connected"}).status_code == 403
    assert _notes_by(pat.id) == []


def test_the_note_service_itself_refuses_planners(pat, bobs):
    from crm.contacts.services import add_note
    from crm.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        add_note(pat, "hi", NOW, deal_id=bobs["deal"])


# --- changing a record: owner, owner's manager, admin -----------------------------------------

CHANGES = [  # (method, path, JSON body) on the API
    ("PATCH", "/contacts/{contact}", {"title": "Changed"}),
    ("PATCH", "/contacts/{contact}", {"owner_id": "{me}"}),  # reassigning to oneself
    ("PATCH", "/companies/{company}", {"industry": "Changed"}),
    ("PATCH", "/deals/{deal}", {"name": "Changed"}),
    ("POST", "/deals/{deal}/close", {"won": True}),
    ("DELETE", "/deals/{deal}", None),
    ("DELETE", "/contacts/{contact}", None),
    ("DELETE", "/companies/{company}", None),
]


def _fill(value, ids, me):
    if isinstance(value, dict):
        return {k: _fill(v, ids, me) for k, v in value.items()}
    if value == "{me}":
        return me
    return value.format(**ids) if isinstance(value, str) else value


@pytest.mark.parametrize("persona", ["alice", "charlie"])
@pytest.mark.parametrize("method,path,body", CHANGES)
def test_another_rep_may_not_change_the_record_in_the_api(request, api, bobs, persona, method, path, body):
    user = request.getfixturevalue(persona)
    response = api(user, method, _fill(path, bobs, user.id), json=_fill(body, bobs, user.id))
    assert response.status_code == 403, response.get_json()
    contact, deal = _fresh(Contact, bobs["contact"]), _fresh(Deal, bobs["deal"])
    assert contact is not None and contact.title is None and contact.owner_id != user.id
    assert deal is not None and deal.name == "Bob's deal" and deal.status == "open"
    assert _fresh(Company, bobs["company"]).industry is None


@pytest.mark.parametrize("persona", ["bob", "mallory", "admin"])
@pytest.mark.parametrize("method,path,body", CHANGES[:5])
def test_the_owner_their_manager_and_admins_may(request, api, bobs, persona, method, path, body):
    user = request.getfixturevalue(persona)
    response = api(user, method, _fill(path, bobs, user.id), json=_fill(body, bobs, user.id))
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("persona", ["alice", "charlie"])
def test_another_rep_may_not_change_the_record_on_pages(request, web, bobs, persona):
    page = web(request.getfixturevalue(persona))
    for path in (f"/contacts/{bobs['contact']}/edit", f"/contacts/{bobs['contact']}/delete",
                 f"/companies/{bobs['company']}/edit", f"/companies/{bobs['company']}/delete",
                 f"/deals/{bobs['deal']}/edit", f"/deals/{bobs['deal']}/delete"):
        assert page.get(path).status_code == 403, path
        assert page.post(path, data={"csrf_token": page.token, "title": "x"}).status_code == 403, path
    for path, data in ((f"/deals/{bobs['deal']}/close", {"outcome": "won"}),
                       (f"/deals/{bobs['deal']}/reopen", {})):
        assert page.post(path, data={"csrf_token": page.token, **data}).status_code == 403, path
    # The contact page offers the note, not the edit.
    html = page.get(f"/contacts/{bobs['contact']}").get_data(as_text=True)
    assert "Add note" in html and f"/contacts/{bobs['contact']}/edit" not in html
    html = page.get(f"/deals/{bobs['deal']}").get_data(as_text=True)
    assert "Add note" in html and f"/deals/{bobs['deal']}/edit" not in html and "Close deal" not in html
    assert _fresh(Deal, bobs["deal"]).status == "open"


def test_the_managers_page_offers_the_edit(web, mallory, bobs):
    html = web(mallory).get(f"/contacts/{bobs['contact']}").get_data(as_text=True)
    assert f"/contacts/{bobs['contact']}/edit" in html


def test_enrolling_or_emailing_another_reps_contact_is_a_change(api, alice, mallory, bobs):
    contact = _fresh(Contact, bobs["contact"])
    assert refusal_for(contact, alice) == "not_permitted"
    assert refusal_for(contact, mallory) is None
    response = api(alice, "POST", "/outbox", json={"contact_id": bobs["contact"], "subject": "Hi",
                                                    "text_body": "Hello"})
    assert response.status_code == 403


# --- imports: importing over a record changes it ----------------------------------------------

def _import(tmp_path, actor, text, kind="contacts"):
    path = tmp_path / f"{kind}-{actor.id}.csv"
    path.write_text(text)
    rejections = []

    class Sink:
        def stage(self, tally, found, notes):
            pass

        def committed(self, tally, found, notes):
            rejections.extend(found)

    outcome = import_file(path, kind, actor=actor, now=NOW, options=ImportOptions(on_duplicate="update"), sink=Sink())
    return outcome.tally, dict(rejections)


@pytest.mark.parametrize("persona", ["alice", "charlie"])
def test_an_import_may_not_overwrite_another_reps_contact(request, tmp_path, bobs, persona):
    tally, reasons = _import(tmp_path, request.getfixturevalue(persona),
                             "email,title\nbuyer@bobs-account.com,Overwritten\n")
    assert (tally.updated, tally.rejected) == (0, 1)
    assert "may not change" in reasons[2] and "add a note" in reasons[2]
    assert _fresh(Contact, bobs["contact"]).title is None


@pytest.mark.parametrize("persona", ["bob", "mallory", "admin"])
def test_the_owner_their_manager_and_admins_may_import_over_it(request, tmp_path, bobs, persona):
    tally, _reasons = _import(tmp_path, request.getfixturevalue(persona),
                              "email,title\nbuyer@bobs-account.com,Imported title\n")
    assert (tally.updated, tally.rejected) == (1, 0)
    assert _fresh(Contact, bobs["contact"]).title == "Imported title"


def test_an_import_may_not_overwrite_another_reps_deal(tmp_path, bob, alice, mallory, stages, families):
    header = "deal_id,name,stage,expected_close,family,quantity,unit_price,owner\n"
    row = f"EXT-7,Imported deal,{stages[0].name},2026-06-30,PUMP,5,100,{bob.email}\n"
    tally, _ = _import(tmp_path, bob, header + row, kind="deals")
    assert tally.created == 1
    deal_id = db.session.scalar(select(Deal.id).where(Deal.source == "import:EXT-7"))
    changed = row.replace("Imported deal", "Taken over")
    tally, reasons = _import(tmp_path, alice, header + changed, kind="deals")
    assert (tally.updated, tally.rejected) == (0, 1) and "may change" in reasons[2]
    assert _fresh(Deal, deal_id).name == "Imported deal"
    tally, _ = _import(tmp_path, mallory, header + changed, kind="deals")
    assert tally.updated == 1 and _fresh(Deal, deal_id).name == "Taken over"
    assert _fresh(Deal, deal_id).expected_close == date(2026, 6, 30)
