"""The contact pages: list (search, filters, sorting, pagination, empty states), the contact
page with its timeline, and create / edit / delete through the forms."""
from __future__ import annotations

from datetime import timedelta

import pytest

from crm.contacts.custom_fields import define_custom_field
from crm.contacts.models import Contact
from crm.contacts.services import record_activity
from crm.extensions import db
from tests.conftest import NOW, csrf_from


def csrf(client) -> str:
    return csrf_from(client.get("/account").get_data(as_text=True))


@pytest.fixture
def as_alice(client, alice, login):
    login(client, alice)
    return client


# --- list -----------------------------------------------------------------------------------

def test_empty_list_invites_an_import_or_a_first_contact(as_alice):
    html = as_alice.get("/contacts").get_data(as_text=True)
    assert "No contacts yet — import a CSV or add one" in html
    assert 'href="/imports/new"' in html and 'href="/contacts/new"' in html


def test_list_shows_contacts_with_company_and_owner(as_alice, alice, make_contact, make_company):
    acme = make_company(name="Acme Pumps", domain="acmepumps.com")
    make_contact(first_name="Grace", last_name="Hopper", email="grace@acmepumps.com",
                 company_id=acme.id, owner_id=alice.id)
    html = as_alice.get("/contacts").get_data(as_text=True)
    assert "Grace Hopper" in html and "grace@acmepumps.com" in html
    assert "Acme Pumps" in html and "Alice Rep" in html


@pytest.mark.parametrize("query", ["hopper", "GRACE", "grace@acme", "acme pumps"])
def test_search_matches_name_email_and_company(as_alice, make_contact, make_company, query):
    acme = make_company(name="Acme Pumps", domain="acmepumps.com")
    make_contact(first_name="Grace", last_name="Hopper", email="grace@acmepumps.com", company_id=acme.id)
    make_contact(first_name="Alan", last_name="Turing", email="alan@bletchley-park.com")
    html = as_alice.get("/contacts", query_string={"q": query}).get_data(as_text=True)
    assert "Grace Hopper" in html
    assert "Alan Turing" not in html


def test_search_without_match_says_so(as_alice, make_contact):
    make_contact(first_name="Alan", last_name="Turing")
    html = as_alice.get("/contacts?q=nobody-like-this").get_data(as_text=True)
    assert "No contacts match" in html
    assert "No contacts yet" not in html


def test_filters_by_owner_and_lifecycle_stage(as_alice, alice, bob, make_contact):
    make_contact(first_name="Mine", last_name="Lead", owner_id=alice.id, lifecycle_stage="lead")
    make_contact(first_name="Mine", last_name="Customer", owner_id=alice.id, lifecycle_stage="customer")
    make_contact(first_name="Bobs", last_name="Customer", owner_id=bob.id, lifecycle_stage="customer")
    html = as_alice.get("/contacts?owner=me&stage=customer").get_data(as_text=True)
    assert "Mine Customer" in html
    assert "Mine Lead" not in html and "Bobs Customer" not in html
    html = as_alice.get(f"/contacts?owner={bob.id}").get_data(as_text=True)
    assert "Bobs Customer" in html and "Mine Customer" not in html


def test_filters_by_custom_field(as_alice, admin, make_contact):
    define_custom_field(admin, "contact", "region", "Region", "choice", ["North", "South"])
    db.session.commit()
    make_contact(first_name="Northern", last_name="Star", custom={"region": "North"})
    make_contact(first_name="Southern", last_name="Cross", custom={"region": "South"})
    html = as_alice.get("/contacts?cf_region=South").get_data(as_text=True)
    assert "Southern Cross" in html and "Northern Star" not in html


