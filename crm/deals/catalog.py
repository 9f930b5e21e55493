"""The catalogue deals are built from: product families (the S&OP planning unit) and the
editable pipeline of stages with their default win probabilities. Admin-only writes."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from crm.auth.models import User
from crm.deals.inputs import FamilyCreate, FamilyUpdate, StageInput
from crm.deals.models import Deal, DealLine, ProductFamily, Stage
from crm.errors import Conflict, NotFound
from crm.extensions import db
from crm.i18n import _, ngettext
from crm.policy import require_admin
from crm.validation import as_id

# --- product families -------------------------------------------------------------------

def list_families(active_only: bool = False) -> list[ProductFamily]:
    query = select(ProductFamily).order_by(ProductFamily.code)
    if active_only:
        query = query.where(ProductFamily.is_active.is_(True))
    return list(db.session.scalars(query))


def get_family(family_id: int) -> ProductFamily:
    if as_id(family_id) is None:
        raise NotFound(_("no such product family"))
    family = db.session.get(ProductFamily, family_id)
    if family is None:
        raise NotFound(_("no such product family"))
    return family


def family_by_code(code: str) -> ProductFamily | None:
    return db.session.scalar(select(ProductFamily).where(ProductFamily.code == code))


def create_family(actor: User, data: dict[str, Any]) -> ProductFamily:
    require_admin(actor)
    clean = FamilyCreate.parse(data).values()
    if family_by_code(clean["code"]):
        raise Conflict(_("family code exists"), {"code": _("already taken")})
    family = ProductFamily(**clean)
    db.session.add(family)
    db.session.flush()
    return family


def update_family(actor: User, family_id: int, data: dict[str, Any]) -> ProductFamily:
    require_admin(actor)
    family = get_family(family_id)
    clean = FamilyUpdate.parse(data).values()
    if "code" in clean and clean["code"] != family.code and family_by_code(clean["code"]):
        raise Conflict(_("family code exists"), {"code": _("already taken")})
    for key, value in clean.items():
        setattr(family, key, value)
    db.session.flush()
    return family


def delete_family(actor: User, family_id: int) -> None:
    """Delete a family nobody sells yet; one with deal lines is deactivated instead."""
    require_admin(actor)
    family = get_family(family_id)
    used = db.session.scalar(select(DealLine.id).where(DealLine.family_id == family.id).limit(1))
    if used:
        raise Conflict(_("family has deal lines; deactivate it instead"), {"id": _("in use")})
    db.session.delete(family)
    db.session.flush()


# --- pipeline stages --------------------------------------------------------------------

def list_stages(active_only: bool = True) -> list[Stage]:
    query = select(Stage).order_by(Stage.position, Stage.id)
    if active_only:
        query = query.where(Stage.is_active.is_(True))
    return list(db.session.scalars(query))


def save_stage(
    actor: User, *, name: str, probability: Any, position: int | None = None,
    stage_id: int | None = None, is_active: bool = True,
) -> Stage:
    """Create a stage (``stage_id`` None) or change one; the values are parsed by ``StageInput``."""
    require_admin(actor)
    values = StageInput.parse({"name": name, "probability": probability, "position": position})
    name, prob, position = values.name, values.probability, values.position
    clash = db.session.scalar(select(Stage).where(Stage.name == name))
    if clash is not None and clash.id != stage_id:
        raise Conflict(_("stage name exists"), {"name": _("already taken")})
    stage = db.session.get(Stage, stage_id) if stage_id else Stage()
    if stage is None:
        raise NotFound(_("no such stage"))
    if position is None and stage.id is None:
        position = (db.session.scalar(select(func.max(Stage.position))) or 0) + 1
    stage.name, stage.probability, stage.is_active = name, prob, is_active
    if position is not None:
        stage.position = position
    db.session.add(stage)
    db.session.flush()
    return stage


def get_stage(stage_id: int) -> Stage:
    if as_id(stage_id) is None:
        raise NotFound(_("no such stage"))
    stage = db.session.get(Stage, stage_id)
    if stage is None:
        raise NotFound(_("no such stage"))
    return stage


def set_stage_active(actor: User, stage_id: int, active: bool) -> Stage:
    """Deactivate a stage (hidden from the board and the stage pickers) or bring it back.
    A stage still holding open deals stays active: those deals would vanish from the board."""
    require_admin(actor)
    stage = get_stage(stage_id)
    if not active:
        holding = db.session.scalar(
            select(func.count()).select_from(Deal).where(Deal.stage_id == stage.id, Deal.status == "open")
        )
        if holding:
            raise Conflict(
                ngettext("%(num)s open deal is in this stage; move it first",
                         "%(num)s open deals are in this stage; move them first", holding),
                {"is_active": _("stage in use")}
            )
    stage.is_active = active
    db.session.flush()
    return stage


def family_usage() -> dict[int, int]:
    """Number of deal lines per product family id (families absent have none)."""
    return dict(db.session.execute(select(DealLine.family_id, func.count()).group_by(DealLine.family_id)).all())
