"""The forward gate: a second browser on a link gives an email; the person becomes (or is found
as) a contact of the sharing contact's company, a "forwarded by" entry and an alert are written
once, and concurrent submits of the same email make one contact and one forward (PostgreSQL,
real concurrent requests)."""
from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from crm.alerts.models import Alert
from crm.contacts.models import Activity, Contact
from crm.documents import services
from crm.documents.models import ContentForward, ContentReader
from crm.errors import ValidationFailed
from crm.extensions import db
from tests.conftest import NOW
from tests.crm.documents.conftest import browser

FIRST = "first-browser-key-aaaaaaaaaa"
SECOND = "second-browser-key-bbbbbbbbb"


def claim(token, reader=FIRST):
    services.record_beacon(token, reader, {"view": f"view-{reader}", "page": 1, "seconds": 0}, browser(), NOW)
    db.session.commit()


def count(query) -> int:
    db.session.expire_all()
    return db.session.scalar(query) or 0


def test_a_forwarded_reader_becomes_a_contact_of_the_sharers_company(rep, shared, prospect):
    link, token = shared
    claim(token)
    colleague = services.identify_reader(token, SECOND, {"email": " Carl.Colleague@Northwind.example ",
                                                         "first_name": "Carl", "last_name": "Colleague"}, NOW)
    db.session.commit()
    assert colleague.email == "carl.colleague@northwind.example"
    assert (colleague.company_id, colleague.owner_id) == (prospect.company_id, rep.id)
    assert colleague.source == "document forward"
    assert services.reader_of(db.session.get(type(link), link.id), SECOND) == colleague.id
    forwarded = db.session.scalar(select(Activity).where(Activity.kind == "document_forwarded"))
    assert forwarded.contact_id == colleague.id and forwarded.company_id == prospect.company_id
    assert forwarded.details["forwarded_by"] == "Paula Prospect"
    alert = db.session.scalar(select(Alert).where(Alert.kind == "content_forwarded"))
    assert alert.user_id == rep.id and alert.contact_id == colleague.id
    assert "Paula Prospect forwarded 'Northwind proposal' to Carl Colleague (Northwind)" in alert.message
    # the colleague reads: their own session, on their own timeline
    services.record_beacon(token, SECOND, {"view": "colleague-view-key-0001", "page": 2, "seconds": 9}, browser(), NOW)
    db.session.commit()
    readers = {r["contact_id"]: r for r in services.item_analytics(rep, link.item_id)["readers"]}
    assert set(readers) == {prospect.id, colleague.id} and readers[colleague.id]["seconds"] == 9
    assert services.item_analytics(rep, link.item_id)["forwards"][0]["forwarded_by_id"] == prospect.id


def test_the_same_person_twice_is_one_contact_one_forward_one_alert(shared, prospect):
    _link, token = shared
    claim(token)
    for key in (SECOND, "third-browser-key-ccccccccc", SECOND):
        services.identify_reader(token, key, {"email": "carl@northwind.example"}, NOW)
        db.session.commit()
    assert count(select(func.count(Contact.id)).where(Contact.email == "carl@northwind.example")) == 1
    assert count(select(func.count(ContentForward.id))) == 1
    assert count(select(func.count(Alert.id)).where(Alert.kind == "content_forwarded")) == 1
    assert count(select(func.count(ContentReader.id))) == 2


def test_an_existing_contact_is_found_not_duplicated_and_keeps_their_company(shared, make_contact, make_company):
    _link, token = shared
    claim(token)
    elsewhere = make_company(name="Elsewhere", domain="elsewhere.example")
    known = make_contact(email="kim@elsewhere.example", company_id=elsewhere.id)
    found = services.identify_reader(token, SECOND, {"email": "KIM@elsewhere.example"}, NOW)
    db.session.commit()
    assert found.id == known.id and found.company_id == elsewhere.id