def test_filters_by_yes_no_number_and_date_custom_fields(as_alice, admin, make_contact):
    define_custom_field(admin, "contact", "champion", "Champion", "boolean")
    define_custom_field(admin, "contact", "seats", "Seats", "number")
    define_custom_field(admin, "contact", "renewal", "Renewal", "date")
    db.session.commit()
    make_contact(first_name="Big", last_name="Champion",
                 custom={"champion": True, "seats": 250, "renewal": "2026-09-01"})
    make_contact(first_name="Small", last_name="Skeptic",
                 custom={"champion": False, "seats": 5, "renewal": "2027-01-01"})
    for query in ("cf_champion=yes", "cf_seats=250", "cf_renewal=2026-09-01", "cf_champion=yes&cf_seats=250.0"):
        html = as_alice.get(f"/contacts?{query}").get_data(as_text=True)
        assert "Big Champion" in html and "Small Skeptic" not in html, query
    html = as_alice.get("/contacts?cf_champion=no").get_data(as_text=True)
    assert "Small Skeptic" in html and "Big Champion" not in html


def test_a_bad_custom_filter_is_explained_not_a_crash(as_alice, admin, make_contact):
    define_custom_field(admin, "contact", "seats", "Seats", "number")
    db.session.commit()
    make_contact()
    response = as_alice.get("/contacts?cf_seats=many")
    assert response.status_code == 400
    assert "must be a number" in response.get_data(as_text=True)


def test_sorting_by_a_column_header_reverses_on_second_click(as_alice, make_contact):
    make_contact(first_name="Ann", last_name="Able", email="zed@alpha-co.com")
    make_contact(first_name="Zoe", last_name="Zimmer", email="amy@alpha-co.com")
    by_name = as_alice.get("/contacts").get_data(as_text=True)
    assert by_name.index("Ann Able") < by_name.index("Zoe Zimmer")
    by_email = as_alice.get("/contacts?sort=email").get_data(as_text=True)
    assert by_email.index("Zoe Zimmer") < by_email.index("Ann Able")
    assert "sort=email&amp;dir=desc" in by_email  # the active header now offers the reverse
    reverse = as_alice.get("/contacts?sort=email&dir=desc").get_data(as_text=True)
    assert reverse.index("Ann Able") < reverse.index("Zoe Zimmer")


def test_pagination_keeps_the_filters(as_alice, make_contact):
    for n in range(55):
        make_contact(first_name="Pat", last_name=f"Person{n:02d}", lifecycle_stage="mql")
    html = as_alice.get("/contacts?stage=mql").get_data(as_text=True)
    assert "Page 1 of 2" in html
    assert "stage=mql" in html and "page=2" in html
    second = as_alice.get("/contacts?stage=mql&page=2").get_data(as_text=True)
    assert "Person54" in second and "Person00" not in second


def test_planner_may_not_open_contacts(client, pat, login):
    login(client, pat)
    assert client.get("/contacts").status_code == 403
    assert client.get("/contacts/new").status_code == 403


# --- create / edit / delete -------------------------------------------------------------

def test_create_contact_with_every_field(as_alice, alice, admin, make_company):
    define_custom_field(admin, "contact", "budget", "Budget", "number")
    define_custom_field(admin, "contact", "champion", "Champion", "boolean")
    db.session.commit()
    company = make_company(name="Initech")
    form = as_alice.get("/contacts/new").get_data(as_text=True)
    assert 'name="custom_budget"' in form and 'name="custom_champion"' in form
    response = as_alice.post("/contacts/new", data={
        "csrf_token": csrf_from(form), "email": " Ada@Initech.COM ", "first_name": "Ada",
        "last_name": "Lovelace", "title": "CTO", "phone": "+44 20 7946 0000",
        "company_id": str(company.id), "owner_id": str(alice.id), "time_zone": "Europe/London",
        "lifecycle_stage": "sql", "do_not_contact": "y", "linkedin_url": "https://www.linkedin.com/in/ada",
        "x_url": "https://x.com/ada", "source": "conference", "custom_budget": "25000",
        "custom_champion": "yes",
    })
    assert response.status_code == 302
    contact = db.session.query(Contact).one()
    assert response.headers["Location"].endswith(f"/contacts/{contact.id}")
    assert (contact.email, contact.company_id, contact.owner_id) == ("ada@initech.com", company.id, alice.id)
    assert (contact.time_zone, contact.lifecycle_stage, contact.do_not_contact, contact.unsubscribed) == (
        "Europe/London", "sql", True, False)
    assert contact.custom == {"budget": 25000, "champion": True}


