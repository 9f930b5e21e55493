"""Administration forms. Rules (password policy, unique codes, probability range) live in the
services; these forms shape the input and carry CSRF. Select boxes leave checking their value
to the service (``validate_choice=False``), which explains what is wrong."""
from __future__ import annotations

from wtforms import PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from crm.contacts.models import CUSTOM_FIELD_TYPES
from crm.i18n import _l
from crm.web.formhelpers import CrmForm, choice_list

ROLE_CHOICES = [("rep", "Rep"), ("manager", "Manager"), ("planner", "Planner"), ("finance", "Finance"),
                ("admin", "Admin")]
FIELD_TYPE_LABELS = {"text": "Text", "number": "Number", "choice": "Choice (pick one)", "date": "Date",
                     "boolean": "Yes / no"}


class UserForm(CrmForm):
    name = StringField(_l("Full name"), validators=[Length(max=200)])
    email = StringField(_l("Email"), validators=[Length(max=254)], render_kw={"type": "email", "autocomplete": "off"})
    role = SelectField(_l("Role"), choices=choice_list(ROLE_CHOICES), default="rep", validate_choice=False)
    manager_id = SelectField(_l("Manager (reps only)"), choices=[], validate_choice=False)
    time_zone = SelectField(_l("Time zone"), choices=[], default="UTC", validate_choice=False)
    password = PasswordField(_l("Initial password"), validators=[Length(max=256)],
                             render_kw={"autocomplete": "new-password"})


class EditUserForm(CrmForm):
    """An existing user's name, role, manager and time zone (email and password are not edited here)."""
    name = StringField(_l("Full name"), validators=[Length(max=200)])
    role = SelectField(_l("Role"), choices=choice_list(ROLE_CHOICES), validate_choice=False)
    manager_id = SelectField(_l("Manager (reps only)"), choices=[], validate_choice=False)
    time_zone = SelectField(_l("Time zone"), choices=[], validate_choice=False)


class ForceResetForm(CrmForm):
    """Confirms a forced password reset: nothing to fill in, the form carries the CSRF token."""


class FamilyForm(CrmForm):
    code = StringField(_l("Code"), validators=[Length(max=40)], render_kw={"placeholder": "PUMP"})
    name = StringField(_l("Name"), validators=[Length(max=200)])
    unit = StringField(_l("Unit of measure"), default="unit", validators=[Length(max=20)])
    lead_time_days = StringField(_l("Delivery lead time (days)"), default="0", validators=[Length(max=6)],
                                 render_kw={"inputmode": "numeric"})


class StageForm(CrmForm):
    name = StringField(_l("Name"), validators=[Length(max=60)])
    probability = StringField(_l("Win probability (%)"), validators=[Length(max=10)],
                              render_kw={"inputmode": "decimal", "placeholder": "25"})
    position = StringField(_l("Order"), validators=[Length(max=6)], render_kw={"inputmode": "numeric"})


class CustomFieldForm(CrmForm):
    entity = SelectField(_l("Applies to"), choices=choice_list([("contact", "Contacts"), ("company", "Companies")]),
                         validate_choice=False)
    label = StringField(_l("Label"), validators=[Length(max=100)], render_kw={"placeholder": "Budget holder"})
    key = StringField(_l("Key"), validators=[Length(max=60)],
                      render_kw={"placeholder": "budget_holder", "pattern": "[a-z][a-z0-9_]*"})
    field_type = SelectField(_l("Type"), choices=choice_list((t, FIELD_TYPE_LABELS[t]) for t in CUSTOM_FIELD_TYPES),
                             validate_choice=False)
    choices = TextAreaField(_l("Choices (one per line, for a choice field)"), validators=[Length(max=5000)],
                            render_kw={"rows": 3})
