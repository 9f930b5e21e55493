def test_api_calls_beyond_the_limit_get_a_json_429(app, alice, api_token):
    headers = api_token(alice)
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        statuses = [app.test_client().get("/api/v1/contacts", headers=headers).status_code for _ in range(4)]
        response = app.test_client().get("/api/v1/contacts", headers=headers)
    finally:
        app.config["API_RATE_LIMIT"] = "600 per minute"
    assert statuses == [200, 200, 200, 429]
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"


def test_each_token_has_its_own_bucket(app, alice, bob, api_token):
    alice_headers, bob_headers = api_token(alice), api_token(bob)
    app.config["API_RATE_LIMIT"] = "2 per minute"
    try:
        for _ in range(3):
            app.test_client().get("/api/v1/contacts", headers=alice_headers)
        assert app.test_client().get("/api/v1/contacts", headers=bob_headers).status_code == 200
    finally:
        app.config["API_RATE_LIMIT"] = "600 per minute"
