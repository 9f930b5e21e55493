"""Glue between WTForms and the services: select choices every form needs, custom-field form
fields built from the admin's definitions, and service errors put next to the right field."""
from __future__ import annotations

from typing import Any, Callable

from flask import abort, flash, request
from flask_wtf import FlaskForm
from wtforms import Form, SelectField, StringField
from wtforms.validators import Length, Optional

from crm.auth.services import list_users
from crm.errors import Conflict, NotFound, PermissionDenied, ServiceError
from crm.extensions import db
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


MAX_ID = 2**31 - 1  # the largest value an integer column holds on every database


def int_arg(name: str) -> int | None:
    """A positive integer query-string argument; junk or out-of-range values read as absent
    instead of failing (or overflowing the database driver)."""
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return None
    return value if 0 < value <= MAX_ID else None


def safe_id(value) -> str:
    """A submitted record id as the services take it. Junk or out-of-range ids become "0",
    which no row has, so the service answers with its usual "not found" message instead of
    the database driver overflowing on a 30-digit number."""
    text = str(value).strip() if value is not None else ""
    if not text:
        return ""
    return str(int(text)) if text.isdigit() and int(text) <= MAX_ID else "0"


def too_large(value) -> bool:
    """True for a whole number an integer column cannot hold."""
    text = str(value or "").strip().lstrip("+-")
    return text.isdigit() and int(text) > MAX_ID


# --- text hygiene ---------------------------------------------------------------------------

def strip_nul(value):
    """Drop NUL characters, which PostgreSQL text cannot store (it would answer with a 500)."""
    return value.replace("\x00", "") if isinstance(value, str) else value


class _CleanTextMeta:
    """Form Meta that strips NUL characters from every text and select field."""

    def bind_field(self, form, unbound_field, options):
        if issubclass(unbound_field.field_class, (StringField, SelectField)):
            filters = tuple(unbound_field.kwargs.get("filters", ())) + (strip_nul,)
            return unbound_field.bind(form=form, filters=filters, **options)
        return unbound_field.bind(form=form, **options)


class CrmForm(FlaskForm):
    """Base for page forms: CSRF from Flask-WTF, NUL-free text."""

    class Meta(_CleanTextMeta):
        pass


class CrmSubForm(Form):
    """Base for forms nested in a ``FormField`` (the outer form carries CSRF)."""

    class Meta(_CleanTextMeta):
        pass


def text_arg(name: str, limit: int = 200) -> str:
    """A query-string text argument: NUL-free, trimmed and bounded."""
    return strip_nul(request.args.get(name, "")).strip()[:limit]


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


def commit_or_show_errors(form: Form, action: Callable[[], Any], *, apply_errors=apply_service_errors,
                          on_form: tuple[type[ServiceError], ...] | None = None):
    """Run one service call and commit. On a service error roll back and put its messages on
    the form (a permission error becomes a 403 page). ``on_form`` narrows which errors go on the
    form: any other becomes its error page (``abort_for``). Returns ``(result or None, status)``."""
    try:
        result = action()
        db.session.commit()
        return result, 200
    except ServiceError as exc:
        db.session.rollback()
        if isinstance(exc, PermissionDenied):
            abort(403, exc.message)
        if on_form is not None and not isinstance(exc, on_form):
            abort_for(exc)
        apply_errors(form, exc)
        return None, exc.status


def commit_or_flash(action: Callable[[], Any], *, refusals: tuple[type[ServiceError], ...] = (Conflict,),
                    message: Callable[[ServiceError], str] = lambda exc: exc.message) -> tuple[Any, bool]:
    """Run one service call and commit, for a one-click action that goes back to a list page: a
    refusal (by default a conflict) rolls back and is flashed as an error (``message(exc)``);
    any other service error rolls back and becomes its error page. Returns ``(result, True)``
    on success, ``(None, False)`` after a flashed refusal."""
    try:
        result = action()
        db.session.commit()
        return result, True
    except ServiceError as exc:
        db.session.rollback()
        if not isinstance(exc, refusals):
            abort_for(exc)
        flash(message(exc), "error")
        return None, False


def commit_or_abort(action: Callable[[], Any]) -> Any:
    """Run one service call and commit; a service error rolls back and becomes its error page."""
    try:
        result = action()
        db.session.commit()
        return result
    except ServiceError as exc:
        db.session.rollback()
        abort_for(exc)


def commit_or_refuse(action: Callable[[], Any], *, refusals: tuple[type[ServiceError], ...] = (ServiceError,)
                     ) -> tuple[Any, ServiceError | None]:
    """Run one service call and commit, for an endpoint that shapes its own error answer (the
    tracking snippet's JSON): a refusal (one of ``refusals``) rolls back and is returned;
    anything else propagates. Returns ``(result, None)`` or ``(None, refusal)``."""
    try:
        result = action()
    except refusals as exc:
        db.session.rollback()
        return None, exc
    db.session.commit()
    return result, None


def abort_for(exc: ServiceError):
    """Turn a not-found or permission error from a service into the matching error page."""
    if isinstance(exc, NotFound):
        abort(404, exc.message)
    if isinstance(exc, PermissionDenied):
        abort(403, exc.message)
    abort(exc.status, exc.message)
