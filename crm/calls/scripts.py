"""Team call scripts with objection handling: everyone in sales reads them, managers and
admins write them."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from crm.calls.models import CallScript
from crm.errors import NotFound, PermissionDenied, ValidationFailed
from crm.extensions import db
from crm.i18n import _ as gettext
from crm.validation import has_control_chars

MAX_BODY = 20_000
MAX_OBJECTIONS = 30


def list_scripts() -> list[CallScript]:
    return list(db.session.scalars(select(CallScript).order_by(CallScript.position, CallScript.name)))


# The tokens a script may use, filled for the contact being called and the rep calling.
SCRIPT_TOKENS = ("name", "first_name", "last_name", "company", "title", "me", "my_first_name")
_TOKEN = re.compile(r"\{(\w+)\}")


def fill_script(body: str, contact, me) -> str:
    """The script as the rep reads it: ``{name}`` is the contact's first name, ``{me}`` the rep's
    name, and so on; a token with nothing to fill (no company) or unknown stays as written."""
    company = getattr(contact, "company", None)
    values = {
        "name": contact.first_name or contact.last_name or "", "first_name": contact.first_name or "",
        "last_name": contact.last_name or "", "company": company.name if company else "",
        "title": getattr(contact, "title", None) or "", "me": me.name or "",
        "my_first_name": (me.name or "").split(" ")[0],
    }
    return _TOKEN.sub(lambda m: values.get(m.group(1)) or m.group(0), body or "")


def get_script(script_id: int) -> CallScript:
    script = db.session.get(CallScript, script_id) if script_id else None
    if script is None:
        raise NotFound(gettext("no such script"))
    return script


def parse_objections(text: str) -> list[dict[str, str]]:
    """One objection a line: ``objection | answer``."""
    found = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        objection, _, answer = line.partition("|")
        found.append({"objection": objection.strip(), "answer": answer.strip()})
    return found


def objections_text(script: CallScript | None) -> str:
    return "\n".join(f"{o['objection']} | {o['answer']}" for o in (script.objections if script else []))


def save_script(actor, data: dict, now: datetime, script_id: int | None = None) -> CallScript:
    if actor.role not in ("manager", "admin"):
        raise PermissionDenied(gettext("only managers and admins edit call scripts"))
    name = (data.get("name") or "").strip()
    body = (data.get("body") or "").strip()
    objections = data.get("objections") or []
    errors = {}
    if not name or len(name) > 100 or has_control_chars(name):
        errors["name"] = gettext("a name of at most 100 characters")
    if len(body) > MAX_BODY or has_control_chars(body):
        errors["body"] = gettext("at most %(max_body)s characters of text", max_body=MAX_BODY)
    if len(objections) > MAX_OBJECTIONS or any(
            not o.get("objection") or len(o["objection"]) > 300 or len(o.get("answer", "")) > 2000
            or has_control_chars(o["objection"] + o.get("answer", "")) for o in objections):
        errors["objections"] = gettext("up to %(max_objections)s lines of 'objection | answer'",
                                       max_objections=MAX_OBJECTIONS)
    duplicate = db.session.scalar(select(CallScript.id).where(CallScript.name == name))
    if duplicate and duplicate != script_id:
        errors["name"] = gettext("another script has this name")
    if errors:
        raise ValidationFailed(gettext("the script is not valid"), errors)
    script = get_script(script_id) if script_id else CallScript(position=len(list_scripts()))
    script.name, script.body, script.updated_by_id, script.updated_at = name, body, actor.id, now
    script.objections = [{"objection": o["objection"], "answer": o.get("answer", "")} for o in objections]
    db.session.add(script)
    db.session.flush()
    return script


def delete_script(actor, script_id: int) -> None:
    if actor.role not in ("manager", "admin"):
        raise PermissionDenied(gettext("only managers and admins edit call scripts"))
    db.session.delete(get_script(script_id))
    db.session.flush()
