"""The demo seeds a link per rep, a team link and past and upcoming meetings, mailing nobody."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from crm.extensions import db
from crm.meetings import demo
from crm.meetings.models import Meeting, MeetingType


def test_demo_seed(make_user, make_contact, smtp_sink):
    actors = {"admin": make_user("admin"), "manager": make_user("manager")}
    for key, zone in (("europe", "Europe/Berlin"), ("east", "America/New_York"), ("west", "America/Los_Angeles")):
        actors[key] = make_user("rep", time_zone=zone, manager_id=actors["manager"].id)
        for _ in range(5):
            make_contact(owner_id=actors[key].id, actor=actors[key])
    now = datetime(2026, 11, 25, 9, tzinfo=timezone.utc)
    counts = demo.seed(actors, now.date(), now)
    db.session.commit()
    assert counts == {"meeting_types": 4, "meetings": 15}
    assert db.session.scalar(select(func.count(Meeting.id)).where(Meeting.start_at > now)) == 6
    team = db.session.scalar(select(MeetingType).where(MeetingType.slug == "team-demo"))
    assert len(team.members) == 3
    assert smtp_sink.messages == []
