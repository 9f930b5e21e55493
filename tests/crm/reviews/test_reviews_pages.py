"""The review pages: queue with filters and empty state, the player and its forms (errors as
422 with the field), search, trackers, rubrics, library, the rep's feedback; roles."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from crm.reviews import services
from tests.conftest import csrf_from
from tests.crm.reviews.conftest import SEGMENTS_JSON

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "transcripts"


@pytest.fixture
def recording(mallory, alice, make_recording, now):
    found = make_recording(alice, duration=80.0)
    services.save_transcript(alice, found.id, SEGMENTS_JSON, now=now, fmt="json")
    services.create_rubric(mallory, {"name": "Discovery", "criteria": [{"name": "Questions"}, {"name": "Close"}]},
                           now=now)
    services.create_folder(mallory, {"name": "Objections"}, now=now)
    services.db.session.commit()
    return found


def test_queue_page_empty_state_filters_and_rows(client, login, mallory, alice, make_recording):
    login(client, mallory)
    empty = client.get("/reviews/queue")
    assert empty.status_code == 200 and "Nothing to review" in empty.get_data(as_text=True)
    found = make_recording(alice, talk=0.62)
    page = client.get("/reviews/queue").get_data(as_text=True)
    assert f'href="/recordings/{found.id}"' in page and "62%" in page
    filtered = client.get("/reviews/queue?talk_min=70").get_data(as_text=True)
    assert "No unreviewed call matches these filters" in filtered
    bad = client.get("/reviews/queue?talk_min=70&talk_max=10")
    assert bad.status_code == 422 and "talk_max" in bad.get_data(as_text=True)


def test_player_page_shows_figures_transcript_and_forms(client, login, mallory, recording):
    login(client, mallory)
    page = client.get(f"/recordings/{recording.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="waveform"' in html and 'src="/static/reviews/player.js' in html
    assert "<script>" not in html and "onclick" not in html  # strict CSP: no inline code
    assert 'data-seek="5.0"' in html and "Salesforce" in html
    assert 'id="comment-form"' in html and "Score on" in html and 'id="clip-form"' in html
    assert "Keyboard shortcuts" in html


def test_comment_form_beyond_the_end_is_a_form_error(client, login, mallory, recording):
    login(client, mallory)
    token = csrf_from(client.get(f"/recordings/{recording.id}").get_data(as_text=True))
    refused = client.post(f"/recordings/{recording.id}/comments",
                          data={"at_seconds": "81", "body": "late", "csrf_token": token})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "lasts 80.0 seconds" in html and ">late</textarea>" in html
    saved = client.post(f"/recordings/{recording.id}/comments",
                        data={"at_seconds": "30", "body": "pinned", "csrf_token": token})
    assert saved.status_code == 302 and re.search(r"#comment-\d+$", saved.headers["Location"])
    assert "pinned" in client.get(f"/recordings/{recording.id}").get_data(as_text=True)


def test_scorecard_share_and_the_rep_sees_it(client, app, login, mallory, alice, recording):
    login(client, mallory)
    html = client.get(f"/recordings/{recording.id}").get_data(as_text=True)
    token = csrf_from(html)
    rubric = services.list_rubrics(mallory)[0]
    first, second = rubric.criteria
    incomplete = client.post(f"/recordings/{recording.id}/scorecard",
                             data={"rubric_id": rubric.id, f"rating-{first.id}": "4", f"note-{second.id}": "",
                                   "csrf_token": token})
    assert incomplete.status_code == 422 and "rate &#39;Close&#39; from 1 to 5" in incomplete.get_data(as_text=True)
    saved = client.post(f"/recordings/{recording.id}/scorecard",
                        data={"rubric_id": rubric.id, f"rating-{first.id}": "4", f"rating-{second.id}": "3",
                              f"note-{first.id}": "good", "csrf_token": token})
    assert saved.status_code == 302
    shared = client.post(f"/recordings/{recording.id}/share", data={"feedback": "Keep asking", "csrf_token": token})
    assert shared.status_code == 302
    rep = app.test_client()
    login(rep, alice)
    mine = rep.get("/reviews/mine").get_data(as_text=True)
    assert "Keep asking" in mine and "score 3.5" in mine
    player = rep.get(f"/recordings/{recording.id}").get_data(as_text=True)
    assert "Keep asking" in player and "Questions: 4/5 — good" in player and 'id="comment-form"' not in player


def test_pages_by_role(client, app, login, pat, bob, charlie, recording):
    login(client, pat)
    for path in ("/reviews/queue", f"/recordings/{recording.id}", "/library", "/reviews/search?q=precio",
                 "/reviews/mine", "/reviews/trackers"):
        assert client.get(path).status_code == 403, path
    rep = app.test_client()
    login(rep, bob)
    assert rep.get("/reviews/queue").status_code == 403
    assert rep.get(f"/recordings/{recording.id}").status_code == 404  # a colleague's call
    assert rep.get("/library").status_code == 200
    assert rep.get("/reviews/trackers").status_code == 200
    outsider = app.test_client()
    login(outsider, charlie)
    assert outsider.get(f"/recordings/{recording.id}").status_code == 404


def test_search_page(client, login, alice, recording):
    login(client, alice)
    html = client.get("/reviews/search?q=PRECÍO").get_data(as_text=True)
    assert f"/recordings/{recording.id}?t=5.0" in html
    assert client.get("/reviews/search?q=x").status_code == 422


def test_tracker_rubric_and_folder_forms(client, login, mallory, recording):
    login(client, mallory)
    token = csrf_from(client.get("/reviews/trackers").get_data(as_text=True))
    bad = client.post("/reviews/trackers", data={"name": "", "phrases": "", "csrf_token": token})
    assert bad.status_code == 422 and "at least one word or phrase" in bad.get_data(as_text=True)
    ok = client.post("/reviews/trackers", data={"name": "Budget", "phrases": "budget, presupuesto",
                                                "said_by": "either", "csrf_token": token})
    assert ok.status_code == 302
    assert "budget, presupuesto" in client.get("/reviews/trackers").get_data(as_text=True)
    rubric = client.post("/reviews/rubrics", data={"name": "Closing", "scoring": "mean", "criterion_name": ["Ask", ""],
                                                   "criterion_weight": ["1", "1"], "csrf_token": token})
    assert rubric.status_code == 302
    folder = client.post("/library", data={"name": "Objections", "csrf_token": token})
    assert folder.status_code == 422 and "another one has this name" in folder.get_data(as_text=True)


def test_transcript_upload_page_lists_malformed_lines(client, login, alice, make_recording):
    recording = make_recording(alice, duration=60.0)
    login(client, alice)
    token = csrf_from(client.get(f"/recordings/{recording.id}").get_data(as_text=True))
    bad = client.post(f"/recordings/{recording.id}/transcript", content_type="multipart/form-data", data={
        "csrf_token": token, "transcript": (io.BytesIO((FIXTURES / "malformed.vtt").read_bytes()), "call.vtt")})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "line 6:" in html and "line 14:" in html
    good = client.post(f"/recordings/{recording.id}/transcript", content_type="multipart/form-data", data={
        "csrf_token": token, "transcript": (io.BytesIO((FIXTURES / "bom_crlf.srt").read_bytes()), "call.srt")})
    assert good.status_code == 302
    assert "What is the price per seat?" in client.get(f"/recordings/{recording.id}").get_data(as_text=True)
    missing = client.post(f"/recordings/{recording.id}/transcript", data={"csrf_token": token})
    assert missing.status_code == 422
