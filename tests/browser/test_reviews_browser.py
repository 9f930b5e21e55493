"""In real headless Chromium, conversation review end to end: a manager opens a call from the
review queue, seeks, comments at a time by clicking the waveform, fills the scorecard, adds a
clip to the library and shares; the rep signs in, sees the feedback and plays the clip. No
Content Security Policy errors on the way (the player is a static script)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from werkzeug.datastructures import FileStorage

from crm.contacts.services import record_activity
from crm.extensions import db
from crm.recordings import services as recordings
from crm.reviews import services
from tests.conftest import NOW, PASSWORD
from tests.crm.reviews.conftest import SEGMENTS_JSON, write_call_wav

# The development server does not close a streamed file when Chromium aborts a media request
# (it drops its first open-ended range request once it has the metadata): the file object is
# left to the garbage collector, a ResourceWarning the suite's "error" filter would turn into a
# failure of whichever test runs next. Production servers close the response iterable.
pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::ResourceWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]
SECONDS = 20.0


@pytest.fixture
def call_to_review(app, tmp_path, mallory, alice, make_contact):
    saved = {key: app.config.get(key) for key in ("RECORDINGS_DIR", "INSTANCE_DIR", "REVIEW_CLIPS_DIR")}
    app.config.update(INSTANCE_DIR=tmp_path / "instance", RECORDINGS_DIR=tmp_path / "recordings",
                      REVIEW_CLIPS_DIR=tmp_path / "clips")
    contact = make_contact(owner_id=alice.id)
    call = record_activity("call", NOW - timedelta(hours=3), contact_id=contact.id, user_id=alice.id,
                           details={"outcome": "connected", "outcome_label": "Connected"})
    db.session.commit()
    path = write_call_wav(tmp_path / "call.wav", SECONDS)
    with open(path, "rb") as handle:
        recording = recordings.upload_recording(
            alice, call.id, FileStorage(stream=handle, filename="call.wav", content_type="audio/wav"),
            now=NOW - timedelta(hours=3))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["crm", "recordings", "analyse-pending"])
    assert result.exit_code == 0, result.output
    services.save_transcript(alice, recording.id, SEGMENTS_JSON, now=NOW, fmt="json")
    services.create_tracker(mallory, {"name": "Price", "phrases": ["precio"]}, now=NOW)
    services.create_rubric(mallory, {"name": "Discovery", "criteria": [{"name": "Questions"}, {"name": "Next step"}]},
                           now=NOW)
    services.create_folder(mallory, {"name": "Objection handling"}, now=NOW)
    db.session.commit()
    yield recording
    app.config.update(saved)


def sign_in(page, user):
    page.goto("/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def current_time(page) -> float:
    return page.evaluate("document.getElementById('review-audio').currentTime")


def test_manager_reviews_a_call_and_the_rep_sees_it(page, chromium, live_server, mallory, alice, call_to_review):
    recording = call_to_review
    sign_in(page, mallory)
    page.goto("/reviews/queue")
    page.click(f"#review-queue a[href='/recordings/{recording.id}']")
    page.wait_for_url(f"**/recordings/{recording.id}")
    page.wait_for_function("() => document.getElementById('review-audio').readyState >= 1")
    assert "50%" in page.inner_text("#talk-ratio")

    page.click("#forward")                                       # +5 s
    page.wait_for_function("() => document.getElementById('review-audio').currentTime >= 4.9")
    page.keyboard.press("l")                                     # +15 s (L), capped at the end
    page.keyboard.press("ArrowLeft")                             # -5 s
    assert current_time(page) == pytest.approx(15, abs=0.2)
    page.click("#transcript-lines li:nth-child(3) [data-seek]")  # the line at 10 s
    page.wait_for_function("() => Math.abs(document.getElementById('review-audio').currentTime - 10) < 1.5")
    page.keyboard.press("k")
    page.evaluate("document.getElementById('review-audio').pause()")

    box = page.locator("#waveform").bounding_box()
    page.locator("#waveform").click(position={"x": box["width"] * 0.25, "y": box["height"] / 2})  # 5 s into the call
    assert float(page.input_value("#comment-at")) == pytest.approx(5, abs=0.3)
    assert current_time(page) == pytest.approx(5, abs=0.3)
    page.fill("#comment-body", "Here the prospect asks the price: ask about volumes first.")
    page.click("#comment-form button[type=submit]")
    page.wait_for_load_state()
    assert "ask about volumes first" in page.inner_text("#comments")

    rubric = page.locator(".scorecard-form").first
    rubric.locator("fieldset").nth(0).locator("input[type=radio][value='4']").check()
    rubric.locator("fieldset").nth(1).locator("input[type=radio][value='2']").check()
    rubric.locator("fieldset").nth(1).locator("input[name^=note]").fill("No next step agreed")
    rubric.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "3.0" in page.inner_text("#scorecards")

    page.click("#transcript-lines li:nth-child(2) [data-seek]")  # 5 s
    page.evaluate("document.getElementById('review-audio').pause()")
    page.click("[data-fill=clip-start]")
    page.fill("#clip-end", "9")
    page.fill("#clip-note", "Price objection")
    page.click("#clip-form button[type=submit]")
    page.wait_for_load_state()
    assert "Price objection" in page.inner_text("#clips")

    page.fill("#feedback", "Good opening; hold the price until you know their volumes.")
    page.click("#share-form button[type=submit]")
    page.wait_for_load_state()
    assert "Feedback shared" in page.inner_text("main")
    page.screenshot(path="/tmp/reviews_player.png", full_page=True)
    assert page.console_errors == []

    rep_context = chromium.new_context(base_url=live_server, viewport={"width": 390, "height": 844})
    rep = rep_context.new_page()
    rep.console_errors = []
    rep.on("console", lambda message: message.type == "error" and rep.console_errors.append(message.text))
    try:
        sign_in(rep, alice)
        rep.goto("/alerts")
        assert "shared feedback on your call" in rep.inner_text("main")
        rep.goto("/reviews/mine")
        mine = rep.inner_text("main")
        assert "hold the price until you know their volumes" in mine and "score 3.0" in mine
        assert "Team average" in mine
        rep.screenshot(path="/tmp/reviews_mine_phone.png", full_page=True)
        rep.click("#my-reviews a")
        rep.wait_for_url(f"**/recordings/{recording.id}")
        assert "ask about volumes first" in rep.inner_text("#comments")
        assert "No next step agreed" in rep.inner_text("#scorecards")
        rep.goto("/library")
        clip = rep.locator(".clip audio").first
        clip.evaluate("audio => { audio.preload = 'auto'; audio.load(); }")
        rep.wait_for_function("() => document.querySelector('.clip audio').readyState >= 1")
        assert clip.evaluate("audio => audio.duration") == pytest.approx(4, abs=0.05)  # only the clip: 5 s to 9 s
        clip.evaluate("audio => { audio.muted = true; return audio.play(); }")
        rep.wait_for_function("() => document.querySelector('.clip audio').currentTime > 0.2")
        assert rep.console_errors == []
    finally:
        rep_context.close()
