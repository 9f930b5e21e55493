"""Offset pagination shared by pages and the API."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Sequence, TypeVar

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
