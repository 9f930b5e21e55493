"""The manager's team pages (issue 20): activity per rep and week, pipeline by rep and stage,
sequence and template performance; each with an SVG chart and a CSV download."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from crm.contacts.timeline import record_activity
from crm.extensions import db
from crm.team import services
from crm.team.charts import Series, bar_chart
from tests.conftest import NOW


@pytest.fixture
def team(mallory, alice, bob, charlie, make_contact):
    """Alice and Bob report to Mallory; Charlie is on nobody's team."""
    alice_contact = make_contact(owner_id=alice.id)
    this_week, last_week = NOW - timedelta(hours=1), NOW - timedelta(days=7)
    for kind, at, details in (("email_sent", this_week, {}), ("email_sent", last_week, {}),
                              ("call", this_week, {"outcome": "connected"}),
                              ("call", this_week, {"outcome": "no_answer"}),
                              ("deal_stage_changed", this_week, {"from": "A", "to": "B"})):
        record_activity(kind, at, contact_id=alice_contact.id, user_id=alice.id, details=details)
    # A reply carries no user: it counts for the contact's owner.
    record_activity("email_replied", this_week, contact_id=alice_contact.id, details={"subject": "Re: hi"})
    record_activity("call", this_week, contact_id=make_contact(owner_id=charlie.id).id, user_id=charlie.id)
    db.session.commit()
    return alice, bob, charlie


def test_a_manager_sees_their_reps_per_week_never_themselves(team, mallory):
    alice, bob, charlie = team
    report = services.activity_report(mallory, NOW, weeks=2)
    assert [r.id for r in report.reps] == [alice.id, bob.id]
    last, this = report.weeks
    assert this.weekday() == 0 and last == this - timedelta(days=7)
    assert (report.cell(alice.id, this, "emails_sent"), report.cell(alice.id, last, "emails_sent")) == (1, 1)
    assert (report.cell(alice.id, this, "calls"), report.cell(alice.id, this, "connects")) == (2, 1)
    assert report.cell(alice.id, this, "replies") == 1
    assert report.cell(alice.id, this, "deals_moved") == 1
    assert report.rep_total(bob.id, "calls") == 0


def test_an_admin_sees_every_rep_and_a_rep_sees_no_team(team, admin, alice):
    assert {r.name for r in services.team_members(admin)} == {"Alice Rep", "Bob Rep", "Charlie Rep"}
    with pytest.raises(services.PermissionDenied):
        services.team_members(alice)


@pytest.mark.parametrize("raw", ["0", "27", "abc", "-1", "1e3"])
def test_a_bad_period_is_refused_with_the_field_named(raw):
    with pytest.raises(services.ValidationFailed) as caught:
        services.parse_weeks(raw)
    assert "weeks" in caught.value.fields


def test_the_pipeline_adds_amounts_per_currency_only(mallory, alice, make_deal, stages):
    make_deal(owner_id=alice.id, actor=alice)
    make_deal(owner_id=alice.id, actor=alice, stage_id=stages[1].id)
    report = services.pipeline_report(mallory)
    assert report.rep_count(alice.id) == 2
    assert list(report.rep_amounts(alice.id)) == ["EUR"]


def test_team_pages_render_charts_and_csv(client, login, team, mallory):
    login(client, mallory)
    for path in ("/team/activity", "/team/pipeline", "/team/sequences"):
        html = client.get(path).get_data(as_text=True)
        assert "Alice Rep" in html or path == "/team/sequences", path
        assert 'href="' + path + '?' in html or path == "/team/pipeline"
    html = client.get("/team/activity?weeks=2").get_data(as_text=True)
    assert '<svg class="chart"' in html and 'role="img"' in html and " style=" not in html.split("<svg", 1)[1]
    assert "Mallory Manager</td>" not in html
    response = client.get("/team/activity?weeks=2&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Rep", "Week starting", "Emails sent"]
    this_monday = services.week_starts(mallory, NOW, 1)[0].isoformat()
    alice_this_week = next(r for r in rows if r[0] == "Alice Rep" and r[1] == this_monday)
    assert alice_this_week[2:6] == ["1", "1", "2", "1"]
    assert client.get("/team/activity?weeks=99").status_code == 422
    assert client.get("/team/activity?format=xml").status_code == 422
    assert client.get("/team/pipeline?format=csv").mimetype == "text/csv"
    assert client.get("/team/sequences?format=csv").mimetype == "text/csv"


def test_reps_and_planners_are_refused(client, login, alice, make_user):
    login(client, alice)
    assert client.get("/team/activity").status_code == 403
    assert "/team/activity" not in client.get("/calls").get_data(as_text=True)


def test_csv_cells_never_run_as_formulas(client, login, mallory, make_user):
    make_user("rep", name="=HYPERLINK(1)", manager_id=mallory.id)
    login(client, mallory)
    body = client.get("/team/activity?weeks=1&format=csv").get_data(as_text=True)
    assert "'=HYPERLINK(1)" in body


def test_the_chart_escapes_names_and_scales_to_a_round_top():
    svg = str(bar_chart("c", "Title", ["<b>"], [Series("a&b", [7])]))
    assert "&lt;b&gt;" in svg and "a&amp;b" in svg and "<b>" not in svg
    assert ">10</text>" in svg  # 7 rounds up to an axis top of 10
    assert bar_chart("c", "Empty", [], []) == ""
