"""Offset pagination shared by pages and the API."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Sequence, TypeVar

from sqlalchemy import Select, func, select

from crm.extensions import db

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def clamp_page(page: int | None, per_page: int | None, default: int = 50, maximum: int = 200):
    page = page if page and page > 0 else 1
    per_page = per_page if per_page and per_page > 0 else default
    return page, min(per_page, maximum)


def paginate(query: Select, page: int | None, per_page: int | None, default: int = 50) -> Page:
    """One page of an ordered SELECT of ORM entities, with the total it was cut from."""
    page, per_page = clamp_page(page, per_page, default)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    items = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items, page, per_page, total)
