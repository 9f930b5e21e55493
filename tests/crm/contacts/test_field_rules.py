"""The contact input's per-field rules (``CONTACT_FIELD_CHECKS``), applied one by one as the CSV
import applies them, give exactly what the input model gives: the same values, and for bad
input the same fields with the same reasons."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.contacts.services import CONTACT_FIELD_CHECKS, contact_values
from crm.errors import ValidationFailed

SAMPLES = {
    "email": ["Ana.Garcia@Iberia-Valves.COM", "josé@example.es", "a@b", "", "  x@y.io ", "a@foo.test"],
    "time_zone": ["Europe/Madrid", "America/Mexico_City", "Mars/Olympus", "", "UTC"],
    "language": ["es", "EN", "es-MX", "klingon", ""],
    "lifecycle_stage": ["lead", "MQL", "customer", "evangelist", ""],
    "linkedin_url": ["https://www.linkedin.com/in/ana", "javascript:alert(1)", "linkedin.com/in/ana", ""],
    "x_url": ["https://x.com/ana", "ftp://x.com", ""],
    "phone": ["+49 30 1234567", "+1 555 0100 ext. 99999999999999999999999999999", "tab\there", "nul\x00"],
}
CHECKED = list(CONTACT_FIELD_CHECKS)


@st.composite
def contact_data(draw):
    keys = draw(st.lists(st.sampled_from(CHECKED), unique=True, max_size=6))
    data = {}
    for key in keys:
        strategies = [st.text(max_size=12), st.text(min_size=95, max_size=310)]
        if key in SAMPLES:
            strategies.append(st.sampled_from(SAMPLES[key]))
        if key in ("do_not_contact", "unsubscribed"):
            strategies = [st.booleans(), st.sampled_from(["yes", "true", ""])]
        data[key] = draw(st.one_of(strategies))
    return data


def by_the_rules(data):
    clean, errors = {}, {}
    for key, value in data.items():
        try:
            clean[key] = CONTACT_FIELD_CHECKS[key](value)
        except ValueError as exc:
            errors[key] = str(exc)
    return clean, errors


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contact_data())
def test_the_field_rules_answer_as_the_input_model(app, data):
    try:
        expected, expected_errors = contact_values(data, partial=True), {}
    except ValidationFailed as exc:
        expected, expected_errors = None, exc.fields
    clean, errors = by_the_rules(data)
    assert errors == expected_errors
    if not expected_errors:
        assert clean == expected


def test_every_value_only_rule_of_the_model_is_in_the_table():
    assert CHECKED == ["email", "first_name", "last_name", "title", "phone", "linkedin_url", "x_url",
                       "source", "time_zone", "language", "lifecycle_stage", "do_not_contact", "unsubscribed"]
