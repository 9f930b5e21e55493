"""Scoring pages and API: explanations in words, the contact panel, "in the market", the admin
rules (a change recomputes exactly), the API routes."""
from __future__ import annotations

from datetime import timedelta

import pytest

from crm.extensions import db
from crm.scoring.models import ContactScore, ScoringRule, ScoringSettings
from crm.scoring.scores import record_event, refresh_fit
from crm.scoring.services import recompute_if_needed, score_summaries
from crm.timeutil import utcnow
from tests.conftest import NOW, csrf_from

PRICING = "https://acme.example/pricing"


@pytest.fixture
def hot(make_company, make_contact, alice):
    company = make_company(name="Big Pumps", employee_count=500, industry="Manufacturing")
    contact = make_contact(first_name="Ana", last_name="Ruiz", title="VP Operations", company_id=company.id,
                           owner_id=alice.id)
    for days in (1, 2, 3):
        record_event(contact.id, "page_viewed", NOW - timedelta(days=days), url=PRICING)
    record_event(contact.id, "email_opened", NOW - timedelta(days=1))
    record_event(contact.id, "page_viewed", NOW - timedelta(days=20), url="https://acme.example/blog")
    db.session.commit()
    return contact


def test_factors_in_words(hot):
    summary = score_summaries([hot.id], NOW)[hot.id]
    assert summary.factors[0] == "read the pricing page 3 times this week"
    assert "opened 1 email this week" in summary.factors
    assert "VP at a 500-person company" in summary.factors
    assert 0 < summary.score <= 100 and summary.fit == 35 + 30


def test_nothing_yet_and_unknown_contacts(make_contact):
    quiet = make_contact(title="Buyer")
    summaries = score_summaries([quiet.id, 999999], NOW)
    assert list(summaries) == [quiet.id]
    assert summaries[quiet.id].score == 0 and summaries[quiet.id].factors == []


def test_contact_page_panel_shows_score_trend_and_factors(client, login, alice, make_contact):
    hot = make_contact(owner_id=alice.id)
    for days in (1, 2, 3):  # pages render at the real clock
        record_event(hot.id, "page_viewed", utcnow() - timedelta(days=days), url=PRICING)
    db.session.commit()
    login(client, alice)
    html = client.get(f"/contacts/{hot.id}").get_data(as_text=True)
    assert 'id="score-panel"' in html and "read the pricing page 3 times this week" in html
    assert "<polyline points=" in html


def test_in_market_lists_the_engaged_best_first(client, login, alice, bob, hot, make_contact):
    lukewarm = make_contact(owner_id=alice.id)
    record_event(lukewarm.id, "email_opened", NOW - timedelta(days=2))
    bobs = make_contact(owner_id=bob.id)
    record_event(bobs.id, "email_replied", NOW)
    db.session.commit()
    login(client, alice)
    html = client.get("/scoring/in-market").get_data(as_text=True)  # a rep sees their own by default
    assert html.index("Ana Ruiz") < html.index(lukewarm.full_name) and bobs.full_name not in html
    everyone = client.get("/scoring/in-market?owner=all").get_data(as_text=True)
    assert bobs.full_name in everyone
    assert client.get("/scoring/in-market?owner=zzz&page=-4").status_code == 200


