"""`flask --app wsgi crm seed-demo`: a believable demo company, deterministic, idempotent,
with a deal history that replays and outcomes a model can learn.

Seeding takes seconds, so the module seeds twice in all (once through the CLI, once through
``seed_demo`` into an emptied database) and the tests assert on snapshots of those runs.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from statistics import mean

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from crm.demo import catalog
from crm.demo.seed import DEFAULT_SEED, build_plan, seed_demo
from crm.demo.timing import reference_today
from crm.extensions import db
from tests.conftest import _empty_all_tables
from tests.crm.demo.snapshot import Snapshot, take_snapshot

TODAY = date(2026, 3, 9)  # a Monday: the reference today of these tests
END = datetime.combine(TODAY, time(0), tzinfo=timezone.utc)
SEED_ARGS = ["crm", "seed-demo", "--today", TODAY.isoformat()]


@dataclass
class Runs:
    first_exit: int
    first_output: str
    rerun_exit: int
    rerun_output: str
    first: Snapshot
    after_rerun: Snapshot
    reseeded: Snapshot


@pytest.fixture(scope="module")
def runs(app) -> Runs:
    with app.app_context():
        _empty_all_tables()
        runner = app.test_cli_runner()
        first_run = runner.invoke(args=SEED_ARGS)
        first = take_snapshot()
        rerun = runner.invoke(args=SEED_ARGS)
        after_rerun = take_snapshot()
        _empty_all_tables()
        seed_demo(seed=DEFAULT_SEED, today=TODAY, commit=db.session.commit)
        reseeded = take_snapshot()
        _empty_all_tables()
        db.session.remove()
    return Runs(first_run.exit_code, first_run.output, rerun.exit_code, rerun.output,
                first, after_rerun, reseeded)


def _stage_reached(deal, positions: dict[str, int]) -> int:
    return max(positions[new] for field, _old, new, *_ in deal.changes if field == "stage")


# --- what gets built --------------------------------------------------------------------

def test_seed_demo_prints_every_login_with_the_shared_password(runs):
    assert runs.first_exit == 0, runs.first_output
    assert "demo data seeded" in runs.first_output
    for user in catalog.USERS:
        line = next(printed for printed in runs.first_output.splitlines() if user.email in printed)
        assert user.role in line and catalog.DEMO_PASSWORD in line


def test_demo_team_has_every_role_and_reps_on_the_managers_team(runs):
    roles = Counter(role for _email, role, _manager, _tz in runs.first.users)
    assert roles == {"admin": 1, "manager": 1, "rep": 3, "planner": 1}
    reps = [u for u in runs.first.users if u[1] == "rep"]
    assert {manager for _e, _r, manager, _tz in reps} == {catalog.MANAGER.email}
    assert len({tz for *_rest, tz in reps}) == 3


def test_demo_has_400_companies_and_2000_contacts_spread_like_real_ones(runs):
    snap = runs.first
    assert len(snap.companies) == 400 and len(snap.contacts) == 2000
    assert len({c[0] for c in snap.companies}) == 400  # unique domains
    headcounts = [c[3] for c in snap.companies]
    assert min(headcounts) < 20 and max(headcounts) > 10_000
    assert sum(h < 100 for h in headcounts) > 80 and sum(h > 1000 for h in headcounts) > 80  # log-uniform
    assert len({c[4] for c in snap.companies}) >= 10
    assert {c[4].split("/")[0] for c in snap.companies} >= {"Europe", "America", "Asia", "Australia"}
    reps = {u[0] for u in snap.users if u[1] == "rep"}
    assert {c[6] for c in snap.contacts} <= reps
    free_mail = [c for c in snap.contacts if c[5] and not c[0].endswith("@" + c[5])]
    assert 20 < len(free_mail) < 200
    assert 0 < sum(c[9] for c in snap.contacts) < 100  # do not contact
    assert 0 < sum(c[10] for c in snap.contacts) < 150  # unsubscribed
    assert sum(bool(c[11]) for c in snap.contacts) > 1000  # LinkedIn profiles
    assert set(Counter(c[8] for c in snap.contacts)) == {"lead", "mql", "sql", "opportunity", "customer"}


def test_demo_sells_four_product_families_through_a_five_stage_pipeline(runs):
    assert [f[0] for f in runs.first.families] == ["CTRL", "PUMP", "SENSOR", "VALVE"]
    assert all(7 <= lead <= 45 for *_rest, lead in runs.first.families)
    probabilities = [float(p) for _pos, _name, p in runs.first.stages]
    assert len(probabilities) == 5 and probabilities == sorted(probabilities)


def test_two_years_of_deals_end_won_or_lost_and_about_150_stay_open(runs):
    deals = runs.first.deals
    statuses = Counter(d.status for d in deals)
    assert 120 <= statuses["open"] <= 180
    assert statuses["won"] >= 100 and statuses["lost"] >= 300
    assert len({d.stage for d in deals if d.status == "open"}) == 5
    assert all(d.lost_reason for d in deals if d.status == "lost")
    assert (END - min(d.created_at for d in deals)).days >= 700
    years_closed = {(TODAY - d.closed_on).days // 365 for d in deals if d.status == "won"}
    assert years_closed == {0, 1}
    assert all(c[3] < END for d in deals for c in d.changes)
    assert all(d.lines and float(d.amount) > 0 for d in deals)


def test_activities_cover_the_two_years_and_won_deals_have_more(runs):
    kinds = runs.first.activity_kinds
    assert all(kinds[kind] > 500 for kind in ("note", "call", "email_sent", "meeting_held"))
    moments = [a[1] for a in runs.first.activities]
    assert max(moments) < END and (END - min(moments)).days > 700
    won = [d.engagement for d in runs.first.deals if d.status == "won"]
    lost = [d.engagement for d in runs.first.deals if d.status == "lost"]
    assert mean(won) > 1.5 * mean(lost)


def test_a_mexican_company_selling_in_pesos_dollars_and_euros_with_every_rate_it_needs(runs):
    snap = runs.first
    assert snap.money["base"] == catalog.BASE_CURRENCY == "MXN"
    currencies = Counter(d.currency for d in snap.deals)
    assert set(currencies) == {"MXN", "USD", "EUR"} and currencies["MXN"] > currencies["USD"] > 50
    assert {c for c, _day, _rate in snap.money["rates"]} == {"USD", "EUR"}
    assert snap.money["missing"] == []  # every deal converts, open and closed
    zones = Counter(c[4] for c in snap.companies)
    assert all(zones[zone] > 10 for zone in ("America/Mexico_City", "America/Monterrey", "America/Tijuana",
                                             "America/Cancun"))
    assert sum(n for zone, n in zones.items() if zone.startswith("Europe/")) > 20
    assert sum(zones[z] for z in ("America/Chicago", "America/New_York", "America/Los_Angeles")) > 30


def test_reps_work_in_spanish_and_one_in_english_and_contacts_carry_their_language(runs):
    reps = {u.email: runs.first.languages[u.email] for u in catalog.REPS}
    assert sorted(reps.values()) == ["en", "es", "es"]
    mexican = [c for c in runs.first.contacts if c[0].endswith(".com.mx") or c[5] and c[5].endswith(".com.mx")]
    assert mexican and all(runs.first.languages[c[0]] == "es" for c in mexican)
    titles = {c[3] for c in runs.first.contacts}
    assert "Gerente de Mantenimiento" in titles and "Plant Manager" in titles
    assert [name for _pos, name, _p in runs.first.stages][0] == "Prospección"


# --- deterministic and idempotent -------------------------------------------------------

def test_the_same_seed_builds_the_same_demo(runs):
    assert runs.reseeded.digest() == runs.first.digest()


def test_a_different_seed_builds_a_different_company():
    one, other = build_plan(1, TODAY), build_plan(2, TODAY)
    assert [c.domain for c in one.companies] != [c.domain for c in other.companies]


def test_a_second_run_adds_nothing_and_still_prints_the_logins(runs):
    assert runs.rerun_exit == 0
    assert "demo data already present" in runs.rerun_output
    assert all(user.email in runs.rerun_output for user in catalog.USERS)
    assert catalog.DEMO_PASSWORD in runs.rerun_output
    assert runs.after_rerun.digest() == runs.first.digest()


def test_seed_demo_leaves_a_database_holding_other_data_alone(app, make_user):
    make_user("admin", email="owner@acme-sales.com")
    result = app.test_cli_runner().invoke(args=SEED_ARGS)
    assert result.exit_code == 0
    assert "not seeding" in result.output
    assert catalog.ADMIN.email not in result.output


def test_an_interrupted_seed_is_reported_not_mistaken_for_a_finished_one(app):
    from crm.auth.services import create_user

    create_user(catalog.ADMIN.email, "admin", catalog.DEMO_PASSWORD)  # the planner comes last
    db.session.commit()
    result = app.test_cli_runner().invoke(args=SEED_ARGS)
    assert result.exit_code == 1
    assert "interrupted" in result.output


def test_reference_today_is_the_monday_of_the_current_week():
    assert reference_today(datetime(2026, 3, 12, 23, 59, tzinfo=timezone.utc)) == TODAY
    assert reference_today(datetime(2026, 3, 9, 0, 0, tzinfo=timezone.utc)) == TODAY


# --- the history is consistent ----------------------------------------------------------

def test_deal_change_history_replays_to_every_deals_current_values(runs):
    for deal in runs.first.deals:
        state: dict = {}
        for field, old, new, _at, _by in deal.changes:
            assert old == state.get(field), (deal.name, field)
            state[field] = new
        assert state == {"stage": deal.stage, "expected_close": deal.expected_close,
                         "amount": deal.amount, "lines": deal.lines, "status": deal.status}, deal.name
        assert deal.changes[0][3] == deal.created_at
        assert [c[3] for c in deal.changes if c[0] == "stage"][-1] == deal.stage_entered_at
        if deal.status != "open":
            closing = [c for c in deal.changes if c[0] == "status"][-1]
            assert closing[3].date() == deal.closed_on


def test_some_deals_slipped_their_close_date_and_some_were_requoted(runs):
    def slips(deal):
        return [c for c in deal.changes if c[0] == "expected_close" and c[1] is not None and c[2] > c[1]]

    slipped = [d for d in runs.first.deals if slips(d)]
    assert len(slipped) > 0.15 * len(runs.first.deals)
    assert any(len(slips(d)) >= 3 for d in slipped)
    assert any(by == catalog.MANAGER.email for d in slipped for *_rest, by in slips(d))  # pipeline reviews
    requoted = [d for d in runs.first.deals if sum(c[0] == "lines" for c in d.changes) > 1]
    assert len(requoted) > 100


# --- outcomes are learnable -------------------------------------------------------------

def test_outcomes_are_learnable_from_stage_engagement_and_company_size(runs):
    """A logistic regression trained on the older two thirds of closed deals ranks the most
    recent third far better than chance and beats the base rate's log loss."""
    positions = {name: position for position, name, _p in runs.first.stages}
    closed = sorted((d for d in runs.first.deals if d.status != "open"), key=lambda d: (d.closed_on, d.name))
    features = [[_stage_reached(d, positions), math.log1p(d.engagement), math.log(d.employee_count)]
                for d in closed]
    won = [d.status == "won" for d in closed]
    split = len(closed) * 2 // 3
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(features[:split], won[:split])
    predicted = model.predict_proba(features[split:])[:, 1]
    assert roc_auc_score(won[split:], predicted) > 0.7
    base_rate = [mean(won[:split])] * len(predicted)
    assert log_loss(won[split:], predicted) < 0.8 * log_loss(won[split:], base_rate)


def test_small_accounts_are_won_more_often_than_large_ones(runs):
    closed = [d for d in runs.first.deals if d.status != "open"]
    small = [d.status == "won" for d in closed if d.employee_count < 200]
    large = [d.status == "won" for d in closed if d.employee_count >= 2000]
    assert mean(small) > mean(large) + 0.05
