"""Fixtures for the planning bridge: a clean slate of the bridge's in-process caches, a
stand-in baseline while ``planning_bridge.baseline`` is not there, and small helpers to script
deal histories through the CRM's services at chosen moments."""
from __future__ import annotations

import importlib.util
import sys
import types
from datetime import date, datetime, timezone

import pytest

from crm.extensions import db


def _seasonal_naive_module() -> types.ModuleType:
    """Only for tests, and only while the real baseline is missing: last year's value (or the
    mean for histories under a year); no outliers."""
    from planning_bridge.contracts import BaselineForecast

    def forecast_baseline(history, horizon, *, period=12):
        values = [float(v) for v in history]
        if len(values) >= period:
            fitted = tuple(values[:period] + values[:-period])
            forecast = tuple(values[len(values) - period + (h % period)] for h in range(horizon))
            return BaselineForecast(fitted, forecast, "seasonal_naive")
        level = sum(values) / len(values) if values else 0.0
        return BaselineForecast((level,) * len(values), (level,) * horizon, "mean")

    module = types.ModuleType("planning_bridge.baseline")
    module.forecast_baseline = forecast_baseline
    module.flag_outliers = lambda history, *, period=12: ()
    return module


@pytest.fixture(autouse=True)
def _fresh_bridge_caches(monkeypatch):
    if importlib.util.find_spec("planning_bridge.baseline") is None:
        monkeypatch.setitem(sys.modules, "planning_bridge.baseline", _seasonal_naive_module())
    from planning_bridge import accuracy, calibration, history, observations, probabilities

    for clear in (history.forecast.cache_clear, observations.clear_cache, probabilities.clear_cache,
                  calibration._reports.cache_clear, accuracy._cached.cache_clear):
        clear()
    yield


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


@pytest.fixture
def deal_at(admin, stages, families):
    """``deal_at(created, stage_index, expected_close, lines)`` creates a deal at that moment."""
    from crm.deals.services import create_deal

    def make(created: datetime, stage: int, expected_close: date, lines, name: str | None = None,
             owner=None):
        deal = create_deal(admin, {
            "owner_id": owner.id if owner else None,
            "name": name or f"Deal {created.isoformat()}-{stage}", "stage_id": stages[stage].id,
            "expected_close": expected_close,
            "lines": [{"family": f, "quantity": q, "unit_price": str(p)} for f, q, p in lines],
        }, created)
        db.session.commit()
        return deal

    return make


@pytest.fixture
def close_at(admin):
    from crm.deals.services import close_deal

    def close(deal, moment: datetime, won: bool, closed_on: date | None = None):
        close_deal(admin, deal.id, won=won, now=moment, closed_on=closed_on or moment.date(),
                   lost_reason=None if won else "no budget")
        db.session.commit()

    return close


@pytest.fixture
def update_at(admin, stages):
    from crm.deals.services import update_deal

    def update(deal, moment: datetime, **changes):
        if "stage" in changes:
            changes["stage_id"] = stages[changes.pop("stage")].id
        if "lines" in changes:
            changes["lines"] = [{"family": f, "quantity": q, "unit_price": str(p)} for f, q, p in changes["lines"]]
        update_deal(admin, deal.id, changes, moment)
        db.session.commit()

    return update
