"""The team's template library and the sequence builder: create, edit, delete templates,
sequences and steps, with save-time template checks, and the send statistics per template
and per step (from the mail outbox's columns)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from crm.auth.models import User
from crm.contacts.services import get_contact
from crm.errors import NotFound, ValidationFailed
from crm.extensions import db
from crm.i18n import _, ngettext
from crm.mail.models import OutboundEmail
from crm.policy import require_edit, require_sales
from crm.sequences.context import template_context
from crm.sequences.enrollments import get_sequence, live_enrollment_count
from crm.sequences.inputs import SequenceCreate, SequenceInput, StepCreate, StepInput, TemplateInput, parse
from crm.sequences.models import EmailTemplate, Sequence, SequenceStep
from crm.sequences.rendering import render_email, validate_email_sources
from crm.sequences.runner import ordered_steps
from crm.validation import as_id
from crm.web.pagination import Page, paginate

MAX_STEPS = 30


# --- templates ------------------------------------------------------------------------------

def get_template(template_id) -> EmailTemplate:
    template = db.session.get(EmailTemplate, as_id(template_id)) if as_id(template_id) else None
    if template is None:
        raise NotFound(_("no such template"))
    return template


def _template_fields(data: dict) -> dict[str, Any]:
    fields = parse(TemplateInput, data, "invalid template").model_dump()
    validate_email_sources(fields["subject"], fields["text_body"], fields["html_body"])
    return fields


def create_template(actor: User, data: dict, now: datetime) -> EmailTemplate:
    require_sales(actor)
    template = EmailTemplate(owner_id=actor.id, created_at=now, updated_at=now, **_template_fields(data))
    db.session.add(template)
    db.session.flush()
    return template


def update_template(actor: User, template_id, data: dict, now: datetime) -> EmailTemplate:
    template = get_template(template_id)
    require_edit(actor, template)
    merged = {"name": template.name, "subject": template.subject, "text_body": template.text_body,
              "html_body": template.html_body, **data}
    for key, value in _template_fields(merged).items():
        setattr(template, key, value)
    template.updated_at = now
    db.session.flush()
    return template


def delete_template(actor: User, template_id) -> None:
    template = get_template(template_id)
    require_edit(actor, template)
    in_use = db.session.scalar(select(func.count()).where(SequenceStep.template_id == template.id))
    if in_use:
        raise ValidationFailed(
            _("the template is used by sequence steps"),
            {"template_id": ngettext("used by %(num)s step", "used by %(num)s steps", in_use)})
    db.session.delete(template)
    db.session.flush()


def list_templates(page: int = 1, per_page: int = 50) -> Page:
    return paginate(select(EmailTemplate).order_by(func.lower(EmailTemplate.name), EmailTemplate.id), page, per_page)


def template_choices() -> list[tuple[int, str]]:
    return list(db.session.execute(select(EmailTemplate.id, EmailTemplate.name).order_by(EmailTemplate.name)))


def preview(sender: User, contact_id, subject: str, text_body: str, html_body: str | None, step_id=None):
    """The email as ``contact_id`` would get it from ``sender`` (nothing is stored)."""
    contact = get_contact(contact_id)
    return render_email(subject or "", text_body or "", html_body or None,
                        template_context(contact, sender, step_id=as_id(step_id), store_links=False))


# --- statistics -----------------------------------------------------------------------------

@dataclass(frozen=True)
class SendStats:
    sent: int = 0
    opened: int = 0
    clicked: int = 0
    replied: int = 0

    def rate(self, part: int) -> float | None:
        return part / self.sent if self.sent else None

    @property
    def open_rate(self):
        return self.rate(self.opened)

    @property
    def click_rate(self):
        return self.rate(self.clicked)

    @property
    def reply_rate(self):
        return self.rate(self.replied)


def send_stats(by: str, ids) -> dict[int, SendStats]:
    """Sent / human opens / clicks / replies per template or step id (one grouped query).
    Opens and clicks come from tracking (human events only), replies from inbound mail;
    auto-replies never set ``replied_at``."""
    model = OutboundEmail
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    key = getattr(model, by)
    rows = db.session.execute(
        select(key, func.count(), func.count(model.first_human_open_at), func.count(model.first_human_click_at),
               func.count(model.replied_at))
        .where(key.in_(ids), model.status == "sent").group_by(key)
    )
    return {row[0]: SendStats(*row[1:]) for row in rows}


# --- sequences ------------------------------------------------------------------------------

def create_sequence(actor: User, data: dict, now: datetime) -> Sequence:
    require_sales(actor)
    sequence = Sequence(owner_id=actor.id, created_at=now, updated_at=now,
                        **parse(SequenceCreate, data, "invalid sequence").changes())
    db.session.add(sequence)
    db.session.flush()
    return sequence


def update_sequence(actor: User, sequence_id, data: dict, now: datetime) -> Sequence:
    sequence = get_sequence(sequence_id)
    require_edit(actor, sequence)
    for key, value in parse(SequenceInput, data, "invalid sequence", current=sequence).changes().items():
        setattr(sequence, key, value)
    sequence.updated_at = now
    db.session.flush()
    return sequence


def delete_sequence(actor: User, sequence_id) -> None:
    sequence = get_sequence(sequence_id)
    require_edit(actor, sequence)
    live = live_enrollment_count(sequence.id)
    if live:
        raise ValidationFailed(_("the sequence has live enrollments"),
                               {"sequence_id": ngettext("stop its %(num)s enrollment first",
                                                                "stop its %(num)s enrollments first", live)})
    db.session.delete(sequence)
    db.session.flush()


def list_sequences(page: int = 1, per_page: int = 50) -> Page:
    return paginate(select(Sequence).order_by(func.lower(Sequence.name), Sequence.id), page, per_page)


def sequence_choices(first_owner_id: int | None = None) -> list[tuple[int, str]]:
    """Every sequence as (id, name), by name; with ``first_owner_id``, that user's own sequences
    first (a rep's dropdown defaults to their own, never a colleague's)."""
    rows = db.session.execute(select(Sequence.id, Sequence.name, Sequence.owner_id).order_by(Sequence.name)).all()
    if first_owner_id is not None:
        rows = sorted(rows, key=lambda row: row[2] != first_owner_id)  # stable: still by name within
    return [(sequence_id, name) for sequence_id, name, _owner in rows]


# --- steps ----------------------------------------------------------------------------------

def get_step(sequence_id, step_id) -> SequenceStep:
    step = db.session.get(SequenceStep, as_id(step_id)) if as_id(step_id) else None
    if step is None or step.sequence_id != as_id(sequence_id):
        raise NotFound(_("no such step"))
    return step


def _step_changes(data: dict, *, current: SequenceStep | None) -> dict[str, Any]:
    """``data`` parsed by the step's input model (over ``current``, the step being changed),
    its own email content checked for tokens; the columns to set."""
    model = StepCreate if current is None else StepInput
    step = parse(model, data, "invalid step", current=current,
                 template_exists=lambda template_id: db.session.get(EmailTemplate, template_id) is not None)
    own_email = step.own_email(current)
    if own_email is not None:
        validate_email_sources(*own_email)
    return step.changes()


def add_step(actor: User, sequence_id, data: dict, now: datetime) -> SequenceStep:
    sequence = get_sequence(sequence_id)
    require_edit(actor, sequence)
    steps = ordered_steps(sequence.id)
    if len(steps) >= MAX_STEPS:
        raise ValidationFailed(_("too many steps"), {"kind": _("at most %(MAX_STEPS)s steps", MAX_STEPS=MAX_STEPS)})
    step = SequenceStep(sequence_id=sequence.id, position=len(steps) + 1, **_step_changes(data, current=None))
    db.session.add(step)
    sequence.updated_at = now
    db.session.flush()
    return step


def update_step(actor: User, sequence_id, step_id, data: dict, now: datetime) -> SequenceStep:
    """Change a step. Emails already sent keep what they said; only steps not yet done by an
    enrollment are affected (enrollments remember done steps by id)."""
    sequence = get_sequence(sequence_id)
    require_edit(actor, sequence)
    step = get_step(sequence.id, step_id)
    for key, value in _step_changes(data, current=step).items():
        setattr(step, key, value)
    sequence.updated_at = now
    db.session.flush()
    return step


def delete_step(actor: User, sequence_id, step_id, now: datetime) -> None:
    sequence = get_sequence(sequence_id)
    require_edit(actor, sequence)
    step = get_step(sequence.id, step_id)
    db.session.delete(step)
    db.session.flush()
    _renumber(sequence.id)
    sequence.updated_at = now
    db.session.flush()


def move_step(actor: User, sequence_id, step_id, direction: str | int, now: datetime) -> SequenceStep:
    """Move a step up or down one place, or to a 1-based position."""
    sequence = get_sequence(sequence_id)
    require_edit(actor, sequence)
    step = get_step(sequence.id, step_id)
    steps = ordered_steps(sequence.id)
    index = steps.index(step)
    if direction == "up":
        target = index - 1
    elif direction == "down":
        target = index + 1
    elif isinstance(direction, int) and not isinstance(direction, bool):
        target = direction - 1
    else:
        raise ValidationFailed(_("bad move"), {"direction": _("up, down or a position")})
    target = max(0, min(len(steps) - 1, target))
    steps.insert(target, steps.pop(index))
    for position, each in enumerate(steps, start=1):
        each.position = position
    sequence.updated_at = now
    db.session.flush()
    return step


def reorder_steps(actor: User, sequence_id, step_ids: list[int], now: datetime) -> None:
    sequence = get_sequence(sequence_id)
    require_edit(actor, sequence)
    steps = {s.id: s for s in ordered_steps(sequence.id)}
    if sorted(step_ids) != sorted(steps):
        raise ValidationFailed(_("bad order"), {"step_ids": _("every step of the sequence, once")})
    for position, step_id in enumerate(step_ids, start=1):
        steps[step_id].position = position
    sequence.updated_at = now
    db.session.flush()


def _renumber(sequence_id: int) -> None:
    for position, step in enumerate(ordered_steps(sequence_id), start=1):
        step.position = position
