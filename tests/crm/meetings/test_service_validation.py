"""The services themselves refuse what the pages and the API refuse: a CLI, an import or the
demo goes through them too, so a check that lives only in a form or schema is a hole."""
from __future__ import annotations

import pytest

from crm.contacts.services import create_contact
from crm.errors import ValidationFailed
from crm.meetings import calendars
from crm.meetings.services import create_meeting_type, update_meeting_type
from crm.timeutil import all_timezones, is_valid_timezone
from tests.conftest import NOW
from tests.crm.meetings.conftest import WEEKDAYS_9_TO_17

BAD_WEB_ADDRESSES = ["javascript:alert(1)", "https://", "http//meet.example.com", "data:text/html,hi",
                     "https://user:pw@meet.example.com/x", "file:///etc/passwd"]


def _type_data(rita, **overrides):
    return {"name": "Intro call", "slug": f"intro-{rita.id}", "duration_minutes": 30, "time_zone": "Europe/Berlin",
            "weekly_hours": WEEKDAYS_9_TO_17, "location_kind": "video", **overrides}


@pytest.mark.parametrize("link", BAD_WEB_ADDRESSES)
def test_a_video_location_must_be_a_web_link_in_the_service(rita, link):
    with pytest.raises(ValidationFailed) as refused:
        create_meeting_type(rita, _type_data(rita, location_value=link), NOW)
    assert "location_value" in refused.value.fields


def test_patching_either_half_of_a_video_location_is_checked_as_stored(rita):
    meeting_type = create_meeting_type(
        rita, _type_data(rita, location_kind="address", location_value="javascript:x"), NOW)
    with pytest.raises(ValidationFailed):  # the stored address text becomes a video link: checked
        update_meeting_type(rita, meeting_type.id, {"location_kind": "video"}, NOW)
    updated = update_meeting_type(rita, meeting_type.id, {"location_kind": "video",
                                                          "location_value": "https://meet.example.com/rita"}, NOW)
    assert (updated.location_kind, updated.location_value) == ("video", "https://meet.example.com/rita")


@pytest.mark.parametrize("url", BAD_WEB_ADDRESSES)
def test_a_calendar_feed_must_be_a_web_link(rita, url):
    with pytest.raises(ValidationFailed):
        calendars.add_feed(rita, "Work", url, NOW, fetch=False)


@pytest.mark.parametrize("url", BAD_WEB_ADDRESSES)
def test_social_profile_links_must_be_web_links(admin, url):
    with pytest.raises(ValidationFailed) as refused:
        create_contact(admin, {"email": "ana@example.com", "linkedin_url": url}, NOW)
    assert "linkedin_url" in refused.value.fields


def test_pickers_offer_exactly_the_zones_that_are_accepted():
    offered = all_timezones()
    assert "Europe/Berlin" in offered and "America/Mexico_City" in offered and "UTC" in offered
    assert not {"localtime", "Factory", "posixrules"} & set(offered)
    assert all(is_valid_timezone(name) for name in offered)
