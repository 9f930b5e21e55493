"""Tables of the scoring feature.

- ``ScoreEvent``: every human event handed to ``record_event`` (the raw material: exact
  recomputation after a rule change, explanations, trends, model features).
- ``ContactScore``: one row per scored contact, updated in O(1) per event.
- ``ScoringRule`` / ``FitRule`` / ``ScoringSettings``: what the admin configures.
- ``ScoringModel``: trained predictive models (pickled with joblib) with version and metrics.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db
from crm.jsontype import JSONType
from crm.timeutil import UTCDateTime, utcnow

FIT_ATTRIBUTES = ("title", "company_size", "industry")


class ScoreEvent(db.Model):
    __tablename__ = "score_events"
    __table_args__ = (Index("ix_score_events_contact_time", "contact_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    url: Mapped[str | None] = mapped_column(String(2000))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ContactScore(db.Model):
    """``engagement`` is the decayed sum of event points as of ``engagement_as_of``;
    ``rank_key`` = log2(engagement * multiplier) + as_of / half-life (both in hours since
    ``crm.scoring.scores.EPOCH``) does not depend on "now" yet orders contacts exactly like
    their score now, so "best now" is an index scan."""

    __tablename__ = "contact_scores"
    # "Best now", for everyone and per owner, are index range scans in rank order.
    __table_args__ = (
        Index("ix_contact_scores_rank", "rank_key", "contact_id"),
        Index("ix_contact_scores_owner_rank", "owner_id", "rank_key", "contact_id"),
    )

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    engagement: Mapped[float] = mapped_column(default=0.0)
    engagement_as_of: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fit: Mapped[float] = mapped_column(default=0.0)
    predictive: Mapped[float | None]
    score: Mapped[float] = mapped_column(default=0.0)
    rank_key: Mapped[float] = mapped_column(default=-1e12)
    # A copy of the contact's owner for the per-owner index; kept in step by the
    # ``scoring-refresh-contacts`` job (every minute) and checked against contacts on read.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScoringRule(db.Model):
    """Points for one kind of human event, optionally only when the URL contains a pattern.
    The most specific rule wins (URL rules before the plain kind rule), then ``position``."""

    __tablename__ = "scoring_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    url_contains: Mapped[str | None] = mapped_column(String(300))
    points: Mapped[float] = mapped_column(default=0.0)
    label: Mapped[str] = mapped_column(String(100), default="")
    position: Mapped[int] = mapped_column(default=0)


class FitRule(db.Model):
    """``title``: ``match`` holds keywords separated by ``|`` (word match, case-insensitive);
    ``company_size``: employees in [min_value, max_value]; ``industry``: equal, case-insensitive.
    Per attribute the best-scoring matching rule counts."""

    __tablename__ = "fit_rules"
    __table_args__ = (
        CheckConstraint("attribute IN ('title', 'company_size', 'industry')", name="attribute"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attribute: Mapped[str] = mapped_column(String(20))
    match: Mapped[str | None] = mapped_column(String(300))
    min_value: Mapped[int | None]
    max_value: Mapped[int | None]
    points: Mapped[float] = mapped_column(default=0.0)
    label: Mapped[str] = mapped_column(String(100), default="")


def new_rules_revision() -> str:
    return uuid.uuid4().hex


class ScoringSettings(db.Model):
    """A single row (id 1)."""

    __tablename__ = "scoring_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    half_life_days: Mapped[float] = mapped_column(default=14.0)
    saturation_points: Mapped[float] = mapped_column(default=30.0)
    needs_recompute: Mapped[bool] = mapped_column(default=False)
    fit_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A fresh random token at every rules or settings change: the key of each process's cached
    # ruleset. Random, not a counter or a time: a database emptied or restored and changed again
    # must never meet a ruleset another state of it left in the cache.
    rules_revision: Mapped[str] = mapped_column(String(32), default=new_rules_revision)


class ScoringModel(db.Model):
    __tablename__ = "scoring_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    source: Mapped[str] = mapped_column(String(20))  # crm | history
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    feature_names: Mapped[list[str]] = mapped_column(JSONType, default=list)
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
