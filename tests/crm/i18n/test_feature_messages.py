"""The features' own validators speak the reader's language (issue #17): a deal's lines in the
API's 422 fields, a tracker form's error on its page, a meeting type's hours; English stays as
it always read."""
from __future__ import annotations

from datetime import timedelta

import pytest

from crm.extensions import db
from crm.i18n import force_language
from crm.meetings.availability import parse_hhmm
from tests.conftest import NOW, csrf_from
from tests.crm.api.conftest import ApiClient, error_of


@pytest.fixture
def api(client, api_token):
    return lambda user: ApiClient(client, api_token(user))


def _deal(stages, **overrides):
    return {"name": "Pumps for Initech", "stage_id": stages[0].id,
            "expected_close": (NOW.date() + timedelta(days=60)).isoformat(),
            "lines": [{"family": "PUMP", "quantity": 2, "unit_price": "10.00"}], **overrides}


def test_a_deals_422_fields_read_in_the_users_language(api, alice, stages, families):
    bad_lines = [{"family": "GIZMO", "quantity": 1, "unit_price": "1.00"}]
    mismatch = [{"family": "PUMP", "quantity": 2, "unit_price": "10.00", "amount": "25.00"}]
    english = error_of(api(alice).post("/deals", json=_deal(stages, stage_id=999, lines=bad_lines)))["fields"]
    assert english == {"stage_id": "unknown pipeline stage", "lines.0.family": "unknown product family"}
    assert error_of(api(alice).post("/deals", json=_deal(stages, lines=mismatch)))["fields"] == {
        "lines.0": "amount must be quantity x unit_price = 20.00"}
    alice.language = "es"
    db.session.commit()
    spanish = error_of(api(alice).post("/deals", json=_deal(stages, stage_id=999, lines=bad_lines)))["fields"]
    assert spanish == {"stage_id": "etapa del embudo desconocida", "lines.0.family": "familia de productos desconocida"}
    assert error_of(api(alice).post("/deals", json=_deal(stages, lines=mismatch)))["fields"] == {
        "lines.0": "amount debe ser quantity x unit_price = 20.00"}


def test_a_feature_forms_error_reads_in_the_users_language(client, login, mallory):
    mallory.language = "es"
    db.session.commit()
    login(client, mallory)
    token = csrf_from(client.get("/reviews/trackers").get_data(as_text=True))
    bad = client.post("/reviews/trackers", data={"name": "", "phrases": "", "csrf_token": token})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "al menos una palabra o frase" in html
    assert "at least one word or phrase" not in html


def test_a_validators_message_is_read_when_raised(app):
    for language, expected in (("en", "use HH:MM (24-hour)"), ("es", "usa HH:MM (24 horas)")):
        with force_language(language), pytest.raises(ValueError) as caught:
            parse_hhmm("25:99")
        assert str(caught.value) == expected
