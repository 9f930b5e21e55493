"""Admin-defined custom fields on contacts and companies: definitions, value coercion,
and list filters. Values are stored in the record's ``custom`` JSON column, keyed by field key."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from crm.auth.models import User
from crm.contacts.models import CUSTOM_FIELD_TYPES, CustomField
from crm.errors import Conflict, ValidationFailed
from crm.extensions import db
from crm.i18n import _
from crm.policy import require_admin
from crm.validation import has_control_chars

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
TRUE_WORDS = {"1", "true", "yes", "y", "on"}
FALSE_WORDS = {"0", "false", "no", "n", "off", ""}


def list_custom_fields(entity: str) -> list[CustomField]:
    return list(
        db.session.scalars(
            select(CustomField)
            .where(CustomField.entity == entity)
            .order_by(CustomField.position, CustomField.id)
        )
    )


def define_custom_field(
    actor: User, entity: str, key: str, label: str, field_type: str, choices: list[str] | None = None
) -> CustomField:
    require_admin(actor)
    fields = {}
    if entity not in ("contact", "company"):
        fields["entity"] = _("must be contact or company")
    if not KEY_PATTERN.match(key or ""):
        fields["key"] = _("lower-case letters, digits and _, starting with a letter")
    if not (label or "").strip():
        fields["label"] = _("required")
    if field_type not in CUSTOM_FIELD_TYPES:
        fields["field_type"] = _("one of %(choices)s", choices=', '.join(CUSTOM_FIELD_TYPES))
    choices = [c.strip() for c in (choices or []) if c and c.strip()]
    if field_type == "choice" and not choices:
        fields["choices"] = _("a choice field needs at least one choice")
    if fields:
        raise ValidationFailed(_("invalid custom field"), fields)
    exists = db.session.scalar(
        select(CustomField.id).where(CustomField.entity == entity, CustomField.key == key)
    )
    if exists:
        raise Conflict(_("field exists"), {"key": _("already defined")})
    count = len(list_custom_fields(entity))
    field = CustomField(
        entity=entity, key=key, label=label.strip(), field_type=field_type,
        choices=choices if field_type == "choice" else [], position=count,
    )
    db.session.add(field)
    db.session.flush()
    return field


def delete_custom_field(actor: User, field_id: int) -> None:
    """Delete the definition; stored values stay in the JSON (harmless, and recoverable by
    defining the field again)."""
    require_admin(actor)
    field = db.session.get(CustomField, field_id)
    if field is not None:
        db.session.delete(field)


def coerce_value(field: CustomField, raw: Any) -> Any:
    """Turn a raw value (from a form, CSV cell or JSON) into the stored JSON value.

    :raises ValueError: with a reason naming the expected type
    """
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    kind = field.field_type
    if kind == "text":
        text = str(raw).strip()
        if len(text) > 1000:
            raise ValueError(_("at most 1000 characters"))
        if has_control_chars(text):
            raise ValueError(_("contains control characters"))
        return text
    if kind == "number":
        if isinstance(raw, bool):
            raise ValueError(_("must be a number"))
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ValueError(_("must be a number")) from None
        if not number.is_finite() or abs(number) >= Decimal("1e15"):
            raise ValueError(_("must be a number below 10^15"))
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(_("must be yes or no"))
    if kind == "date":
        if isinstance(raw, date):
            return raw.isoformat()
        try:
            return date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError:
            raise ValueError(_("must be a date YYYY-MM-DD")) from None
    if kind == "choice":
        value = str(raw).strip()
        if value not in field.choices:
            raise ValueError(_("must be one of %(choices)s", choices=", ".join(field.choices)))
        return value
    raise ValueError(f"unknown field type {kind}")


def clean_custom_values(
    entity: str, raw: dict[str, Any], *, definitions: list[CustomField] | None = None
) -> dict[str, Any]:
    """Validate a mapping of custom values; unknown keys and bad values are reported per field
    (as ``custom.<key>``)."""
    definitions = definitions if definitions is not None else list_custom_fields(entity)
    by_key = {f.key: f for f in definitions}
    clean, errors = {}, {}
    for key, value in (raw or {}).items():
        field = by_key.get(key)
        if field is None:
            errors[f"custom.{key}"] = _("unknown custom field")
            continue
        try:
            clean[key] = coerce_value(field, value)
        except ValueError as exc:
            errors[f"custom.{key}"] = str(exc)
    if errors:
        raise ValidationFailed(_("invalid custom field values"), errors)
    return clean


def custom_filter_clause(model, field: CustomField, value: str):
    """A WHERE clause matching records whose custom value equals ``value`` (coerced)."""
    coerced = coerce_value(field, value)
    column = model.custom[field.key]
    if coerced is None:
        return column.as_string().is_(None)
    if field.field_type == "boolean":
        return column.as_boolean() == coerced
    if field.field_type == "number":
        return column.as_float() == float(coerced)
    return column.as_string() == str(coerced)
