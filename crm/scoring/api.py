"""JSON API routes of the scoring feature (``routes``, mounted on /api/v1 from the manifest): a contact's score
with its factors and trend, and the "in the market" list."""
from __future__ import annotations

from pydantic import Field

from crm.api.endpoint import endpoint, page_args
from crm.api.routing import ApiRoutes
from crm.api.schemas import Id, OutModel, PageOut, QueryModel, page_out
from crm.scoring import services
from crm.timeutil import utcnow
from crm.web.access import SALES, roles

routes = ApiRoutes()


class ScoreOut(OutModel):
    contact_id: int
    score: float = Field(description="0-100, what reps rank by: engagement now x fit x model")
    engagement: float = Field(description="human-event points decayed to now (half-life)")
    fit: float = Field(description="0-100 from title, company size and industry rules")
    predictive: float | None = Field(description="the model's probability of converting within 90 days")
    factors: list[str] = Field(description='the reasons in words, e.g. "read the pricing page 3 times this week"')


class ScoreDetailOut(ScoreOut):
    trend: list[float] = Field(description="the score at the end of each of the last 30 days, oldest first")


class ScorePage(PageOut[ScoreOut]):
    pass


class InMarketQuery(QueryModel):
    owner_id: Id | None = Field(None, description="only this owner's contacts")


def score_out(contact_id: int, summary, cls=ScoreOut, **extra) -> ScoreOut:
    return cls(contact_id=contact_id, score=summary.score, engagement=summary.engagement, fit=summary.fit,
               predictive=summary.predictive, factors=list(summary.factors), **extra)


@routes.get("/contacts/<int:contact_id>/score")
@roles(*SALES)
@endpoint("Read a contact's score and its explanation", response=ScoreDetailOut)
def get_contact_score(contact_id: int):
    detail = services.score_detail(contact_id, utcnow())
    return score_out(detail.contact_id, detail.summary, ScoreDetailOut, trend=detail.trend)


@routes.get("/scores")
@roles(*SALES)
@endpoint("List contacts by score now (in the market)", query=InMarketQuery, response=ScorePage)
def list_scores(query: InMarketQuery):
    page = services.in_market(owner_id=query.owner_id, now=utcnow(), **page_args(query))
    return page_out(ScorePage, page, lambda row: score_out(row.contact.id, row.summary))
