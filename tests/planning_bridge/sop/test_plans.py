"""Consensus and business plans: imports all or nothing with every bad line listed, versions,
publishing, and a published plan that cannot change (services and database)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from crm.errors import Conflict
from crm.extensions import db
from planning_bridge.sop import services
from planning_bridge.sop.models import BusinessPlanCell, PlanVersion, PlanVersionCell
from tests.conftest import NOW
from tests.planning_bridge.sop.conftest import CYCLE_MONTH, FIRST, SECOND

GOOD = f"family,period,demand_units,capacity_units,revenue\nPUMP,{FIRST},10,12,1000\nVALVE,{SECOND},5,,\n"


def test_a_csv_plan_becomes_a_draft_version_then_published(call, pat, cycle):
    response = call(pat, "POST", f"/consensus-plans?cycle={CYCLE_MONTH}", data=GOOD, content_type="text/csv")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["accepted"] == 2 and body["version"]["version"] == 1 and body["version"]["published_at"] is None
    assert call(pat, "GET", "/consensus-plans/current").status_code == 404  # a draft is not in force
    published = call(pat, "POST", f"/cycles/{CYCLE_MONTH}/plans/1/publish").get_json()
    assert published["published_at"] and published["cells"][0] == {
        "family": "PUMP", "period": FIRST, "demand_units": 10.0, "capacity_units": 12.0, "revenue": "1000.00"}
    assert call(pat, "GET", "/consensus-plans/current").get_json()["version"] == 1


def test_json_rows_and_publish_true(call, pat, cycle):
    rows = [{"family": "PUMP", "period": FIRST, "demand_units": 3, "capacity_units": 4, "revenue": "300"}]
    response = call(pat, "POST", f"/consensus-plans?cycle={CYCLE_MONTH}&publish=true", json={"rows": rows})
    assert response.status_code == 201
    assert response.get_json()["version"]["published_at"] is not None


def test_every_bad_line_is_listed_and_nothing_is_written(call, pat, cycle):
    bad = ("family,period,demand_units,capacity_units,revenue\n"
           f"PUMP,{FIRST},10,12,1000\n"        # line 2 fine
           f"NOPE,{FIRST},1,1,1\n"              # 3 unknown family
           "PUMP,2026-13,1,1,1\n"               # 4 not a month
           f"PUMP,{SECOND},-1,1,1\n"            # 5 negative
           f"VALVE,{SECOND},abc,1,1\n"          # 6 not a number
           f"PUMP,{FIRST},1,1,1\n"              # 7 duplicate of line 2
           "PUMP,1999-01,1,1,1\n"               # 8 outside the horizon
           f"VALVE,{FIRST},1,2\n")              # 9 too few values
    response = call(pat, "POST", f"/consensus-plans?cycle={CYCLE_MONTH}&publish=true", data=bad,
                    content_type="text/csv")
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert sorted(fields) == [f"line {n}" for n in range(3, 10)]
    assert "unknown family" in fields["line 3"] and "first on line 2" in fields["line 7"]
    assert "horizon" in fields["line 8"]
    assert db.session.query(PlanVersion).count() == 0 and db.session.query(PlanVersionCell).count() == 0


def test_bad_json_rows_are_numbered(call, pat, cycle):
    rows = [{"family": "PUMP", "period": FIRST, "demand_units": 1}, {"family": "PUMP"}, "x",
            {"family": "PUMP", "period": SECOND, "demand_units": 1, "colour": "red"}]
    fields = call(pat, "POST", f"/consensus-plans?cycle={CYCLE_MONTH}", json=rows).get_json()["error"]["fields"]
    assert sorted(fields) == ["row 2", "row 3", "row 4"]


def test_a_header_without_the_columns_is_refused(call, pat, cycle):
    response = call(pat, "POST", f"/consensus-plans?cycle={CYCLE_MONTH}", data="family,units\nPUMP,1\n",
                    content_type="text/csv")
    assert response.status_code == 422 and "missing columns" in response.get_json()["error"]["fields"]["line 1"]


def test_a_plan_needs_an_open_cycle(call, pat, families):
    response = call(pat, "POST", "/consensus-plans?cycle=2001-01", data=GOOD, content_type="text/csv")
    assert response.status_code == 404


def _publish(pat):
    imported = services.import_plan(pat, CYCLE_MONTH, GOOD.encode(), NOW, publish_it=True)
    db.session.commit()
    return imported.version


def test_a_published_version_cannot_be_published_again_nor_the_cycle_changed(pat, cycle):
    version = _publish(pat)
    with pytest.raises(Conflict):
        services.publish(pat, CYCLE_MONTH, version.version, NOW)
    with pytest.raises(Conflict):
        services.add_override(pat, CYCLE_MONTH, "PUMP", FIRST, 5, "after the meeting", NOW)
    with pytest.raises(Conflict):
        services.set_capacity(pat, CYCLE_MONTH, [{"family": "PUMP", "period": FIRST, "units": 1}], NOW)


def test_the_database_refuses_to_change_a_published_plan(pat, cycle):
    version = _publish(pat)
    cell_id = version.cells[0].id
    with pytest.raises(DBAPIError):
        db.session.execute(update(PlanVersionCell).where(PlanVersionCell.id == cell_id).values(demand_units=99))
    db.session.rollback()
    with pytest.raises(DBAPIError):
        db.session.execute(text("UPDATE sop_plan_versions SET published_at = NULL"))
    db.session.rollback()
    with pytest.raises(DBAPIError):
        db.session.execute(text(f"INSERT INTO sop_plan_cells (plan_id, family, period, demand_units) "
                                f"VALUES ({version.id}, 'VALVE', '{FIRST}', 1)"))
    db.session.rollback()
    assert db.session.get(PlanVersionCell, cell_id).demand_units == Decimal("10.000")


def test_a_draft_can_still_change_in_the_database(pat, cycle):
    imported = services.import_plan(pat, CYCLE_MONTH, GOOD.encode(), NOW)
    db.session.commit()
    db.session.execute(update(PlanVersionCell).where(PlanVersionCell.plan_id == imported.version.id)
                       .values(demand_units=1))
    db.session.commit()  # the triggers only guard published versions


def test_a_new_version_supersedes_the_plan_in_force(pat, cycle):
    first = _publish(pat)
    second = services.publish_cycle(pat, CYCLE_MONTH, NOW)
    db.session.commit()
    assert (first.version, second.version) == (1, 2)
    assert services.plan_in_force().id == second.id
    assert db.session.get(PlanVersion, first.id).published_at is not None  # kept, superseded


def test_the_cycle_plan_publishes_demand_capacity_and_revenue(pat, cycle):
    services.set_family_supply(pat, CYCLE_MONTH, "PUMP", NOW, strategy="make_to_order", unit_price="250")
    services.add_override(pat, CYCLE_MONTH, "PUMP", FIRST, 8, "trade show leads", NOW)
    services.set_capacity(pat, CYCLE_MONTH, [{"family": "PUMP", "period": FIRST, "units": "6"}], NOW)
    version = services.publish_cycle(pat, CYCLE_MONTH, NOW)
    cell = next(c for c in version.cells if (c.family, c.period) == ("PUMP", FIRST))
    assert (cell.demand_units, cell.capacity_units, cell.revenue) == (Decimal(8), Decimal(6), Decimal(2000))
    assert len(version.cells) == 2 * 18  # every family and month of the horizon


def test_the_business_plan_imports_and_replaces_its_months(call, pat, finance, cycle):
    csv = f"family,period,revenue\nPUMP,{FIRST},1000\nVALVE,{FIRST},500.5\n"
    response = call(pat, "POST", "/business-plans", data=csv, content_type="text/csv")
    assert response.status_code == 201 and response.get_json()["accepted"] == 2
    again = call(pat, "POST", "/business-plans", json=[{"family": "PUMP", "period": FIRST, "revenue": 1200}])
    assert again.get_json()["replaced"] == 1
    assert {(c.family, c.revenue) for c in db.session.query(BusinessPlanCell)} == {
        ("PUMP", Decimal("1200.00")), ("VALVE", Decimal("500.50"))}
    bad = call(pat, "POST", "/business-plans", data="family,period,revenue\nPUMP,x,1\nNOPE,2026-01,-3\n",
               content_type="text/csv")
    assert bad.status_code == 422 and sorted(bad.get_json()["error"]["fields"]) == ["line 2", "line 3"]
    assert call(finance, "POST", "/business-plans", data=csv, content_type="text/csv").status_code == 403