def test_errors_from_the_service_appear_next_to_their_fields(as_alice, admin):
    define_custom_field(admin, "contact", "budget", "Budget", "number")
    db.session.commit()
    response = as_alice.post("/contacts/new", data={
        "csrf_token": csrf(as_alice), "email": "not-an-email", "linkedin_url": "ftp://example.com/ada",
        "lifecycle_stage": "lead", "custom_budget": "lots", "first_name": "Kept",
    })
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="email-error"' in html
    assert 'id="linkedin_url-error">must be an http(s) URL' in html
    assert 'id="custom_budget-error">must be a number' in html
    assert 'value="Kept"' in html  # what was typed survives the round trip
    assert db.session.query(Contact).count() == 0


def test_duplicate_email_is_reported_on_the_email_field(as_alice, make_contact):
    make_contact(email="taken@example.com")
    response = as_alice.post("/contacts/new", data={
        "csrf_token": csrf(as_alice), "email": "TAKEN@example.com", "lifecycle_stage": "lead",
    })
    assert response.status_code == 409
    assert 'id="email-error">already exists' in response.get_data(as_text=True)


def test_edit_contact_saves_changes(as_alice, alice, make_contact):
    contact = make_contact(first_name="Old", owner_id=alice.id)
    form = as_alice.get(f"/contacts/{contact.id}/edit").get_data(as_text=True)
    assert 'value="Old"' in form
    response = as_alice.post(f"/contacts/{contact.id}/edit", data={
        "csrf_token": csrf_from(form), "email": contact.email, "first_name": "New", "last_name": "Name",
        "owner_id": str(alice.id), "lifecycle_stage": "customer", "unsubscribed": "y",
    })
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Contact, contact.id)
    assert (saved.first_name, saved.lifecycle_stage, saved.unsubscribed) == ("New", "customer", True)


def test_a_rep_cannot_edit_or_delete_another_reps_contact(client, charlie, alice, login, make_contact):
    contact = make_contact(owner_id=alice.id)
    login(client, charlie)
    assert client.get(f"/contacts/{contact.id}/edit").status_code == 403
    token = csrf(client)
    edit = client.post(f"/contacts/{contact.id}/edit", data={"csrf_token": token, "email": "x@example.com"})
    assert edit.status_code == 403
    assert client.post(f"/contacts/{contact.id}/delete", data={"csrf_token": token}).status_code == 403
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert f"/contacts/{contact.id}/edit" not in page  # no button that would only say no


