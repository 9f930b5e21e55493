"""My day's targets panel, the team page and the allocation page (CSRF, validation, roles)."""
from __future__ import annotations

from datetime import timedelta

from crm.extensions import db
from crm.targets.models import TargetAllocation
from tests.conftest import NOW, csrf_from
from tests.crm.targets.conftest import NEXT_MONTH, THIS_MONTH, ym


def test_my_day_shows_target_won_pipeline_and_gap_per_family(client, login, feedback, alice, bob, deal_for, win):
    feedback.publish("PUMP", THIS_MONTH, 100, revenue="10000.00")
    feedback.publish("VALVE", NEXT_MONTH, 20, revenue="2000.00")
    deal_for(alice, 30)
    deal_for(bob, 10)
    win(alice, 5, days_ago=(NOW.date() - THIS_MONTH).days)
    login(client, alice)
    html = client.get("/calls").get_data(as_text=True)
    assert 'id="targets-panel"' in html
    assert f'data-family="PUMP" data-period="{ym(THIS_MONTH)}"' in html
    assert f'data-family="VALVE" data-period="{ym(NEXT_MONTH)}"' in html
    pump_row = html.split(f'data-family="PUMP" data-period="{ym(THIS_MONTH)}"')[1].split("</tr>")[0]
    # alice: 0.5 * 15/20 + 0.5 * 5/5 = 87.5 % of 100 -> 88 (largest remainder), won 5, gap 83
    assert ">88<" in pump_row and "83 to go" in pump_row and "€8,300 to go" in pump_row


def test_my_day_says_when_no_plan_is_published(client, login, feedback, alice):
    login(client, alice)
    html = client.get("/calls").get_data(as_text=True)
    assert 'id="targets-empty"' in html and "No published plan" in html


def test_the_team_page_shows_each_rep_and_the_team(client, login, feedback, alice, bob, mallory, deal_for):
    feedback.publish("PUMP", THIS_MONTH, 60)
    deal_for(alice, 10)
    deal_for(bob, 20)
    login(client, mallory)
    html = client.get("/targets/team").get_data(as_text=True)
    assert "Alice Rep" in html and "Bob Rep" in html
    assert html.count('class="card member-targets"') == 3  # mallory, alice, bob
    assert f'href="/targets/allocate?family=PUMP&amp;period={ym(THIS_MONTH)}&amp;manager_id={mallory.id}"' in html


def test_reps_have_no_team_page_and_planners_pick_a_team(client, login, feedback, alice, mallory, pat):
    login(client, alice)
    assert client.get("/targets/team").status_code == 403
    assert client.get(f"/targets/allocate?family=PUMP&period={ym(THIS_MONTH)}").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/calls").get_data(as_text=True))})
    login(client, pat)
    html = client.get("/targets/team").get_data(as_text=True)
    assert "Mallory Manager" in html and 'id="targets-empty"' in html
    assert client.get(f"/targets/allocate?family=PUMP&period={ym(THIS_MONTH)}").status_code == 403


def test_the_manager_allocates_on_the_page(client, login, feedback, alice, bob, mallory, deal_for):
    feedback.publish("PUMP", THIS_MONTH, 60)
    deal_for(alice, 10)
    deal_for(bob, 20)
    login(client, mallory)
    url = f"/targets/allocate?family=PUMP&period={ym(THIS_MONTH)}"
    page = client.get(url).get_data(as_text=True)
    assert 'id="team-total-units">60<' in page
    token = csrf_from(page)

    no_csrf = client.post(url, data={"period": ym(THIS_MONTH), f"units-{alice.id}": "50"})
    assert no_csrf.status_code == 400 and db.session.query(TargetAllocation).count() == 0

    too_much = client.post(url, data={"csrf_token": token, "period": ym(THIS_MONTH), f"units-{alice.id}": "70"})
    assert too_much.status_code == 422
    assert "more than the team&#39;s target of 60" in too_much.get_data(as_text=True)
    assert db.session.query(TargetAllocation).count() == 0

    saved = client.post(url, data={"csrf_token": token, "period": ym(THIS_MONTH), f"units-{alice.id}": "50",
                                   f"units-{bob.id}": ""})
    assert saved.status_code == 302
    row = db.session.query(TargetAllocation).one()
    assert (row.user_id, row.units, row.set_by_id) == (alice.id, 50, mallory.id)
    team = client.get("/targets/team").get_data(as_text=True)
    assert "allocated" in team
    assert "Mallory Manager" in client.get(url).get_data(as_text=True)  # who set it


def test_allocate_without_a_published_month_says_so(client, login, feedback, mallory, alice, families):
    login(client, mallory)
    html = client.get(f"/targets/allocate?family=PUMP&period={ym(THIS_MONTH + timedelta(days=400))}")
    assert html.status_code == 200 and "No published plan" in html.get_data(as_text=True)
    assert client.get("/targets/allocate?family=PUMP&period=junk").status_code == 302
