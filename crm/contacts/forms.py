"""Forms for contact, company and note pages. Business validation (email syntax, duplicates,
time zones, custom values) is the services' job; these forms shape the input and carry CSRF. Select boxes do not
check their own choices (``validate_choice=False``): the service does, with a clearer message."""
from __future__ import annotations

from wtforms import BooleanField, SelectField, StringField, URLField
from wtforms.validators import Length

from crm.contacts.models import LIFECYCLE_CHOICES
from crm.web.formhelpers import CrmForm, choice_list, safe_id
from crm.web.forms import ConfirmForm, NoteForm  # noqa: F401  (shared page forms, re-exported)

CONTACT_FIELDS = ("email", "first_name", "last_name", "title", "phone", "company_id", "owner_id",
                  "time_zone", "lifecycle_stage", "do_not_contact", "unsubscribed", "linkedin_url",
                  "x_url", "source")
COMPANY_FIELDS = ("name", "domain", "industry", "employee_count", "time_zone", "owner_id")


class ContactForm(CrmForm):
    email = StringField("Email", validators=[Length(max=254)], render_kw={"type": "email", "autocomplete": "off"})
    first_name = StringField("First name", validators=[Length(max=100)])
    last_name = StringField("Last name", validators=[Length(max=100)])
    title = StringField("Job title", validators=[Length(max=200)])
    phone = StringField("Phone", validators=[Length(max=40)], render_kw={"type": "tel"})
    company_id = SelectField("Company", choices=[], validate_choice=False)
    owner_id = SelectField("Owner", choices=[], validate_choice=False)
    time_zone = SelectField("Time zone", choices=[], validate_choice=False)
    lifecycle_stage = SelectField("Lifecycle stage", choices=choice_list(LIFECYCLE_CHOICES), default="lead",
                                  validate_choice=False)
    do_not_contact = BooleanField("Do not contact")
    unsubscribed = BooleanField("Unsubscribed from email")
    linkedin_url = URLField("LinkedIn profile", validators=[Length(max=300)],
                            render_kw={"placeholder": "https://www.linkedin.com/in/…"})
    x_url = URLField("X profile", validators=[Length(max=300)], render_kw={"placeholder": "https://x.com/…"})
    source = StringField("Source", validators=[Length(max=100)])

    def service_data(self) -> dict:
        """The fields as the contact services take them (custom values added by the view)."""
        data = {name: self[name].data for name in CONTACT_FIELDS}
        data.update(company_id=safe_id(data["company_id"]), owner_id=safe_id(data["owner_id"]))
        return data


class CompanyForm(CrmForm):
    name = StringField("Name", validators=[Length(max=200)])
    domain = StringField("Web domain", validators=[Length(max=253)], render_kw={"placeholder": "example.com"})
    industry = StringField("Industry", validators=[Length(max=100)])
    employee_count = StringField("Employees", validators=[Length(max=12)], render_kw={"inputmode": "numeric"})
    time_zone = SelectField("Time zone", choices=[], validate_choice=False)
    owner_id = SelectField("Owner", choices=[], validate_choice=False)

    def service_data(self) -> dict:
        data = {name: self[name].data for name in COMPANY_FIELDS}
        data["owner_id"] = safe_id(data["owner_id"])
        return data
