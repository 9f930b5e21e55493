from __future__ import annotations

from crm.deals.models import ProductFamily
from crm.extensions import db
from tests.crm.api.conftest import error_of


def test_everyone_lists_families_in_the_planning_shape(api, pat, families):
    response = api(pat).get("/product-families")
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 2
    pump = body["items"][0]
    assert set(pump) == {"id", "code", "name", "unit", "lead_time_days", "is_active"}
    assert {k: pump[k] for k in ("code", "name", "unit", "lead_time_days")} == {
        "code": "PUMP", "name": "Pumps", "unit": "unit", "lead_time_days": 30,
    }
    assert api(pat).get("/product-families/VALVE").get_json()["lead_time_days"] == 14


def test_admin_creates_updates_and_deletes_a_family_by_code(api, admin):
    response = api(admin).post("/product-families", json={
        "code": "MOTOR-XL", "name": "Large motors", "unit": "pcs", "lead_time_days": 45,
    })
    assert response.status_code == 201, response.get_json()
    response = api(admin).patch("/product-families/MOTOR-XL", json={"code": "MOTOR", "lead_time_days": 60})
    assert (response.get_json()["code"], response.get_json()["lead_time_days"]) == ("MOTOR", 60)
    assert api(admin).get("/product-families/MOTOR-XL").status_code == 404
    assert api(admin).delete("/product-families/MOTOR").status_code == 204
    assert db.session.query(ProductFamily).count() == 0


def test_only_admins_write_families(api, alice, mallory, families):
    assert api(alice).post("/product-families", json={"code": "X", "name": "X"}).status_code == 403
    assert api(mallory).patch("/product-families/PUMP", json={"name": "Mine"}).status_code == 403
    assert api(alice).delete("/product-families/PUMP").status_code == 403


def test_family_validation_and_conflicts(api, admin, families):
    response = api(admin).post("/product-families", json={"code": "PUMP", "name": "Again"})
    assert response.status_code == 409 and error_of(response)["fields"] == {"code": "already taken"}
    response = api(admin).post("/product-families", json={
        "code": "has/slash", "name": "", "lead_time_days": 5000, "colour": "red",
    })
    assert response.status_code == 422
    assert set(error_of(response)["fields"]) == {"code", "name", "lead_time_days", "colour"}
    response = api(admin).patch("/product-families/VALVE", json={"code": "PUMP"})
    assert response.status_code == 409


def test_a_family_with_deal_lines_cannot_be_deleted(api, admin, make_deal):
    make_deal()  # sells PUMP
    response = api(admin).delete("/product-families/PUMP")
    assert response.status_code == 409
    assert api(admin).patch("/product-families/PUMP", json={"is_active": False}).status_code == 200
    active = api(admin).get("/product-families?active=true").get_json()["items"]
    assert [f["code"] for f in active] == ["VALVE"]


def test_unknown_family_code_is_404(api, admin):
    for code in ("NOPE", "x" * 300, "%00"):
        response = api(admin).get(f"/product-families/{code}")
        assert response.status_code == 404, code
        assert error_of(response)["code"] == "not_found"
