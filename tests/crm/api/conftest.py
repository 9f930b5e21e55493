"""API test helpers: ``api(user)`` is a client that sends that user's bearer token."""
from __future__ import annotations

import pytest

PREFIX = "/api/v1"


class ApiClient:
    def __init__(self, client, headers: dict[str, str]):
        self.client, self.headers = client, headers

    def request(self, method: str, path: str, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open(PREFIX + path, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def api(client, api_token):
    def for_user(user) -> ApiClient:
        return ApiClient(client, api_token(user) if user is not None else {})

    return for_user


def error_of(response) -> dict:
    """The error body, checking its shape on the way."""
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]
