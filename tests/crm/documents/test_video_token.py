"""``{{ video }}`` in an email template: the sender's email video as a thumbnail with a play
button linking to a tracked watch page (one link per contact, reused); the text part gets the
URL; previews make no link. Watching reports 25/50/75/100% and sets off the timeline, the score
and a "watching your video now" alert."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from crm.alerts.models import Alert
from crm.contacts.models import Activity
from crm.documents import services
from crm.documents.models import ContentItem, ContentLink
from crm.documents.worker import process_pending
from crm.extensions import db
from crm.scoring.models import ScoreEvent
from crm.sequences.context import template_context
from crm.sequences.rendering import render_email, validate_email_sources
from tests.conftest import NOW
from tests.crm.documents.conftest import Upload, browser

HTML = "<p>Hi {{ contact.first_name }},</p>{{ video }}<p>Rita</p>"
TEXT = "Hi {{ contact.first_name }}, a short video for you: {{ video }}"


def email_video(rep, video_bytes):
    item = services.create_video(rep, {"name": "Intro for Northwind", "use_in_emails": "on"},
                                 Upload(video_bytes["mp4"], "intro.mp4"), None, NOW)
    db.session.commit()
    process_pending(NOW)
    return db.session.get(ContentItem, item.id)


def test_the_token_renders_a_tracked_thumbnail_and_reuses_the_contacts_link(storage, rep, prospect, video_bytes):
    validate_email_sources("A video for {{ contact.first_name }}", TEXT, HTML)
    email_video(rep, video_bytes)
    rendered = render_email("Video", TEXT, HTML, template_context(prospect, rep))
    match = re.search(r'<a href="(http://crm\.example\.com/d/([^"]+))"><img src="http://crm\.example\.com/d/\2/email\.jpg"'
                      r' alt="Play the video: Intro for Northwind"', rendered.html_body)
    assert match, rendered.html_body
    assert rendered.text_body.endswith(match.group(1))
    assert "<script" not in rendered.html_body
    render_email("Video", TEXT, HTML, template_context(prospect, rep))
    links = db.session.scalars(select(ContentLink)).all()
    assert len(links) == 1 and (links[0].contact_id, links[0].source) == (prospect.id, "email")


def test_a_preview_makes_no_link_and_a_sender_without_a_video_gets_nothing(storage, rep, prospect, make_user,
                                                                           video_bytes):
    email_video(rep, video_bytes)
    preview = render_email("Video", TEXT, HTML, template_context(prospect, rep, store_links=False))
    assert "a tracked link is made when the email is sent" in preview.html_body
    assert db.session.scalar(select(func.count(ContentLink.id))) == 0
    other = make_user("rep")
    plain = render_email("Video", TEXT, HTML, template_context(prospect, other))
    assert plain.text_body == "Hi Paula, a short video for you: "


def test_watching_reports_depth_timeline_score_and_a_hot_lead_alert(client, storage, rep, prospect, video_bytes):
    item = email_video(rep, video_bytes)
    services.video_token(rep.id, prospect.id, NOW)
    db.session.commit()
    token = services.link_token(db.session.scalar(select(ContentLink)))
    with client.get(f"/d/{token}/email.jpg") as image:
        assert image.status_code == 200 and image.data.startswith(b"\xff\xd8")
    for percent in (0, 25, 50, 75):
        services.record_beacon(token, "watcher-key-aaaaaaaaaaaa", {"view": "watch-view-0000000001",
                                                                   "percent": percent, "seconds": 0.4}, browser(), NOW)
        db.session.commit()
    found = services.item_analytics(rep, item.id)
    assert [d["viewers"] for d in found["watch_depth"]] == [1, 1, 1, 0]
    activity = db.session.scalar(select(Activity).where(Activity.kind == "video_watched"))
    assert activity.contact_id == prospect.id and activity.details["watched_percent"] == 75
    assert db.session.scalar(select(ScoreEvent.kind).where(ScoreEvent.contact_id == prospect.id)) == "video_watched"
    alert = db.session.scalar(select(Alert).where(Alert.user_id == rep.id))
    assert "Paula Prospect is watching your video 'Intro for Northwind' now" in alert.message
    panel = services.contact_content(prospect.id)
    assert panel["reads"][0]["watched_percent"] == 75 and panel["shared"][0].source == "email"
