"""The shared rate-limit counters (``crm.ratelimits.storage.DatabaseStorage``)."""
from __future__ import annotations

from sqlalchemy import Double, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db


class RateLimitCounter(db.Model):
    """One fixed window of one limit for one client (address, account, token): how many hits
    it has had and when it ends (seconds since the epoch, the database server's clock).

    The key is the SHA-256 of Flask-Limiter's key, never the key itself: the keys hold
    submitted email addresses of any length (the limit is checked before the form is), and a
    fixed-width key keeps the primary key small and the table free of what people typed."""

    __tablename__ = "rate_limit_counters"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    # Indexed for the sweep of ended windows.
    expires_at: Mapped[float] = mapped_column(Double, index=True)
