"""IP ranges to companies: CSV import, the index-probe lookup, companies on the site."""
from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.errors import ValidationFailed
from crm.extensions import db
from crm.tracking import ipranges
from crm.tracking.models import IpCompanyRange
from crm.tracking.queries import companies_visiting
from tests.conftest import NOW, csrf_from
from tests.crm.tracking.conftest import CHROME, SITE

CSV = """cidr,company,domain
203.0.113.0/24,Buyer Corp,buyer-corp.example
198.51.100.0/25,Valve Works,valveworks.example
2001:db8:abcd::/48,Buyer Corp,buyer-corp.example
2001:db8:ffff::/64;bad,x,y
"""
GOOD_CSV = "\n".join(CSV.splitlines()[:4]) + "\n"


def test_import_and_lookup_ipv4_and_ipv6(admin):
    result = ipranges.import_ranges(admin, GOOD_CSV, NOW)
    db.session.commit()
    assert (result.imported, result.ipv4, result.ipv6) == (3, 2, 1)
    assert ipranges.lookup("203.0.113.77").company_name == "Buyer Corp"
    assert ipranges.lookup("198.51.100.127").company_name == "Valve Works"
    assert ipranges.lookup("198.51.100.128") is None  # just past the /25
    assert ipranges.lookup("2001:db8:abcd:12::1").domain == "buyer-corp.example"
    assert ipranges.lookup("2001:db8:abce::1") is None
    assert ipranges.lookup("::ffff:203.0.113.5").company_name == "Buyer Corp"
    for junk in ("", None, "999.1.1.1", "nope"):
        assert ipranges.lookup(junk) is None


def test_the_lookup_is_one_index_probe(admin, count_queries):
    ipranges.import_ranges(admin, GOOD_CSV, NOW)
    db.session.commit()
    with count_queries() as counter:
        ipranges.lookup("203.0.113.7")
    assert counter.count == 1
    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.text("SET enable_seqscan = off"))  # three rows: make the planner show the index
        plan = db.session.execute(db.text(
            "EXPLAIN SELECT * FROM ip_company_ranges WHERE start_key <= :k ORDER BY start_key DESC LIMIT 1"
        ), {"k": ipranges.ip_key("203.0.113.7")}).scalars().all()
        db.session.execute(db.text("RESET enable_seqscan"))
        assert any("ix_ip_company_ranges_start_key" in line for line in plan), plan


def test_bad_lines_and_overlaps_reject_the_whole_file(admin):
    bad = CSV + "203.0.113.128/25,Inside Buyer,inside.example\n"
    with pytest.raises(ValidationFailed) as caught:
        ipranges.import_ranges(admin, bad, NOW)
    assert caught.value.fields["line 5"].startswith("not an IP range")
    assert caught.value.fields["line 6"] == "overlaps the range on line 2"
    assert db.session.scalars(select(IpCompanyRange)).all() == []
    with pytest.raises(ValidationFailed):
        ipranges.import_ranges(admin, "a,b\n1,2", NOW)  # no cidr / company columns


def test_semicolon_files_and_reimport_replaces(admin):
    ipranges.import_ranges(admin, "CIDR;Company;Domain\n10.0.0.0/8;Big Co;big.example\n", NOW)
    ipranges.import_ranges(admin, GOOD_CSV, NOW)
    db.session.commit()
    assert ipranges.lookup("10.1.2.3") is None and ipranges.range_count() == 3


def _view(client, ip, path, visitor):
    body = {"visitor": visitor, "events": [{"type": "page_view", "url": SITE + path, "title": path}]}
    return client.post("/t/collect", data=json.dumps(body), content_type="text/plain",
                       headers={"Origin": SITE, "User-Agent": CHROME}, environ_base={"REMOTE_ADDR": ip})


def test_companies_on_the_site_this_week(client, admin, tracked_site, at):
    ipranges.import_ranges(admin, GOOD_CSV, NOW)
    db.session.commit()
    at(NOW - timedelta(days=10))
    _view(client, "203.0.113.9", "/old", "a" * 20)
    at(NOW - timedelta(hours=3))
    _view(client, "203.0.113.9", "/pricing", "a" * 20)
    _view(client, "2001:db8:abcd::9", "/pricing", "b" * 20)
    _view(client, "2001:db8:abcd::9", "/docs", "b" * 20)
    _view(client, "198.51.100.3", "/", "c" * 20)
    _view(client, "192.0.2.1", "/", "d" * 20)  # nobody we know
    client.post("/t/collect", data=json.dumps({"visitor": "e" * 20, "events": [
        {"type": "page_view", "url": SITE + "/pricing"}]}), content_type="text/plain",
        headers={"Origin": SITE, "User-Agent": "curl/8.0"}, environ_base={"REMOTE_ADDR": "198.51.100.4"})
    visits = companies_visiting(NOW)
    assert [(v.company_name, v.views, v.visitors) for v in visits] == [("Buyer Corp", 3, 2), ("Valve Works", 1, 1)]
    assert visits[0].pages == [("/pricing", 2), ("/docs", 1)]


def test_companies_page_and_admin_import_page(client, login, admin, alice, tracked_site, pat):
    login(client, admin)
    page = client.get("/tracking/admin/ip-ranges")
    assert page.status_code == 200
    response = client.post("/tracking/admin/ip-ranges", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)),
        "file": (io.BytesIO(CSV.encode()), "ranges.csv")}, content_type="multipart/form-data")
    assert response.status_code == 422 and "line 5" in response.get_data(as_text=True)
    response = client.post("/tracking/admin/ip-ranges", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)),
        "file": (io.BytesIO(GOOD_CSV.encode()), "ranges.csv")}, content_type="multipart/form-data")
    assert response.status_code == 302
    assert "Buyer Corp" in client.get("/tracking/admin/ip-ranges").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/tracking/companies").get_data(as_text=True))})
    login(client, alice)
    _view(client, "203.0.113.9", "/pricing", "a" * 20)
    html = client.get("/tracking/companies").get_data(as_text=True)
    assert "Buyer Corp" in html and "/pricing" in html
    assert client.get("/tracking/admin/ip-ranges").status_code == 403
