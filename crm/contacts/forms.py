"""Forms for contact, company and note pages. Business validation (email syntax, duplicates,
time zones, custom values) is the services' job; these forms shape the input and carry CSRF. Select boxes do not
check their own choices (``validate_choice=False``): the service does, with a clearer message."""
from __future__ import annotations

from wtforms import BooleanField, SelectField, StringField, URLField
from wtforms.validators import Length

from crm.contacts.models import LIFECYCLE_CHOICES
from crm.i18n import _l
from crm.web.formhelpers import CrmForm, choice_list, safe_id
from crm.web.forms import ConfirmForm, NoteForm  # noqa: F401  (shared page forms, re-exported)

CONTACT_FIELDS = ("email", "first_name", "last_name", "title", "phone", "company_id", "owner_id",
                  "time_zone", "language", "lifecycle_stage", "do_not_contact", "unsubscribed", "linkedin_url",
                  "x_url", "source")
COMPANY_FIELDS = ("name", "domain", "industry", "employee_count", "time_zone", "owner_id")


class ContactForm(CrmForm):
    email = StringField(_l("Email"), validators=[Length(max=254)], render_kw={"type": "email", "autocomplete": "off"})
    first_name = StringField(_l("First name"), validators=[Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[Length(max=100)])
    title = StringField(_l("Job title"), validators=[Length(max=200)])
    phone = StringField(_l("Phone"), validators=[Length(max=40)], render_kw={"type": "tel"})
    company_id = SelectField(_l("Company"), choices=[], validate_choice=False)
    owner_id = SelectField(_l("Owner"), choices=[], validate_choice=False)
    time_zone = SelectField(_l("Time zone"), choices=[], validate_choice=False)
    language = SelectField(_l("Language of emails and invites"), choices=[], validate_choice=False)
    lifecycle_stage = SelectField(_l("Lifecycle stage"), choices=choice_list(LIFECYCLE_CHOICES), default="lead",
                                  validate_choice=False)
    do_not_contact = BooleanField(_l("Do not contact"))
    unsubscribed = BooleanField(_l("Unsubscribed from email"))
    linkedin_url = URLField(_l("LinkedIn profile"), validators=[Length(max=300)],
                            render_kw={"placeholder": "https://www.linkedin.com/in/…"})
    x_url = URLField(_l("X profile"), validators=[Length(max=300)], render_kw={"placeholder": "https://x.com/…"})
    source = StringField(_l("Source"), validators=[Length(max=100)])

    def service_data(self) -> dict:
        """The fields as the contact services take them (custom values added by the view)."""
        data = {name: self[name].data for name in CONTACT_FIELDS}
        data.update(company_id=safe_id(data["company_id"]), owner_id=safe_id(data["owner_id"]))
        return data


class CompanyForm(CrmForm):
    name = StringField(_l("Name"), validators=[Length(max=200)])
    domain = StringField(_l("Web domain"), validators=[Length(max=253)], render_kw={"placeholder": "example.com"})
    industry = StringField(_l("Industry"), validators=[Length(max=100)])
    employee_count = StringField(_l("Employees"), validators=[Length(max=12)], render_kw={"inputmode": "numeric"})
    time_zone = SelectField(_l("Time zone"), choices=[], validate_choice=False)
    owner_id = SelectField(_l("Owner"), choices=[], validate_choice=False)

    def service_data(self) -> dict:
        data = {name: self[name].data for name in COMPANY_FIELDS}
        data["owner_id"] = safe_id(data["owner_id"])
        return data
