"""JSON API for contacts, companies and the timeline (activities); thin callers of
``crm.contacts.services``. Custom field values travel in ``custom`` and are checked against
the admin's definitions by the services."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from crm.api.auth import api_user
from crm.api.endpoint import endpoint, page_args
from crm.api.routing import ApiRoutes
from crm.api.schemas import (
    CompanyRef,
    CustomKey,
    CustomValues,
    Id,
    OutModel,
    PageOut,
    QueryModel,
    StrictModel,
    Text,
    UserRef,
    UtcDateTime,
    page_out,
    patch_model,
)
from crm.contacts import services
from crm.contacts.models import LIFECYCLE_STAGES
from crm.extensions import db
from crm.i18n import _
from crm.timeutil import utcnow
from crm.web.access import SALES, roles

routes = ApiRoutes()

LifecycleStage = Literal[LIFECYCLE_STAGES]  # type: ignore[valid-type]
ContactSort = Literal[tuple(  # type: ignore[misc]
    prefix + key for key in services.CONTACT_SORTS for prefix in ("", "-")
)]
CUSTOM_FILTER_HELP = "Filter on custom fields with `custom.<key>=value` (exact match, typed by the field)."


# --- contacts ---------------------------------------------------------------------------

class ContactIn(StrictModel):
    """A contact. Without ``company_id`` the company is found or created from the email's
    domain (not for free-mail). A rep creating a contact without ``owner_id`` owns it."""

    email: Text(254) = Field(description="unique after normalisation (trimmed, lower-cased)")
    first_name: Text(100) = ""
    last_name: Text(100) = ""
    title: Text(200) | None = None
    phone: Text(40) | None = None
    company_id: Id | None = None
    owner_id: Id | None = Field(None, description="a rep, manager or admin")
    time_zone: Text(64) | None = Field(None, description="IANA name such as Europe/Berlin")
    language: Literal["en", "en-GB", "es", "es-ES"] | None = Field(
        None, description="the language of mail and invites to this contact; null: the owner's")
    lifecycle_stage: LifecycleStage = "lead"
    do_not_contact: bool = False
    unsubscribed: bool = False
    linkedin_url: Text(300) | None = None
    x_url: Text(300) | None = None
    source: Text(100) | None = None
    custom: CustomValues = Field(default_factory=dict)


ContactPatch = patch_model(ContactIn, "ContactPatch")


class ContactOut(OutModel):
    id: int
    email: str
    first_name: str
    last_name: str
    title: str | None
    phone: str | None
    company_id: int | None
    company: CompanyRef | None
    owner_id: int | None
    owner: UserRef | None
    time_zone: str | None
    language: str | None
    lifecycle_stage: str
    do_not_contact: bool
    unsubscribed: bool
    linkedin_url: str | None
    x_url: str | None
    source: str | None
    custom: dict[str, Any]
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ContactPage(PageOut[ContactOut]):
    pass


class ContactQuery(QueryModel):
    q: Text(200) = Field("", description="search in name, email and company name")
    owner_id: Id | None = None
    lifecycle_stage: LifecycleStage | None = None
    company_id: Id | None = None
    sort: ContactSort = Field("name", description="a leading - sorts descending")
    custom: dict[CustomKey, Text(1000)] = Field(default_factory=dict)


def _domain_fits(value: str | None) -> str | None:
    """The column holds the IDNA (ASCII) form, which can be far longer than what was typed."""
    try:
        ascii_domain = services.normalize_domain(value)
    except (ValueError, UnicodeError):
        raise ValueError(_("not a domain name")) from None
    if ascii_domain and len(ascii_domain) > 253:
        raise ValueError(_("too long once IDNA-encoded (at most 253 characters)"))
    return value


Domain = Annotated[Text(253), AfterValidator(_domain_fits)]


def contact_out(contact) -> ContactOut:
    return ContactOut.model_validate(contact)


@routes.get("/contacts")
@roles(*SALES)
@endpoint("List contacts", query=ContactQuery, response=ContactPage, description=CUSTOM_FILTER_HELP)
def list_contacts(query: ContactQuery):
    page = services.search_contacts(
        query.q, owner_id=query.owner_id, stage=query.lifecycle_stage,
        company_id=query.company_id, custom=query.custom or None,
        sort=query.sort.lstrip("-"), descending=query.sort.startswith("-"), **page_args(query),
    )
    return page_out(ContactPage, page, contact_out)


@routes.post("/contacts")
@roles(*SALES)
@endpoint("Create a contact", body=ContactIn, response=ContactOut, status=201)
def create_contact(body: ContactIn):
    contact = services.create_contact(api_user(), body.model_dump(exclude_unset=True), utcnow())
    db.session.commit()
    return contact_out(services.get_contact(contact.id))


@routes.get("/contacts/<int:contact_id>")
@roles(*SALES)
@endpoint("Read a contact", response=ContactOut)
def get_contact(contact_id: int):
    return contact_out(services.get_contact(contact_id))


@routes.patch("/contacts/<int:contact_id>")
@roles(*SALES)
@endpoint("Update a contact", body=ContactPatch, response=ContactOut,
          description="Only the fields sent change; `custom` values merge into the stored ones.")
def update_contact(contact_id: int, body: ContactPatch):
    services.update_contact(api_user(), contact_id, body.model_dump(exclude_unset=True), utcnow())
    db.session.commit()
    return contact_out(services.get_contact(contact_id))


@routes.delete("/contacts/<int:contact_id>")
@roles(*SALES)
@endpoint("Delete a contact", status=204)
def delete_contact(contact_id: int):
    services.delete_contact(api_user(), contact_id)
    db.session.commit()


# --- companies --------------------------------------------------------------------------

class CompanyIn(StrictModel):
    """A company (account). ``domain`` is unique and stored lower-case without www."""

    name: Text(200, min_length=1)
    domain: Domain | None = Field(None, description="unique; stored lower-case without www")
    industry: Text(100) | None = None
    employee_count: int | None = Field(None, ge=0, le=10**9)
    time_zone: Text(64) | None = Field(None, description="IANA name such as America/Chicago")
    owner_id: Id | None = None
    custom: CustomValues = Field(default_factory=dict)


CompanyPatch = patch_model(CompanyIn, "CompanyPatch")


class CompanyOut(OutModel):
    id: int
    name: str
    domain: str | None
    industry: str | None
    employee_count: int | None
    time_zone: str | None
    owner_id: int | None
    owner: UserRef | None
    custom: dict[str, Any]
    created_at: UtcDateTime
    updated_at: UtcDateTime


class CompanyPage(PageOut[CompanyOut]):
    pass


class CompanyQuery(QueryModel):
    q: Text(200) = Field("", description="search in name and domain")
    sort: Literal["name", "created", "size"] = "name"


def company_out(company) -> CompanyOut:
    return CompanyOut.model_validate(company)


@routes.get("/companies")
@roles(*SALES)
@endpoint("List companies", query=CompanyQuery, response=CompanyPage)
def list_companies(query: CompanyQuery):
    page = services.list_companies(query.q, sort=query.sort, **page_args(query))
    return page_out(CompanyPage, page, company_out)


@routes.post("/companies")
@roles(*SALES)
@endpoint("Create a company", body=CompanyIn, response=CompanyOut, status=201)
def create_company(body: CompanyIn):
    company = services.create_company(api_user(), body.model_dump(exclude_unset=True), utcnow())
    db.session.commit()
    return company_out(services.get_company(company.id))


@routes.get("/companies/<int:company_id>")
@roles(*SALES)
@endpoint("Read a company", response=CompanyOut)
def get_company(company_id: int):
    return company_out(services.get_company(company_id))


@routes.patch("/companies/<int:company_id>")
@roles(*SALES)
@endpoint("Update a company", body=CompanyPatch, response=CompanyOut,
          description="Only the fields sent change; `custom` values merge into the stored ones.")
def update_company(company_id: int, body: CompanyPatch):
    services.update_company(api_user(), company_id, body.model_dump(exclude_unset=True), utcnow())
    db.session.commit()
    return company_out(services.get_company(company_id))


@routes.delete("/companies/<int:company_id>")
@roles(*SALES)
@endpoint("Delete a company", status=204,
          description="Its contacts and deals stay, without a company; its activities go.")
def delete_company(company_id: int):
    services.delete_company(api_user(), company_id)
    db.session.commit()


# --- activities (the timeline) ----------------------------------------------------------

class NoteIn(StrictModel):
    """A note on the timeline of a contact, a company or a deal (at least one)."""

    body: Text(10_000, min_length=1)
    contact_id: Id | None = None
    company_id: Id | None = None
    deal_id: Id | None = None


class ActivityOut(OutModel):
    id: int
    kind: str
    occurred_at: UtcDateTime
    contact_id: int | None
    company_id: int | None
    deal_id: int | None
    user_id: int | None
    user: UserRef | None
    details: dict[str, Any]


class ActivityPage(PageOut[ActivityOut]):
    pass


class ActivityQuery(QueryModel):
    contact_id: Id | None = None
    company_id: Id | None = None
    deal_id: Id | None = None
    kind: Text(40) | None = Field(None, description="note, call, email_sent, deal_created...")


def activity_out(activity) -> ActivityOut:
    return ActivityOut.model_validate(activity)


@routes.get("/activities")
@roles(*SALES)
@endpoint("List activities, newest first", query=ActivityQuery, response=ActivityPage)
def list_activities(query: ActivityQuery):
    page = services.timeline(
        contact_id=query.contact_id, company_id=query.company_id, deal_id=query.deal_id,
        kind=query.kind, **page_args(query),
    )
    return page_out(ActivityPage, page, activity_out)


@routes.post("/activities")
@roles(*SALES)
@endpoint("Add a note", body=NoteIn, response=ActivityOut, status=201,
          description="Creates an activity of kind `note`. A note on a contact is also filed "
                      "under the contact's company. Anyone in sales may add a note to any record, "
                      "whoever owns it; changing the record is for its owner, their manager or an admin.")
def create_note(body: NoteIn):
    activity = services.add_note(
        api_user(), body.body, utcnow(), contact_id=body.contact_id,
        company_id=body.company_id, deal_id=body.deal_id,
    )
    db.session.commit()
    return activity_out(activity)
