"""Header mapping: which CSV column feeds which field.

Headers are compared after normalisation (case, spaces, underscores, hyphens and dots ignored),
against a table of synonyms per field. Unknown contact columns map to a contact custom field
when they name its key or label; anything else is ignored and reported, never an error.
A mapping is a list of targets, one per column (``""`` = ignored), so files with two columns of
the same name still map unambiguously.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from crm.contacts.services import list_custom_fields
from crm.imports.reader import ImportAborted

IGNORE = ""
CUSTOM_PREFIX = "custom."

CONTACT_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    # target: (label, normalised synonyms)
    "email": ("Email", ("email", "emailaddress", "mail", "workemail", "businessemail",
                        "contactemail", "emailaddr", "emails")),
    "first_name": ("First name", ("firstname", "first", "givenname", "forename", "prenom")),
    "last_name": ("Last name", ("lastname", "last", "surname", "familyname", "nom")),
    "full_name": ("Full name (split into first and last)", ("name", "fullname", "contactname",
                                                             "contact", "person")),
    "title": ("Job title", ("title", "jobtitle", "position", "role", "job", "function")),
    "phone": ("Phone", ("phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone",
                        "mobilenumber", "workphone", "directphone", "phone1", "cell")),
    "company": ("Company name", ("company", "companyname", "organization", "organisation",
                                 "organizationname", "account", "accountname", "employer")),
    "domain": ("Company domain / website", ("domain", "companydomain", "website",
                                            "companywebsite", "web", "url", "websiteurl")),
    "owner": ("Owner (user email)", ("owner", "owneremail", "contactowner", "accountowner",
                                     "salesrep", "rep", "assignedto")),
    "time_zone": ("Time zone", ("timezone", "tz", "zone", "ianatimezone")),
    "lifecycle_stage": ("Lifecycle stage", ("lifecyclestage", "lifecycle", "stage")),
    "do_not_contact": ("Do not contact", ("donotcontact", "dnc", "donotcall")),
    "unsubscribed": ("Unsubscribed", ("unsubscribed", "unsubscribe", "optout", "emailoptout",
                                      "optedout")),
    "linkedin_url": ("LinkedIn URL", ("linkedin", "linkedinurl", "linkedinprofile",
                                      "linkedinprofileurl")),
    "x_url": ("X / Twitter URL", ("x", "xurl", "twitter", "twitterurl", "twitterprofile",
                                  "xprofile")),
    "source": ("Source", ("source", "leadsource", "origin")),
}

DEAL_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "deal_id": ("Deal id (external reference)", ("dealid", "externalid", "id", "ref", "reference",
                                                 "dealref", "dealreference", "opportunityid",
                                                 "dealnumber")),
    "name": ("Deal name", ("name", "dealname", "opportunity", "opportunityname", "deal", "title")),
    "company": ("Company name", ("company", "companyname", "account", "accountname",
                                 "organization", "organisation")),
    "domain": ("Company domain", ("domain", "companydomain", "website", "companywebsite")),
    "contact_email": ("Contact email", ("contactemail", "email", "emailaddress", "contact",
                                        "primarycontact", "primarycontactemail")),
    "owner": ("Owner (user email)", ("owner", "owneremail", "dealowner", "rep", "salesrep",
                                     "assignedto")),
    "stage": ("Pipeline stage", ("stage", "dealstage", "pipelinestage", "stagename")),
    "expected_close": ("Expected close (YYYY-MM-DD)", ("expectedclose", "expectedclosedate",
                                                       "closedate", "expectedcloseon")),
    "family": ("Product family code", ("family", "familycode", "productfamily", "product",
                                       "productcode", "productfamilycode")),
    "quantity": ("Quantity", ("quantity", "qty", "units", "volume")),
    "unit_price": ("Unit price", ("unitprice", "price", "priceperunit", "listprice")),
    "status": ("Status (open / won / lost)", ("status", "dealstatus", "outcome", "wonlost", "result")),
    "closed_on": ("Closed on (YYYY-MM-DD)", ("closedon", "closeddate", "actualclosedate",
                                             "dateclosed", "closedat")),
    "lost_reason": ("Lost reason", ("lostreason", "reasonlost", "lossreason", "closedlostreason")),
    "created_on": ("Created on (YYYY-MM-DD)", ("createdon", "created", "createddate", "createdat",
                                               "createdate")),
    "currency": ("Currency", ("currency", "currencycode")),
}

REQUIRED = {
    "contacts": (("email",),),
    # Each inner tuple: at least one of these columns.
    "deals": (("name",), ("stage",), ("expected_close",), ("family",), ("quantity",),
              ("unit_price",)),
}

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalize_header(header: str) -> str:
    return _NON_ALNUM.sub("", (header or "").lower())


@dataclass
class Mapping:
    """The resolved mapping of one file: ``targets[i]`` is the field column ``i`` feeds."""

    kind: str
    headers: list[str]
    targets: list[str]
    ignored: list[str] = field(default_factory=list)

    def index_of(self, target: str) -> int | None:
        try:
            return self.targets.index(target)
        except ValueError:
            return None

    def as_json(self) -> dict:
        return {"headers": self.headers, "targets": self.targets}


def field_table(kind: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    if kind == "contacts":
        return CONTACT_FIELDS
    if kind == "deals":
        return DEAL_FIELDS
    raise ImportAborted(f"unknown import kind {kind!r}: contacts or deals")


def target_choices(kind: str) -> list[tuple[str, str]]:
    """(target, label) pairs for the mapping page, custom fields included for contacts."""
    choices = [(IGNORE, "— ignore this column —")]
    choices += [(target, label) for target, (label, _syn) in field_table(kind).items()]
    if kind == "contacts":
        choices += [(CUSTOM_PREFIX + f.key, f"Custom: {f.label}") for f in list_custom_fields("contact")]
    return choices


def _synonym_index(kind: str) -> dict[str, str]:
    index = {}
    for target, (_label, synonyms) in field_table(kind).items():
        index.setdefault(normalize_header(target), target)
        for synonym in synonyms:
            index.setdefault(synonym, target)
    return index


def _custom_index(kind: str) -> dict[str, str]:
    if kind != "contacts":
        return {}
    index = {}
    for custom in list_custom_fields("contact"):
        index.setdefault(normalize_header(custom.key), CUSTOM_PREFIX + custom.key)
        index.setdefault(normalize_header(custom.label), CUSTOM_PREFIX + custom.key)
    return index


def default_mapping(kind: str, headers: list[str]) -> Mapping:
    """Guess each column's field; a field already taken by an earlier column is not reused.
    Required columns are not checked yet: an override or the mapping page may supply them."""
    synonyms, customs = _synonym_index(kind), _custom_index(kind)
    targets, taken = [], set()
    for header in headers:
        key = normalize_header(header)
        target = synonyms.get(key) or customs.get(key) or IGNORE
        if target in taken:
            target = IGNORE
        taken.add(target)
        targets.append(target)
    return finish_mapping(kind, headers, targets, check_required=False)


def apply_overrides(mapping: Mapping, overrides: dict[str, str]) -> Mapping:
    """Apply ``{"CSV Header": "field"}`` choices (from ``--map``) on top of the defaults.

    :raises ImportAborted: a header not in the file or an unknown field
    """
    by_exact = {h: i for i, h in reversed(list(enumerate(mapping.headers)))}
    by_normal = {normalize_header(h): i for i, h in reversed(list(enumerate(mapping.headers)))}
    targets = list(mapping.targets)
    for header, target in overrides.items():
        index = by_exact.get(header.strip(), by_normal.get(normalize_header(header)))
        if index is None:
            raise ImportAborted(f"--map: the file has no column {header!r} (columns: {', '.join(mapping.headers)})")
        target = (target or "").strip()
        target = IGNORE if target.lower() in ("", "ignore", "-") else target
        # A field chosen explicitly is taken away from the column the defaults gave it to.
        targets = [IGNORE if (t == target and target) else t for t in targets]
        targets[index] = target
    return finish_mapping(mapping.kind, mapping.headers, targets)


def finish_mapping(kind: str, headers: list[str], targets: list[str], *,
                   check_required: bool = True) -> Mapping:
    """Check a complete mapping (from defaults, ``--map`` or the mapping page).

    :raises ImportAborted: unknown field, a field fed by two columns, a required column missing
    """
    if len(targets) != len(headers):
        raise ImportAborted("the mapping does not match the file's columns")
    valid = {t for t, _label in target_choices(kind)}
    unknown = sorted({t for t in targets if t not in valid})
    if unknown:
        names = ", ".join(t for t in sorted(valid) if t)
        raise ImportAborted(f"unknown field(s) {', '.join(unknown)}; fields are: {names}")
    used = [t for t in targets if t]
    doubled = sorted({t for t in used if used.count(t) > 1})
    if doubled:
        raise ImportAborted(f"two columns feed the same field: {', '.join(doubled)}")
    missing = [alts for alts in REQUIRED[kind] if not any(a in used for a in alts)]
    if missing and check_required:
        labels = [" or ".join(field_table(kind)[a][0] for a in alts) for alts in missing]
        raise ImportAborted(
            f"required column missing: {', '.join(labels)} (columns found: {', '.join(headers)})"
        )
    ignored = [h for h, t in zip(headers, targets) if not t and h]
    return Mapping(kind, list(headers), list(targets), ignored)


def mapping_from_json(kind: str, headers: list[str], stored: dict | None) -> Mapping:
    """The mapping saved on a job, checked against the file's actual header."""
    if not stored or not stored.get("targets"):
        return apply_overrides(default_mapping(kind, headers), {})
    if stored.get("headers") != headers:
        raise ImportAborted("the file's header changed since the mapping was chosen")
    return finish_mapping(kind, headers, list(stored["targets"]))
