"""Header mapping: which CSV column feeds which field.

Headers are compared after normalisation (case, spaces, underscores, hyphens and dots ignored),
against a table of synonyms per field. Unknown contact columns map to a contact custom field
when they name its key or label; anything else is ignored and reported, never an error.
A mapping is a list of targets, one per column (``""`` = ignored), so files with two columns of
the same name still map unambiguously.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from crm.contacts.services import list_custom_fields
from crm.i18n import _, _l, ngettext
from crm.imports.reader import ImportAborted

IGNORE = ""
CUSTOM_PREFIX = "custom."

# Synonyms are normalised headers (``normalize_header``: accents, case, spaces and punctuation
# dropped), in English and Spanish, plus what HubSpot (contacts export: "First Name", "Company
# Name", "Phone Number", "Lifecycle Stage", "Contact owner", "Create Date"), Salesforce (report
# export: "Account Name", "Contact Owner", "Created Date", "Mailing ..."), and Pipedrive
# ("Person - Name", "Person - Email", "Organization - Name", "Person - Owner") write.
CONTACT_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    # target: (label, normalised synonyms)
    "email": (_l("Email"), (
        "email", "emailaddress", "mail", "workemail", "businessemail", "contactemail", "emailaddr",
        "emails", "primaryemail", "personemail", "personemailwork", "correo", "correoelectronico",
        "direcciondecorreo", "direcciondecorreoelectronico", "emailprincipal")),
    "first_name": (_l("First name"), (
        "firstname", "first", "givenname", "forename", "prenom", "personfirstname", "nombre",
        "nombrepila")),
    "last_name": (_l("Last name"), (
        "lastname", "last", "surname", "familyname", "nom", "personlastname", "apellidos",
        "apellido", "primerapellido")),
    "full_name": (_l("Full name (split into first and last)"), (
        "name", "fullname", "contactname", "contact", "person", "personname", "nombrecompleto",
        "nombreyapellidos", "contacto")),
    "title": (_l("Job title"), (
        "title", "jobtitle", "position", "role", "job", "function", "persontitle", "personjobtitle",
        "puesto", "cargo", "puestodetrabajo")),
    "phone": (_l("Phone"), (
        "phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone", "mobilenumber",
        "mobilephonenumber", "workphone", "directphone", "phone1", "cell", "personphone",
        "personphonework", "personphonemobile", "telefono", "movil", "celular", "telefonomovil",
        "numerodetelefono")),
    "company": (_l("Company name"), (
        "company", "companyname", "organization", "organisation", "organizationname",
        "organisationname", "account", "accountname", "employer", "companyaccount",
        "personorganization", "empresa", "compania", "nombredelaempresa", "organizacion",
        "cuenta", "nombredelacuenta")),
    "domain": (_l("Company domain / website"), (
        "domain", "companydomain", "companydomainname", "website", "websiteurl", "companywebsite",
        "web", "url", "organizationwebsite", "dominio", "sitioweb", "paginaweb")),
    "owner": (_l("Owner (user email or full name)"), (
        "owner", "owneremail", "contactowner", "accountowner", "leadowner", "hubspotowner",
        "personowner", "salesrep", "rep", "assignedto", "propietario", "propietariodelcontacto",
        "responsable", "comercial", "vendedor")),
    "time_zone": (_l("Time zone"), ("timezone", "tz", "zone", "ianatimezone", "zonahoraria")),
    "lifecycle_stage": (_l("Lifecycle stage"), (
        "lifecyclestage", "lifecycle", "stage", "etapadelciclodevida", "etapa", "fase",
        "ciclodevida")),
    "do_not_contact": (_l("Do not contact"), ("donotcontact", "dnc", "donotcall", "nocontactar",
                                               "nollamar")),
    "unsubscribed": (_l("Unsubscribed"), ("unsubscribed", "unsubscribe", "optout", "emailoptout",
                                          "optedout", "unsubscribedfromallemail", "bajaemail",
                                          "dadodebaja")),
    "linkedin_url": (_l("LinkedIn URL"), ("linkedin", "linkedinurl", "linkedinprofile",
                                          "linkedinprofileurl", "linkedinbio")),
    "x_url": (_l("X / Twitter URL"), ("x", "xurl", "twitter", "twitterurl", "twitterprofile",
                                      "xprofile", "twitterusername")),
    "source": (_l("Source"), ("source", "leadsource", "origin", "originalsource", "origen", "fuente",
                              "origendellead")),
    "language": (_l("Language (en, es)"), ("language", "preferredlanguage", "idioma", "lengua",
                                           "personlanguage")),
    "created_at": (_l("Created on (kept as the contact's creation date)"), (
        "createdate", "createddate", "createdon", "created", "createdat", "personpersoncreated",
        "personcreated", "personaddtime", "fechadecreacion", "creado", "fechaalta", "fechadealta")),
}

DEAL_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "deal_id": (_l("Deal id (external reference)"), (
        "dealid", "externalid", "id", "ref", "reference", "dealref", "dealreference", "opportunityid",
        "dealnumber", "recordid", "iddelnegocio", "referencia")),
    "name": (_l("Deal name"), (
        "name", "dealname", "opportunity", "opportunityname", "deal", "title", "dealtitle",
        "nombredelnegocio", "negocio", "oportunidad", "nombredelaoportunidad")),
    "company": (_l("Company name"), (
        "company", "companyname", "account", "accountname", "organization", "organisation",
        "dealorganization", "organizationname", "associatedcompany", "empresa", "cuenta",
        "organizacion")),
    "domain": (_l("Company domain"), ("domain", "companydomain", "website", "companywebsite",
                                      "dominio", "sitioweb")),
    "contact_email": (_l("Contact email"), (
        "contactemail", "email", "emailaddress", "contact", "primarycontact", "primarycontactemail",
        "dealcontactpersonemail", "personemail", "correo", "correoelectronico")),
    "owner": (_l("Owner (user email or full name)"), (
        "owner", "owneremail", "dealowner", "opportunityowner", "rep", "salesrep", "assignedto",
        "propietario", "propietariodelnegocio", "responsable")),
    "stage": (_l("Pipeline stage"), ("stage", "dealstage", "pipelinestage", "stagename", "etapa",
                                     "fase", "etapadelnegocio")),
    "expected_close": (_l("Expected close"), (
        "expectedclose", "expectedclosedate", "closedate", "expectedcloseon", "dealexpectedclosedate",
        "fechadecierre", "fechadecierreprevista", "cierreprevisto")),
    "family": (_l("Product family code"), (
        "family", "familycode", "productfamily", "product", "productcode", "productfamilycode",
        "familia", "producto", "familiadeproducto")),
    "quantity": (_l("Quantity"), ("quantity", "qty", "units", "volume", "cantidad", "unidades")),
    "unit_price": (_l("Unit price"), ("unitprice", "price", "priceperunit", "listprice",
                                      "preciounitario", "precio")),
    "amount": (_l("Amount (one line: quantity 1 at this price)"), (
        "amount", "dealvalue", "value", "dealamount", "totalamount", "importe", "valor", "monto")),
    "status": (_l("Status (open / won / lost)"), (
        "status", "dealstatus", "outcome", "wonlost", "result", "estado", "resultado")),
    "closed_on": (_l("Closed on"), (
        "closedon", "closeddate", "actualclosedate", "dateclosed", "closedat", "dealwontime",
        "dealclosedon", "dealclosetime", "fechadeganada", "cerradoel")),
    "lost_reason": (_l("Lost reason"), (
        "lostreason", "reasonlost", "lossreason", "closedlostreason", "deallostreason",
        "motivodeperdida", "motivoperdida")),
    "created_on": (_l("Created on"), (
        "createdon", "created", "createddate", "createdat", "createdate", "dealdealcreated",
        "dealcreated", "fechadecreacion", "creado")),
    "currency": (_l("Currency"), ("currency", "currencycode", "dealcurrency", "opportunitycurrency",
                                  "moneda", "divisa")),
}

REQUIRED = {
    "contacts": (("email",),),
    # Each inner tuple: at least one of these columns.
    # Lines are optional: family + quantity + unit price, or an amount (one line).
    "deals": (("name", "deal_id"), ("stage",), ("expected_close",)),
}

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower case without accents: "Correo electrónico" and "CORREO ELECTRONICO" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def normalize_header(header: str) -> str:
    return _NON_ALNUM.sub("", fold(header))


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
    raise ImportAborted(_("unknown import kind %(kind)s: contacts or deals", kind=repr(kind)))


def target_choices(kind: str) -> list[tuple[str, str]]:
    """(target, label) pairs for the mapping page, custom fields included for contacts."""
    choices = [(IGNORE, str(_l("— ignore this column —")))]
    choices += [(target, str(label)) for target, (label, _syn) in field_table(kind).items()]
    if kind == "contacts":
        choices += [(CUSTOM_PREFIX + f.key, str(_l("Custom: %(label)s", label=f.label)))
                    for f in list_custom_fields("contact")]
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


def apply_overrides(mapping: Mapping, overrides: dict[str, str], *, check_required: bool = True) -> Mapping:
    """Apply ``{"CSV Header": "field"}`` choices (from ``--map``) on top of the defaults.

    :raises ImportAborted: a header not in the file or an unknown field
    """
    by_exact = {h: i for i, h in reversed(list(enumerate(mapping.headers)))}
    by_normal = {normalize_header(h): i for i, h in reversed(list(enumerate(mapping.headers)))}
    targets = list(mapping.targets)
    for header, target in overrides.items():
        index = by_exact.get(header.strip(), by_normal.get(normalize_header(header)))
        if index is None:
            raise ImportAborted(_("--map: the file has no column %(header)s (columns: %(columns)s)",
                                  header=repr(header),
                                  columns=', '.join(mapping.headers)))
        target = (target or "").strip()
        target = IGNORE if target.lower() in ("", "ignore", "-") else target
        # A field chosen explicitly is taken away from the column the defaults gave it to.
        targets = [IGNORE if (t == target and target) else t for t in targets]
        targets[index] = target
    return finish_mapping(mapping.kind, mapping.headers, targets, check_required=check_required)


def missing_required(kind: str, targets: list[str]) -> list[str]:
    """Labels of the required fields no column feeds (empty: the mapping can be imported)."""
    used = set(t for t in targets if t)
    missing = [alts for alts in REQUIRED[kind] if not any(a in used for a in alts)]
    return [" or ".join(str(field_table(kind)[a][0]) for a in alts) for alts in missing]


def apply_preset(mapping: Mapping, preset: dict[str, str]) -> Mapping:
    """A saved ``{"CSV header": "field"}`` on top of the defaults; headers this file lacks are
    passed over (a preset is reused on next month's export, which may have a column less)."""
    present = {normalize_header(h) for h in mapping.headers}
    chosen = {h: t for h, t in preset.items() if normalize_header(h) in present}
    return apply_overrides(mapping, chosen, check_required=False)


def finish_mapping(kind: str, headers: list[str], targets: list[str], *,
                   check_required: bool = True) -> Mapping:
    """Check a complete mapping (from defaults, ``--map`` or the mapping page).

    :raises ImportAborted: unknown field, a field fed by two columns, a required column missing
    """
    if len(targets) != len(headers):
        raise ImportAborted(_("the mapping does not match the file's columns"))
    valid = {t for t, _label in target_choices(kind)}
    unknown = sorted({t for t in targets if t not in valid})
    if unknown:
        names = ", ".join(t for t in sorted(valid) if t)
        raise ImportAborted(ngettext("unknown field %(unknown)s; fields are: %(names)s",
                                     "unknown fields %(unknown)s; fields are: %(names)s", len(unknown),
                                     unknown=", ".join(unknown), names=names))
    used = [t for t in targets if t]
    doubled = sorted({t for t in used if used.count(t) > 1})
    if doubled:
        raise ImportAborted(_("two columns feed the same field: %(fields)s", fields=', '.join(doubled)))
    labels = missing_required(kind, used)
    if labels and check_required:
        raise ImportAborted(
            _("required column missing: %(labels)s (columns found: %(headers)s)", labels=', '.join(labels),
              headers=', '.join(headers))
        )
    ignored = [h for h, t in zip(headers, targets) if not t and h]
    return Mapping(kind, list(headers), list(targets), ignored)


def mapping_from_json(kind: str, headers: list[str], stored: dict | None) -> Mapping:
    """The mapping saved on a job, checked against the file's actual header."""
    if not stored or not stored.get("targets"):
        return apply_overrides(default_mapping(kind, headers), {})
    if stored.get("headers") != headers:
        raise ImportAborted(_("the file's header changed since the mapping was chosen"))
    return finish_mapping(kind, headers, list(stored["targets"]))


def recognised_columns(kind: str):
    """``count(headers)``: how many of ``headers`` name a field of ``kind`` (delimiter detection)."""
    known = set(_synonym_index(kind)) | set(_custom_index(kind))

    def count(headers: list[str]) -> int:
        return sum(1 for header in headers if normalize_header(header) in known)

    return count
