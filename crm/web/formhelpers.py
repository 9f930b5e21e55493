"""Glue between WTForms and the services: select choices every form needs, custom-field form
fields built from the admin's definitions, and service errors put next to the right field."""
from __future__ import annotations

from typing import Any

from flask import abort, request
from wtforms import Form, SelectField, StringField
from wtforms.validators import Length, Optional

from crm.auth.services import list_users
from crm.errors import NotFound, PermissionDenied, ServiceError
from crm.timeutil import all_timezones
from crm.web.access import SALES

try:  # WTForms 3.3 deprecates (value, label) tuples in favour of SelectChoice
    from wtforms import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    SelectChoice = None


def choice_list(pairs) -> list:
    """(value, label) pairs in the shape this WTForms version wants for ``choices=``."""
    pairs = list(pairs)
    return [SelectChoice(value, label) for value, label in pairs] if SelectChoice else pairs


BOOLEAN_CHOICES = [("", "—"), ("yes", "Yes"), ("no", "No")]


def timezone_choices(blank: str) -> list[tuple[str, str]]:
    return choice_list([("", blank)] + [(name, name) for name in all_timezones()])


def sales_users() -> list:
    """Active users who may own records (reps, managers, admins)."""
    return [u for u in list_users() if u.role in SALES and u.is_active]


def sales_user_choices(blank: str) -> list[tuple[str, str]]:
    return choice_list(
        [("", blank)] + [(str(u.id), u.name) for u in sorted(sales_users(), key=lambda u: u.name.lower())]
    )


def int_arg(name: str) -> int | None:
    """An integer query-string argument; junk reads as absent instead of failing."""
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        return None


# --- custom fields --------------------------------------------------------------------------

def custom_form_name(key: str) -> str:
    return f"custom_{key}"


def custom_form_field(definition):
    """A WTForms field for one custom field. Values are validated by the service (one set of
    rules for pages, API and imports), so these fields only shape the input."""
    label = definition.label
    if definition.field_type == "choice":
        return SelectField(label, choices=choice_list([("", "—")] + [(c, c) for c in definition.choices]),
                           validate_choice=False)
    if definition.field_type == "boolean":
        return SelectField(label, choices=choice_list(BOOLEAN_CHOICES), validate_choice=False)
    render = {"number": {"inputmode": "decimal"}, "date": {"type": "date"}}.get(definition.field_type, {})
    return StringField(label, validators=[Optional(), Length(max=1000)], render_kw=render)


def with_custom_fields(form_class: type[Form], definitions) -> type[Form]:
    """A subclass of ``form_class`` with one field per custom-field definition."""
    attrs = {custom_form_name(d.key): custom_form_field(d) for d in definitions}
    return type(form_class.__name__, (form_class,), attrs)


def custom_form_data(definitions, stored: dict[str, Any] | None) -> dict[str, Any]:
    """Stored custom values as form data (booleans as yes/no, numbers as text)."""
    data = {}
    for d in definitions:
        value = (stored or {}).get(d.key)
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif value is not None:
            value = str(value) if not (isinstance(value, float) and value.is_integer()) else str(int(value))
        data[custom_form_name(d.key)] = value
    return data


def custom_values_from_form(form: Form, definitions) -> dict[str, Any]:
    return {d.key: (form[custom_form_name(d.key)].data or None) for d in definitions}


# --- errors ---------------------------------------------------------------------------------

def apply_service_errors(form: Form, exc: ServiceError, aliases: dict[str, str] | None = None) -> None:
    """Put each ``exc.fields`` message on its form field (``custom.key`` → ``custom_key``);
    anything without a field becomes a form-level error, so nothing is silently dropped."""
    aliases = aliases or {}
    if not exc.fields:
        form.form_errors.append(exc.message)
    for key, message in exc.fields.items():
        name = aliases.get(key, key)
        if name.startswith("custom."):
            name = custom_form_name(name.removeprefix("custom."))
        field = form._fields.get(name) if hasattr(form, "_fields") else None
        if field is not None:
            field.errors = list(field.errors or []) + [str(message)]
        else:
            form.form_errors.append(f"{key}: {message}")


def abort_for(exc: ServiceError):
    """Turn a not-found or permission error from a service into the matching error page."""
    if isinstance(exc, NotFound):
        abort(404, exc.message)
    if isinstance(exc, PermissionDenied):
        abort(403, exc.message)
    abort(exc.status, exc.message)
