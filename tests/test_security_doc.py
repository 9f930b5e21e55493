"""SECURITY.md stays true: every file, function and test it names exists, every OWASP ASVS 5.0
Level 1 requirement is listed once with a status, the summary counts match the tables, and
the few behaviours it cites this file for (security headers, charsets, generic errors, no
TRACE, masked password fields, no HTML written by the app's scripts) hold."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from crm.web.access import public

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "SECURITY.md"

# OWASP ASVS 5.0.0's Level 1 requirements (5.0/docs_en/..._5.0.0_en.flat.json, "L": "1").
LEVEL_1 = """
1.2.1 1.2.2 1.2.3 1.2.4 1.2.5 1.3.1 1.3.2 1.5.1
2.1.1 2.2.1 2.2.2 2.3.1
3.2.1 3.2.2 3.3.1 3.4.1 3.4.2 3.5.1 3.5.2 3.5.3
4.1.1 4.4.1
5.2.1 5.2.2 5.3.1 5.3.2
6.1.1 6.2.1 6.2.2 6.2.3 6.2.4 6.2.5 6.2.6 6.2.7 6.2.8 6.3.1 6.3.2 6.4.1 6.4.2
7.2.1 7.2.2 7.2.3 7.2.4 7.4.1 7.4.2
8.1.1 8.2.1 8.2.2 8.3.1
9.1.1 9.1.2 9.1.3 9.2.1
10.4.1 10.4.2 10.4.3 10.4.4 10.4.5
11.3.1 11.3.2 11.4.1
12.1.1 12.2.1 12.2.2
13.4.1
14.2.1 14.3.1
15.1.1 15.2.1 15.3.1
""".split()
STATUSES = ("Met", "Partly", "Not met", "N/A")

# A repository path in backticks, optionally with ``::name`` (a function, class, constant or
# setting in that file; for a test file, a test function).
CITED = re.compile(r"`((?:crm|tests|planning_bridge|templates|migrations|bench)/[\w./-]*|[\w-]+\.(?:py|toml|md))"
                   r"(?:::(\w+))?`")


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _citations() -> list[tuple[str, str | None]]:
    return sorted(set(CITED.findall(_doc())))


def test_the_document_cites_something():
    citations = _citations()
    assert len(citations) > 150
    assert any(path.startswith("tests/") and name for path, name in citations)


def test_every_cited_file_exists():
    missing = [path for path, _name in _citations() if not (ROOT / path).exists()]
    assert missing == []


def test_every_cited_function_and_test_exists():
    missing = []
    for path, name in _citations():
        if not name or not (ROOT / path).is_file():
            continue
        source = (ROOT / path).read_text(encoding="utf-8")
        if path.startswith("tests/"):
            pattern = rf"^\s*def {name}\("
        else:
            pattern = rf"^\s*(?:(?:async\s+)?def|class)\s+{name}\b|^\s*(?:self\.)?{name}\s*[:=]"
        if not re.search(pattern, source, re.MULTILINE):
            missing.append(f"{path}::{name}")
    assert missing == []


def _level_1_rows() -> dict[str, list[str]]:
    """Requirement id -> statuses of the Level 1 table rows naming it."""
    rows: dict[str, list[str]] = {}
    for line in _doc().splitlines():
        match = re.match(r"\| v5\.0\.0-(\d+\.\d+\.\d+) [^|]*\| ([^|]+?) \|", line)
        if match and match.group(1) in LEVEL_1:
            rows.setdefault(match.group(1), []).append(match.group(2))
    return rows


def test_every_level_1_requirement_is_listed_once_with_a_status():
    rows = _level_1_rows()
    assert sorted(rows, key=lambda r: [int(p) for p in r.split(".")]) == LEVEL_1
    assert {r: s for r, s in rows.items() if len(s) != 1 or s[0] not in STATUSES} == {}


def test_the_summary_counts_match_the_tables():
    counts = Counter(statuses[0] for statuses in _level_1_rows().values())
    summary = re.search(r"\| Level 1 requirements \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|", _doc())
    assert summary, "the 'Level 1 at a glance' row is missing"
    assert [int(n) for n in summary.groups()] == [*(counts[s] for s in STATUSES), len(LEVEL_1)]


def test_requirement_ids_are_written_with_the_version():
    doc = _doc()
    assert re.findall(r"\| (?:V|v)?\d+\.\d+\.\d+ ", doc) == []
    assert len(re.findall(r"v5\.0\.0-\d+\.\d+\.\d+", doc)) >= len(LEVEL_1)


# --- behaviours SECURITY.md cites this file for ----------------------------------------------

def _assert_security_headers(response):
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    csp = headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


@pytest.mark.parametrize("path", ["/login", "/api/v1/openapi.json", "/no-such-page", "/api/v1/contacts"])
def test_pages_and_api_answers_carry_the_security_headers(client, path):
    _assert_security_headers(client.get(path))


def test_text_answers_declare_their_charset(client):
    assert client.get("/login").headers["Content-Type"] == "text/html; charset=utf-8"
    assert client.get("/t/snippet.js").headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert client.get("/api/v1/openapi.json").headers["Content-Type"] == "application/json"


def test_an_unexpected_error_shows_no_internals(app, client, monkeypatch, caplog):
    @public
    def broken():
        raise RuntimeError("db password is hunter2 at /srv/crm/secret.py")

    monkeypatch.setitem(app.view_functions, "auth.login", broken)
    monkeypatch.setitem(app.view_functions, "api.openapi_document", broken)
    page = client.get("/login")
    assert page.status_code == 500
    assert "Something went wrong." in page.get_data(as_text=True)
    api = client.get("/api/v1/openapi.json")
    assert api.status_code == 500
    assert api.get_json() == {"error": {"code": "server_error", "message": "internal error", "fields": {}}}
    for response in (page, api):
        body = response.get_data(as_text=True)
        assert "hunter2" not in body and "Traceback" not in body and "RuntimeError" not in body
        _assert_security_headers(response)
    assert "hunter2" in caplog.text  # the details go to the log, not to the client


def test_trace_is_not_allowed(client):
    assert client.open("/login", method="TRACE").status_code == 405
    assert client.open("/api/v1/openapi.json", method="TRACE").status_code == 405


def test_password_fields_are_masked_and_paste_friendly(client, alice, login):
    login_page = client.get("/login").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="password"[^>]*type="password"|<input[^>]*type="password"[^>]*name="password"',
                     login_page)
    login(client, alice)
    account = client.get("/account").get_data(as_text=True)
    fields = re.findall(r"<input[^>]*>", account)
    password_fields = [f for f in fields if 'type="password"' in f]
    assert len(password_fields) == 3
    assert all('autocomplete="' in f for f in password_fields)
    for page in (login_page, account):
        assert "onpaste" not in page and "onpaste" not in page.lower()


def test_app_scripts_write_text_not_html():
    scripts = sorted((ROOT / "crm" / "static").glob("*.js"))
    assert scripts
    offending = [f"{script.name}: {sink}" for script in scripts for sink in
                 ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function")
                 if sink in script.read_text(encoding="utf-8")]
    assert offending == []
