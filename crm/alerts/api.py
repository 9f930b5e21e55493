"""JSON API routes of the alerts feature (``routes``, mounted on /api/v1 from the manifest)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from crm.alerts import services
from crm.api.auth import api_user
from crm.api.endpoint import endpoint
from crm.api.routing import ApiRoutes
from crm.api.schemas import OutModel, UtcDateTime
from crm.web.access import EVERYONE, roles

routes = ApiRoutes()


class AlertOut(OutModel):
    id: int
    kind: str
    message: str = Field(validation_alias="text", description="in the reader's language")
    contact_id: int | None
    url: str | None
    created_at: UtcDateTime
    read_at: UtcDateTime | None


class AlertList(BaseModel):
    items: list[AlertOut]
    last_id: int = Field(description="pass it as `after` next time")


class AlertQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: int = Field(0, ge=0, le=2**31 - 1, description="only alerts with a larger id")


@routes.get("/alerts")
@roles(*EVERYONE)
@endpoint("List my alerts newer than an id", query=AlertQuery, response=AlertList)
def list_alerts(query: AlertQuery):
    user = api_user()
    items = services.alerts_after(user.id, query.after, limit=100)
    return AlertList(items=[AlertOut.model_validate(a) for a in items],
                     last_id=items[-1].id if items else query.after)