def test_delete_asks_for_confirmation_then_deletes(as_alice, alice, make_contact):
    contact_id = make_contact(owner_id=alice.id).id
    confirm = as_alice.get(f"/contacts/{contact_id}/delete")
    assert confirm.status_code == 200 and "Delete contact" in confirm.get_data(as_text=True)
    assert db.session.get(Contact, contact_id) is not None  # a GET never deletes
    token = csrf_from(confirm.get_data(as_text=True))
    response = as_alice.post(f"/contacts/{contact_id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Contact, contact_id) is None


@pytest.mark.parametrize("path", ["/contacts/new", "/contacts/{id}/edit", "/contacts/{id}/delete",
                                  "/contacts/{id}/notes"])
def test_posts_without_a_csrf_token_are_refused(as_alice, alice, make_contact, path):
    contact = make_contact(owner_id=alice.id)
    response = as_alice.post(path.format(id=contact.id), data={"email": "x@example.com", "body": "hi"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Contact, contact.id) is not None


def test_unknown_contact_is_a_404(as_alice):
    assert as_alice.get("/contacts/424242").status_code == 404
    assert as_alice.get("/contacts/424242/edit").status_code == 404


# --- the contact page and its timeline ----------------------------------------------------

def test_markup_in_a_name_is_shown_as_text(as_alice, make_contact):
    contact = make_contact(first_name="<script>alert(1)</script>", last_name="<b>Bold</b>",
                           title='"><img src=x onerror=alert(2)>')
    for path in ("/contacts", f"/contacts/{contact.id}", f"/contacts/{contact.id}/edit"):
        html = as_alice.get(path).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html and "<b>Bold</b>" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_contact_page_shows_details_custom_fields_and_local_time(as_alice, admin, make_contact, make_company):
    define_custom_field(admin, "contact", "tier", "Account tier", "choice", ["Gold", "Silver"])
    db.session.commit()
    company = make_company(name="Umbrella Corp", time_zone="Asia/Tokyo")
    contact = make_contact(first_name="Alice", last_name="Abernathy", company_id=company.id,
                           title="Head of Security", custom={"tier": "Gold"})
    html = as_alice.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Umbrella Corp" in html and f'href="/companies/{company.id}"' in html
    assert "Account tier" in html and "Gold" in html
    assert "Asia/Tokyo" in html and "(from company)" in html  # local time in the company's zone


def test_timeline_is_newest_first_in_the_viewers_time_zone(client, make_user, login, make_contact):
    viewer = make_user("rep", name="Tokyo Rep", time_zone="Asia/Tokyo")
    contact = make_contact()
    record_activity("email_sent", NOW - timedelta(days=2), contact_id=contact.id, user_id=viewer.id,
                    details={"subject": "Older email"})
    record_activity("call", NOW, contact_id=contact.id, user_id=viewer.id, details={"outcome": "Connected"})
    db.session.commit()
    login(client, viewer)
    html = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert html.index(": connected") < html.index("Older email")
    assert "Mar 10, 2026, 11:30 PM" in html  # 14:30 UTC is 23:30 in Tokyo (en-US: CLDR medium)
    assert "Tokyo Rep called " in html and "Tokyo Rep sent <strong>Older email</strong> to " in html
    assert "Times in Asia/Tokyo" in html


def test_timeline_details_are_readable(as_alice, make_contact):
    contact = make_contact()
    record_activity("call", NOW, contact_id=contact.id, details={"outcome": "no_answer", "duration_s": 1011})
    record_activity("meeting_held", NOW, contact_id=contact.id, details={"title": "Site visit", "duration_min": 30})
    db.session.commit()
    html = as_alice.get(f"/contacts/{contact.id}").get_data(as_text=True)
    # One sentence per event, with the outcome and duration in words (not key/value pairs).
    assert f"Someone called {contact.first_name} {contact.last_name}: no answer, 16m 51s" in html
    assert "Someone held a meeting: <a href=\"/meetings\">Site visit</a>, 30 min" in html
    assert "<dt>Outcome</dt>" not in html and "<dt>Duration</dt>" not in html


def test_timeline_is_paginated(as_alice, make_contact):
    contact = make_contact()
    for n in range(30):
        record_activity("note", NOW + timedelta(minutes=n), contact_id=contact.id,
                        details={"body": f"note number {n:02d}"})
    db.session.commit()
    first = as_alice.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "note number 29" in first and "note number 00" not in first
    second = as_alice.get(f"/contacts/{contact.id}?page=2").get_data(as_text=True)
    assert "note number 00" in second and "note number 29" not in second


def test_adding_a_note_puts_it_on_the_timeline(as_alice, make_contact):
    contact = make_contact()
    response = as_alice.post(f"/contacts/{contact.id}/notes", data={
        "csrf_token": csrf(as_alice), "body": "Called: wants a demo <next week>"})
    assert response.status_code == 302
    html = as_alice.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Called: wants a demo &lt;next week&gt;" in html
    assert "Alice Rep" in html


def test_an_empty_note_is_refused_with_a_message(as_alice, make_contact):
    contact = make_contact()
    response = as_alice.post(f"/contacts/{contact.id}/notes", data={"csrf_token": csrf(as_alice), "body": "  "})
    assert response.status_code == 422
    assert 'id="body-error">required' in response.get_data(as_text=True)
