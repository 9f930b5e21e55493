"""JSON API of the signed-in user's own settings (issue #17): ``GET /me`` and ``PATCH /me``
(language, time zone, mail signature). Mounted on /api/v1 from the manifest."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from crm.api.auth import api_user
from crm.api.endpoint import endpoint
from crm.api.routing import ApiRoutes
from crm.api.schemas import OutModel, StrictModel, Text, TimeZoneName
from crm.auth import services
from crm.extensions import db
from crm.i18n import LANGUAGE_TAGS
from crm.web.access import EVERYONE, roles

routes = ApiRoutes()

LanguageTag = Literal["en", "en-GB", "es", "es-ES"]
assert set(LanguageTag.__args__) == set(LANGUAGE_TAGS)  # type: ignore[attr-defined]


class MeOut(OutModel):
    id: int
    email: str
    name: str
    role: str
    language: str = Field(description="the language of pages and of mail to contacts without one of their own: "
                                      "en, en-GB, es (Spanish as in Mexico) or es-ES")
    time_zone: str
    signature: str | None


class MeIn(StrictModel):
    language: LanguageTag | None = None
    time_zone: TimeZoneName | None = None
    signature: Text(services.MAX_SIGNATURE) | None = None  # type: ignore[valid-type]


def me_out(user) -> MeOut:
    return MeOut(id=user.id, email=user.email, name=user.name, role=user.role, language=user.language or "en",
                 time_zone=user.time_zone, signature=user.signature)


@routes.get("/me")
@roles(*EVERYONE)
@endpoint("Read your own settings", response=MeOut)
def get_me():
    return me_out(api_user())


@routes.patch("/me")
@roles(*EVERYONE)
@endpoint("Change your language, time zone or signature", body=MeIn, response=MeOut,
          description="Only the fields sent change; `null` for the signature removes it (language and time "
                      "zone cannot be null). 422 with the field for a language we do not have or an unknown "
                      "time zone.")
def patch_me(body: MeIn):
    changes = body.model_dump(exclude_unset=True)
    for name in ("language", "time_zone"):
        if name in changes and changes[name] is None:
            changes[name] = ""  # refused by the service with the field named
    user = services.update_profile(api_user(), changes)
    db.session.commit()
    return me_out(user)
