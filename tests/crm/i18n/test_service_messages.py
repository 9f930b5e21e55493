"""The services' refusals and the pages' flashes speak the reader's language (issue #17): a
planning API 422 (summary and field), the alerts page's flash with its proper plural, a
stage that still holds deals; English stays as it always read."""
from __future__ import annotations

from datetime import time, timedelta

import pytest

from crm.alerts.services import notify
from crm.calls.blocks import describe
from crm.calls.models import TimeBlock
from crm.extensions import db
from crm.i18n import force_language
from tests.conftest import NOW, csrf_from
from tests.crm.api.conftest import ApiClient, error_of


@pytest.mark.parametrize("language, message, field", [
    ("en", "invalid month range", "must not be before from"),
    ("es", "rango de meses no válido", "no debe ser anterior a from"),
])
def test_a_planning_422_reads_in_the_users_language(client, api_token, pat, families, stages,
                                                    language, message, field):
    pat.language = language
    db.session.commit()
    response = ApiClient(client, api_token(pat)).get("/planning/demand-input",
                                                      query_string={"from": "2030-05", "to": "2030-01"})
    assert response.status_code == 422
    error = error_of(response)
    assert error["message"] == message and error["fields"] == {"to": field}


@pytest.mark.parametrize("language, one, two", [
    ("en", "1 alert marked as read.", "2 alerts marked as read."),
    ("es", "1 alerta marcada como leída.", "2 alertas marcadas como leídas."),
])
def test_the_mark_all_read_flash_counts_in_the_users_language(client, login, alice, language, one, two):
    alice.language = language
    notify(alice.id, "reply", "first", now=NOW)
    db.session.commit()
    login(client, alice)
    token = csrf_from(client.get("/alerts").get_data(as_text=True))
    html = client.post("/alerts/read-all", data={"csrf_token": token}, follow_redirects=True).get_data(as_text=True)
    assert one in html
    notify(alice.id, "reply", "second", now=NOW)
    notify(alice.id, "reply", "third", now=NOW)
    db.session.commit()
    html = client.post("/alerts/read-all", data={"csrf_token": token}, follow_redirects=True).get_data(as_text=True)
    assert two in html and "alert(s)" not in html and "alerts(s)" not in html


@pytest.mark.parametrize("language, refusal", [
    ("en", "1 open deal is in this stage; move it first"),
    ("es", "1 negocio abierto está en esta etapa; muévelo primero"),
])
def test_a_stage_holding_a_deal_refuses_in_the_admins_language(client, login, admin, stages, make_deal,
                                                               language, refusal):
    admin.language = language
    db.session.commit()
    make_deal(stage_id=stages[1].id)
    login(client, admin)
    token = csrf_from(client.get("/account").get_data(as_text=True))
    response = client.post(f"/admin/stages/{stages[1].id}/active", data={"csrf_token": token, "active": "0"},
                           follow_redirects=True)
    assert refusal in response.get_data(as_text=True)


def test_a_time_block_is_described_in_the_readers_language(app):
    day = NOW.date() + timedelta(days=(7 - NOW.weekday()) % 7)  # the next Monday
    one_off = TimeBlock(kind="one_off", on_date=day, start_time=time(9), end_time=time(12),
                        time_zone="America/Monterrey")
    weekly = TimeBlock(kind="weekly", weekdays="02", start_time=time(9), end_time=time(12),
                       time_zone="America/Monterrey", valid_from=day, valid_until=None)
    with app.test_request_context("/"):
        with force_language("en"):
            assert describe(one_off).startswith(f"Mon {day.day} ")
            assert describe(weekly).startswith("Mon, Wed 09:00-12:00") and " to …" in describe(weekly)
        with force_language("es"):
            assert describe(one_off).startswith(f"lun {day.day} ")
            assert describe(weekly).startswith("lun, mié 09:00-12:00") and " a …" in describe(weekly)
