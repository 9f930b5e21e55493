"""Meetings fixtures: a rep in Berlin with a 30-minute link open on weekdays."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from crm.extensions import db
from tests.conftest import NOW

WEEKDAYS_9_TO_17 = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]


@pytest.fixture
def rita(make_user):
    return make_user("rep", name="Rita Rep", email="rita@acme-sales.com", time_zone="Europe/Berlin")


@pytest.fixture
def make_type():
    from crm.meetings.services import create_meeting_type

    def make(owner, **overrides):
        data = {"name": "Intro call", "slug": f"intro-{owner.id}-{overrides.get('duration_minutes', 30)}",
                "duration_minutes": 30, "time_zone": "Europe/Berlin", "weekly_hours": WEEKDAYS_9_TO_17,
                "min_notice_hours": 0, "horizon_days": 60, "increment_minutes": 30, **overrides}
        meeting_type = create_meeting_type(owner, data, NOW)
        db.session.commit()
        return meeting_type

    return make


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)
