"""Issue #17 in real headless Chromium: a Spanish-speaking rep in Monterrey and an English-speaking
colleague work their day on the same kind of data, each in their language and zone; a prospect
in Guadalajara whose browser speaks es-MX books a meeting in Spanish (and the invite is written
in Spanish); the planner's grid reads in Spanish. Every page: the right ``<html lang>``, no
English left in the page's chrome, no console errors under the strict CSP."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from crm.calls.blocks import create_block
from crm.calls.queue import build_queue
from crm.contacts.models import Contact
from crm.extensions import db
from crm.mail.models import OutboundEmail
from crm.meetings.models import Meeting
from tests.conftest import PASSWORD
from tests.crm.meetings.conftest import (
    make_type,  # noqa: F401  (fixture)
    rita,  # noqa: F401  (fixture)
)
from tests.crm.meetings.helpers import future_weekday

pytestmark = pytest.mark.browser

# Tuesday 10 March 2026, 09:05 in Monterrey (UTC-6) and 11:05 in New York (UTC-4, DST).
NINE_MONTERREY = datetime(2026, 3, 10, 15, 0, tzinfo=timezone.utc)


def _tab(chromium, live_server, *, locale: str, zone: str):
    ctx = chromium.new_context(base_url=live_server, viewport={"width": 1280, "height": 900}, locale=locale,
                               timezone_id=zone)
    tab = ctx.new_page()
    tab.set_default_timeout(15_000)
    tab.console_errors = []
    tab.on("console", lambda m: m.type == "error" and tab.console_errors.append(m.text))
    tab.on("pageerror", lambda e: tab.console_errors.append(str(e)))
    return ctx, tab


def _sign_in(tab, email: str) -> None:
    tab.goto("/login")
    tab.fill("input[name=email]", email)
    tab.fill("input[name=password]", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_load_state()


@pytest.fixture
def two_reps(make_user, make_contact, clock):
    clock.freeze(NINE_MONTERREY + timedelta(minutes=5))
    lucia = make_user("rep", name="Lucía Garza", email="lucia@aceros-demo.mx", time_zone="America/Monterrey")
    lucia.language = "es"
    ray = make_user("rep", name="Ray Rep", email="ray@acme-sales.com", time_zone="America/New_York")
    for rep, people in ((lucia, (("Mariana", "Treviño"), ("Jorge", "Salinas"))),
                        (ray, (("Grace", "Hopper"), ("Alan", "Turing")))):
        create_block(rep, {"kind": "recurring", "weekdays": [0, 1, 2, 3, 4], "start_time": time(9),
                           "end_time": time(12)}, NINE_MONTERREY)
        for first, last in people:
            make_contact(first_name=first, last_name=last, owner_id=rep.id, phone="+52 81 5555 0199",
                         time_zone=rep.time_zone, actor=rep)
        build_queue(rep, NINE_MONTERREY + timedelta(minutes=5))
    db.session.commit()
    return lucia, ray


def test_the_reps_day_in_spanish_and_in_english(chromium, live_server, two_reps):
    lucia, ray = two_reps
    es_ctx, es = _tab(chromium, live_server, locale="es-MX", zone="America/Monterrey")
    en_ctx, en = _tab(chromium, live_server, locale="en-US", zone="America/New_York")
    try:
        _sign_in(es, lucia.email)
        es.goto("/calls")
        assert es.locator("html").get_attribute("lang") == "es"
        heading = es.locator("h1").first.inner_text()
        assert "Mi día" in heading and "martes, 10 de marzo" in heading
        assert es.locator("#call-queue tbody tr").count() == 2
        assert "Empezar a llamar" in es.locator("#start-calling").inner_text()
        body = es.locator("main").inner_text()
        assert "America/Monterrey" in body and "My day" not in body and "Start calling" not in body
        nav = es.locator("nav.mainnav").inner_text()
        assert "Contactos" in nav and "Negocios" in nav and "Contacts" not in nav
        es.screenshot(path="/tmp/i18n_my_day_es.png", full_page=True)

        # She works one call with the keyboard: the flash and the outcome are Spanish.
        es.click("#start-calling")
        es.wait_for_selector("#log-form")
        assert "Registrar la llamada" in es.locator("main").inner_text()
        es.locator("body").press("c")
        with es.expect_navigation():
            es.keyboard.press("Enter")
        assert "Registrado: Contestó con" in es.locator(".flash-success").inner_text()

        _sign_in(en, ray.email)
        en.goto("/calls")
        assert en.locator("html").get_attribute("lang") == "en"
        heading = en.locator("h1").first.inner_text()
        assert "My day" in heading and "Tuesday, March 10" in heading
        assert en.locator("#call-queue tbody tr").count() == 2
        assert "America/New_York" in en.locator("main").inner_text()
        en.screenshot(path="/tmp/i18n_my_day_en.png", full_page=True)
        assert es.console_errors == [] and en.console_errors == []
    finally:
        es_ctx.close()
        en_ctx.close()


def test_a_prospect_in_guadalajara_books_in_spanish(chromium, live_server, rita, make_type):  # noqa: F811
    meeting_type = make_type(rita, name="Dimensionamiento de bombas")
    db.session.commit()
    day = future_weekday(1)
    ctx, tab = _tab(chromium, live_server, locale="es-MX", zone="America/Mexico_City")
    try:
        tab.goto(f"/meet/{meeting_type.slug}?start={day}")
        tab.wait_for_url("**tz=America%2FMexico_City*")  # the browser's zone, applied by meetings.js
        assert tab.locator("html").get_attribute("lang") == "es-MX"
        days = tab.locator("#slots h2").all_inner_texts()
        weekdays = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
        assert days and all(text.split(",")[0] in weekdays for text in days), days
        first = tab.locator("#slots a.slot").first
        assert first.inner_text().endswith(("a.m.", "p.m."))  # 2:00 a.m. in Mexico City for 09:00 Berlin
        switcher = tab.locator("nav.language-switcher")
        assert switcher.locator("[aria-current]").inner_text() == "Español"
        tab.screenshot(path="/tmp/i18n_booking_slots_es.png", full_page=True)

        first.click()
        tab.wait_for_selector("#confirm-booking")
        assert "Confirmar la cita" in tab.locator("#confirm-booking").inner_text()
        tab.fill("input[name=name]", "Mariana Treviño")
        tab.fill("input[name=email]", "mariana@tequilas-jalisco.mx")
        tab.click("#confirm-booking")
        tab.wait_for_selector("#booked")
        assert "Tu cita está agendada" in tab.locator("#booked").inner_text()
        when = tab.locator(".meet-when").inner_text()
        assert any(name in when for name in weekdays) and " de " in when
        tab.screenshot(path="/tmp/i18n_booked_es.png", full_page=True)
        assert tab.console_errors == []
    finally:
        ctx.close()

    db.session.expire_all()
    meeting = db.session.scalars(select(Meeting)).one()
    contact = db.session.get(Contact, meeting.contact_id)
    assert contact.language == "es"  # es-MX from the browser: mail to her is written in (Mexican) Spanish
    invites = db.session.scalars(select(OutboundEmail).where(OutboundEmail.kind == "invite")
                                 .order_by(OutboundEmail.id)).all()
    to_guest = next(e for e in invites if e.to_address == "mariana@tequilas-jalisco.mx")
    to_host = next(e for e in invites if e.to_address == rita.email)
    assert to_guest.subject.startswith("Invitación: Dimensionamiento de bombas")
    assert "Cuándo:" in to_guest.text_body and "America/Mexico_City" in to_guest.text_body
    assert "Cancelar:" in to_guest.text_body and " de " in to_guest.text_body
    assert to_host.subject.startswith("Invitation: Dimensionamiento de bombas")  # Rita reads English


@pytest.fixture
def spanish_pipeline(make_deal, stages, alice):
    make_deal(name="Bombas para Cementos del Norte", stage_id=stages[2].id, expected_close=date(2030, 1, 10),
              owner_id=alice.id, lines=[{"family": "PUMP", "quantity": 10, "unit_price": "100.00"}])
    make_deal(name="Válvulas para Aceros de Monterrey", stage_id=stages[3].id, expected_close=date(2030, 4, 2),
              lines=[{"family": "VALVE", "quantity": 40, "unit_price": "25.00"}])


def test_the_planners_grid_in_spanish(chromium, live_server, pat, spanish_pipeline):
    pat.language = "es"
    db.session.commit()
    ctx, tab = _tab(chromium, live_server, locale="es-MX", zone="America/Mexico_City")
    try:
        _sign_in(tab, pat.email)
        tab.goto("/planning/?from=2030-01&to=2030-06&probabilities=stage")
        assert tab.locator("html").get_attribute("lang") == "es"
        assert "Entrada de demanda" in tab.locator("h1").first.inner_text()
        headers = [text.strip() for text in tab.locator("#demand-grid thead th").all_text_contents()]
        assert headers[0] == "Familia" and headers[-1] == "Total"
        assert headers[1:7] == ["ene 2030", "feb 2030", "mar 2030", "abr 2030", "may 2030", "jun 2030"]
        assert tab.locator("#demand-grid thead th[data-period='2030-02']").count() == 1
        assert "Todas las familias" in tab.locator("#demand-grid tfoot").text_content()
        page_text = tab.locator("main").inner_text()
        assert "Suggested demand input" not in page_text and "Download CSV" not in page_text
        tab.screenshot(path="/tmp/i18n_planning_grid_es.png", full_page=True)
        assert tab.console_errors == []
    finally:
        ctx.close()