def test_admin_changes_a_rule_and_scores_follow(client, login, admin, hot):
    before = db.session.get(ContactScore, hot.id).engagement
    login(client, admin)
    html = client.get("/scoring/admin").get_data(as_text=True)
    token = csrf_from(html)
    pricing = db.session.query(ScoringRule).filter_by(url_contains="/pricing").one()
    response = client.post("/scoring/admin/rules", data={"csrf_token": token, "kind": "page_viewed",
                                                          "url_contains": "/blog", "points": "4", "label": "the blog"})
    assert response.status_code == 302
    client.post(f"/scoring/admin/rules/{pricing.id}/delete", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(ScoringSettings, 1).needs_recompute
    recompute_if_needed(NOW)
    db.session.commit()
    after = db.session.get(ContactScore, hot.id)
    # pricing views now count 1 (plain page view), the blog 4, the open 2: recomputed exactly
    assert after.engagement < before
    assert not db.session.get(ScoringSettings, 1).needs_recompute
    bad = client.post("/scoring/admin/rules", data={"csrf_token": token, "kind": "nope", "points": "1e999"})
    assert bad.status_code == 422


def test_admin_settings_validate_and_mark_recompute(client, login, admin):
    login(client, admin)
    token = csrf_from(client.get("/scoring/admin").get_data(as_text=True))
    bad = client.post("/scoring/admin/settings", data={"csrf_token": token, "half_life_days": "-1",
                                                        "saturation_points": "abc"})
    assert bad.status_code == 422
    ok = client.post("/scoring/admin/settings", data={"csrf_token": token, "half_life_days": "7",
                                                       "saturation_points": "30"})
    assert ok.status_code == 302
    db.session.expire_all()
    settings = db.session.get(ScoringSettings, 1)
    assert settings.half_life_days == 7 and settings.needs_recompute


def test_fit_rules_and_the_fit_refresh_job(client, login, admin, make_contact, make_company):
    company = make_company(industry="Breweries", employee_count=40)
    contact = make_contact(title="Brewmaster", company_id=company.id)
    record_event(contact.id, "email_opened", NOW)
    db.session.commit()
    assert db.session.get(ContactScore, contact.id).fit == 5  # 1-49 employees
    login(client, admin)
    token = csrf_from(client.get("/scoring/admin").get_data(as_text=True))
    response = client.post("/scoring/admin/fit-rules", data={
        "csrf_token": token, "attribute": "industry", "match": "breweries", "points": "20", "label": "brewery"})
    assert response.status_code == 302
    bad = client.post("/scoring/admin/fit-rules", data={
        "csrf_token": token, "attribute": "company_size", "min_value": "50", "max_value": "10", "points": "5"})
    assert bad.status_code == 422
    recompute_if_needed(NOW)
    db.session.commit()
    assert db.session.get(ContactScore, contact.id).fit == 25
    assert "in Breweries" in score_summaries([contact.id], NOW)[contact.id].factors


def test_refresh_picks_up_edited_titles_and_owners(make_contact, admin, alice, bob):
    from crm.contacts.services import update_contact
    from crm.scoring.services import top_scored_contacts

    contact = make_contact(title="Buyer", owner_id=alice.id)
    record_event(contact.id, "email_opened", NOW)
    refresh_fit(NOW)
    db.session.commit()
    assert [cid for cid, _ in top_scored_contacts(alice.id, NOW, 5)] == [contact.id]
    update_contact(admin, contact.id, {"title": "Chief Operating Officer", "owner_id": bob.id}, NOW)
    db.session.commit()
    assert top_scored_contacts(alice.id, NOW, 5) == []  # never shown to the former owner
    assert refresh_fit(NOW + timedelta(minutes=1)) == 1  # the next tick; the edit was stamped NOW
    db.session.commit()
    assert db.session.get(ContactScore, contact.id).fit == 40
    assert [cid for cid, _ in top_scored_contacts(bob.id, NOW, 5)] == [contact.id]


def test_api_score_and_list(client, api_token, alice, hot):
    headers = api_token(alice)
    data = client.get(f"/api/v1/contacts/{hot.id}/score", headers=headers).get_json()
    assert data["contact_id"] == hot.id and len(data["trend"]) == 30
    assert "VP at a 500-person company" in data["factors"] and data["engagement"] > 0
    listed = client.get(f"/api/v1/scores?owner_id={alice.id}", headers=headers).get_json()
    assert [item["contact_id"] for item in listed["items"]] == [hot.id]
    assert client.get("/api/v1/contacts/999999/score", headers=headers).status_code == 404
    spec = client.get("/api/v1/openapi.json", headers=headers).get_json()
    assert "/api/v1/contacts/{contact_id}/score" in spec["paths"] and "/api/v1/scores" in spec["paths"]
