"""Every registered route, for every role and for an anonymous visitor: allowed roles get
through, others are refused. A route added without ``@roles``/``@public`` fails here."""
from __future__ import annotations

import pytest
from werkzeug.routing import Rule

from crm.web.access import PUBLIC, ROLES, declared_access

SKIP_METHODS = {"HEAD", "OPTIONS"}
PLACEHOLDERS = {"int": "999999", "integer": "999999", "default": "zz-missing", "string": "zz-missing",
                "path": "zz/missing"}


def build_path(rule: Rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__.removesuffix("Converter").lower()
        values[name] = PLACEHOLDERS.get(kind, "zz-missing")
    path = rule.rule
    for name, value in values.items():
        path = path.replace(f"<{name}>", value)
        for kind in ("int", "string", "path", "any", "uuid", "float"):
            path = path.replace(f"<{kind}:{name}>", value)
    assert "<" not in path, f"unhandled converter in {rule.rule}"
    return path


# Endpoints whose success is a redirect to the login page; run last since they end the session.
ENDS_SESSION = {"auth.logout"}
# Public endpoints that check a credential of their own instead of a login, and the status
# they answer a caller without it (the inbound-mail webhook: X-Inbound-Secret).
OWN_CREDENTIALS = {"api.inbound_mail": 401}


def all_routes(app):
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint in ENDS_SESSION)
    for rule in rules:
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - SKIP_METHODS):
            yield rule, method


def test_every_route_declares_its_roles(app):
    undeclared = [r.rule for r, _ in all_routes(app) if declared_access(app, r.endpoint) is None]
    assert undeclared == []


@pytest.fixture
def identities(app, make_user, login, api_token):
    """A logged-in browser and an API token per role."""
    result = {}
    for role in ROLES:
        user = make_user(role)
        client = app.test_client()
        login(client, user)
        result[role] = (client, api_token(user))
    return result


def _request(client, method, path, headers=None):
    return client.open(path, method=method, headers=headers or {}, follow_redirects=False)


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and "/login" in response.headers.get("Location", "")


def test_role_matrix(app, identities):
    app.config["WTF_CSRF_ENABLED"] = False  # roles are under test here, CSRF has its own tests
    failures = []
    try:
        for rule, method in all_routes(app):
            access = declared_access(app, rule.endpoint)
            path = build_path(rule)
            is_api = path.startswith("/api/")
            anonymous = _request(app.test_client(), method, path)
            if access == PUBLIC:
                refused = (anonymous.status_code in (401, 403)
                           and OWN_CREDENTIALS.get(rule.endpoint) != anonymous.status_code)
                if refused or _is_login_redirect(anonymous):
                    failures.append(f"{method} {rule.rule}: public but refused anonymous ({anonymous.status_code})")
                continue
            if is_api and anonymous.status_code != 401:
                failures.append(f"{method} {rule.rule}: anonymous API call got {anonymous.status_code}")
            if not is_api and not _is_login_redirect(anonymous):
                failures.append(f"{method} {rule.rule}: anonymous got {anonymous.status_code}, not login")
            for role, (client, headers) in identities.items():
                if is_api:
                    response = _request(app.test_client(), method, path, headers)
                else:
                    response = _request(client, method, path)
                allowed = role in access
                status = response.status_code
                if status >= 500:
                    failures.append(f"{method} {rule.rule} as {role}: server error {status}")
                elif allowed and (status in (401, 403) or (
                        _is_login_redirect(response) and rule.endpoint not in ENDS_SESSION)):
                    failures.append(f"{method} {rule.rule} as {role}: allowed but refused ({status})")
                elif not allowed and status != 403:
                    failures.append(f"{method} {rule.rule} as {role}: should be 403, got {status}")
    finally:
        app.config["WTF_CSRF_ENABLED"] = True
    assert failures == []


def test_api_rejects_session_cookies(app, identities):
    """A logged-in browser cannot call the API with its cookie (no CSRF surface on the API)."""
    client, _headers = identities["admin"]
    api_rules = [r for r, m in all_routes(app) if r.rule.startswith("/api/") and m == "GET"
                 and declared_access(app, r.endpoint) != PUBLIC]
    if not api_rules:
        pytest.fail("no API routes registered")
    response = client.get(build_path(api_rules[0]))
    assert response.status_code == 401
