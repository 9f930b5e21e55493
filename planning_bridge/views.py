"""The planner pages' blueprint. The routes live in ``planning_bridge/pages/`` (one module per
page family); importing them here attaches them to ``bp``."""
from __future__ import annotations

from planning_bridge.pages import bp, demand, imports, quality, settings, snapshots  # noqa: F401  (routes)

__all__ = ["bp"]