def test_the_prospect_on_a_new_browser_is_just_the_prospect(shared, prospect):
    _link, token = shared
    claim(token)
    found = services.identify_reader(token, SECOND, {"email": prospect.email}, NOW)
    db.session.commit()
    assert found.id == prospect.id
    assert count(select(func.count(ContentForward.id))) == 0


@pytest.mark.parametrize("data, field", [
    ({"email": ""}, "email"), ({"email": "not an email"}, "email"), ({"email": "a@b.example", "first_name": "x" * 101},
                                                                     "first_name"),
])
def test_bad_gate_input_names_the_field(shared, data, field):
    _link, token = shared
    with pytest.raises(ValidationFailed) as refused:
        services.identify_reader(token, SECOND, data, NOW)
    assert field in refused.value.fields


def test_the_gate_over_http_asks_with_a_privacy_line_and_checks_the_reader_cookie(client, shared):
    _link, token = shared
    claim(token)
    client.set_cookie("crm_reader", SECOND, path="/d/")
    gate = client.get(f"/d/{token}")
    html = gate.get_data(as_text=True)
    assert gate.status_code == 200 and 'id="gate-form"' in html and "Privacy:" in html
    assert 'class="viewer-page"' not in html
    assert client.get(f"/d/{token}/p/1.png").status_code == 403
    bad = client.post(f"/d/{token}/who", data={"email": "carl@northwind.example", "reader": "forged-key"})
    assert bad.status_code == 400
    refused = client.post(f"/d/{token}/who", data={"email": "nope", "reader": SECOND})
    assert refused.status_code == 422 and "aria-invalid" in refused.get_data(as_text=True)
    done = client.post(f"/d/{token}/who", data={"email": "carl@northwind.example", "reader": SECOND})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/d/{token}")
    assert 'class="viewer-page"' in client.get(f"/d/{token}").get_data(as_text=True)


# --- concurrent submits, PostgreSQL --------------------------------------------------------------

@pytest.fixture
def server(app):
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(timeout=10)
        http.server_close()


def submit_all(url: str, submits: list[tuple[str, str]]) -> list[int]:
    """POST the gate form for every (reader key, email) at once, each from its own thread."""
    barrier = threading.Barrier(len(submits))
    statuses = [0] * len(submits)

    def send(i: int) -> None:
        key, email = submits[i]
        body = urllib.parse.urlencode({"email": email, "reader": key, "first_name": "Carl"}).encode()
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"crm_reader={key}"})
        opener = urllib.request.build_opener(NoRedirect)
        barrier.wait()
        try:
            with opener.open(request, timeout=60) as response:
                statuses[i] = response.status
        except urllib.error.HTTPError as exc:
            statuses[i] = exc.code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(submits))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_concurrent_submits_make_one_contact_on_the_right_company_once(app, server, shared, prospect):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL (SQLite: one process, whole-database writes)")
    app.config["DOCUMENTS_FORWARD_RATE_LIMIT"] = "1000 per minute"
    _link, token = shared
    claim(token)
    crowd = 8
    keys = [f"browser-key-{i:02d}-{'x' * 16}" for i in range(crowd)]
    statuses = submit_all(f"{server}/d/{token}/who", [(key, "carl@northwind.example") for key in keys])
    assert statuses == [303] * crowd
    contacts = db.session.scalars(select(Contact).where(Contact.email == "carl@northwind.example")
                                  .execution_options(populate_existing=True)).all()
    assert len(contacts) == 1 and contacts[0].company_id == prospect.company_id
    assert count(select(func.count(ContentForward.id))) == 1
    assert count(select(func.count(Activity.id)).where(Activity.kind == "document_forwarded")) == 1
    assert count(select(func.count(Activity.id)).where(Activity.kind == "contact_created",
                                                       Activity.contact_id == contacts[0].id)) == 1
    assert count(select(func.count(Alert.id)).where(Alert.kind == "content_forwarded")) == 1
    assert count(select(func.count(ContentReader.id))) == crowd
