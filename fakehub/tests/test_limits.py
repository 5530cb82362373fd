"""Auth, per-token primary rate limits in short windows, headers on every answer, App tokens."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fakehub.tests.conftest import TOKEN

RATE_HEADERS = (
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-used",
    "x-ratelimit-reset",
    "x-ratelimit-resource",
)
QUERY = '{ repository(owner: "acme", name: "rocket") { pushedAt } }'


def test_it_refuses_a_missing_token_with_bad_credentials(fakehub, api_for):
    api = api_for(fakehub, token=None)
    for response in (api.graphql("{ rateLimit { cost } }"), api.get("/rate_limit")):
        assert response.status_code == 401
        assert response.json()["message"] == "Bad credentials"
        assert all(name in response.headers for name in RATE_HEADERS)


def test_it_accepts_only_listed_tokens_when_given_a_token_list(fakehub_factory, api_for, tmp_path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("good-one\n\ngood-two\n")
    hub = fakehub_factory(tokens=str(tokens))
    assert api_for(hub, "good-two").get("/rate_limit").status_code == 200
    refused = api_for(hub, "bad").get("/rate_limit")
    assert refused.status_code == 401
    assert "bad" not in refused.text


def test_it_accepts_token_and_bearer_schemes(fakehub, api_for):
    api = api_for(fakehub)
    for scheme in ("token", "Bearer", "bearer"):
        response = api.http.get("/rate_limit", headers={"Authorization": f"{scheme} {TOKEN}"})
        assert response.status_code == 200


def test_it_sends_rate_limit_headers_with_resource_on_every_answer(fakehub_factory, api_for):
    hub = fakehub_factory(synthetic=["acme/rocket:3"])
    api = api_for(hub)
    graphql = api.graphql(QUERY)
    rest = api.get("/repos/acme/rocket")
    missing = api.get("/repos/acme/none")
    assert graphql.headers["x-ratelimit-resource"] == "graphql"
    assert rest.headers["x-ratelimit-resource"] == "core"
    for response in (graphql, rest, missing):
        assert all(name in response.headers for name in RATE_HEADERS)
    assert int(graphql.headers["x-ratelimit-reset"]) > time.time()


def test_it_answers_graphql_rate_limited_when_points_run_out(fakehub_factory, api_for, clock):
    hub = fakehub_factory(synthetic=["acme/rocket:3"], graphql_points=3, clock=clock)
    api = api_for(hub)
    for _ in range(3):
        assert "errors" not in api.graphql(QUERY).json()
    limited = api.graphql(QUERY)
    assert limited.status_code == 200
    assert limited.json()["errors"][0]["type"] == "RATE_LIMITED"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    stats = hub.stats()
    assert stats["rate_limited_responses"] == 1
    assert stats["graphql_points"] == 3


def test_it_answers_rest_403_when_core_requests_run_out(fakehub_factory, api_for, clock):
    hub = fakehub_factory(synthetic=["acme/rocket:3"], core_requests=2, clock=clock)
    api = api_for(hub)
    assert api.get("/repos/acme/rocket").status_code == 200
    assert api.get("/repos/acme/rocket").status_code == 200
    limited = api.get("/repos/acme/rocket")
    assert limited.status_code == 403
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert "API rate limit exceeded" in limited.json()["message"]
    assert api.get("/rate_limit").status_code == 200  # free, even when exhausted


def test_it_opens_a_fresh_window_at_the_reset(fakehub_factory, api_for, clock):
    hub = fakehub_factory(
        synthetic=["acme/rocket:3"], graphql_points=1, reset_seconds=2, clock=clock
    )
    api = api_for(hub)
    first = api.graphql(QUERY)
    reset = int(first.headers["x-ratelimit-reset"])
    assert api.graphql(QUERY).json()["errors"][0]["type"] == "RATE_LIMITED"
    clock.now = reset
    again = api.graphql(QUERY)
    assert "errors" not in again.json()
    assert int(again.headers["x-ratelimit-reset"]) >= reset + 2
    assert hub.stats()["requests_while_limited"] == 0


def test_it_keeps_separate_budgets_per_token(fakehub_factory, api_for, clock):
    hub = fakehub_factory(synthetic=["acme/rocket:3"], graphql_points=1, clock=clock)
    one, two = api_for(hub, "token-one"), api_for(hub, "token-two")
    assert "errors" not in one.graphql(QUERY).json()
    assert one.graphql(QUERY).json()["errors"][0]["type"] == "RATE_LIMITED"
    assert "errors" not in two.graphql(QUERY).json()
    per_token = hub.stats()["per_token"]
    assert len(per_token) == 2
    assert all(len(key) == 16 for key in per_token)
    assert "token-one" not in str(per_token)


def test_its_limits_can_change_while_running(fakehub_factory, api_for, clock):
    hub = fakehub_factory(synthetic=["acme/rocket:3"], clock=clock)
    api = api_for(hub)
    hub.set_limits(graphql_points=2, core_requests=7, reset_seconds=5)
    response = api.graphql(QUERY)
    assert response.headers["x-ratelimit-limit"] == "2"
    assert int(response.headers["x-ratelimit-reset"]) == int(clock.now) + 5
    assert api.get("/repos/acme/rocket").headers["x-ratelimit-limit"] == "7"


def test_a_query_costing_more_than_what_remains_is_refused(fakehub_factory, api_for, clock):
    hub = fakehub_factory(synthetic=["acme/rocket:3"], graphql_points=3, clock=clock)
    api = api_for(hub)
    heavy = """{ repository(owner: "acme", name: "rocket") { pullRequests(first: 100) {
      nodes { files(first: 100) { totalCount } commits(first: 100) { totalCount }
              reviews(first: 100) { totalCount } labels(first: 100) { totalCount } } } } }"""
    assert api.graphql(heavy).json()["errors"][0]["type"] == "RATE_LIMITED"


# --- GitHub App installation tokens --------------------------------------------------------


@pytest.fixture(scope="module")
def app_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def app_jwt(private: str, now: float, **claims) -> str:
    payload = {"iat": int(now) - 60, "exp": int(now) + 540, "iss": "12345", **claims}
    return jwt.encode(payload, private, algorithm="RS256")


def test_it_issues_installation_tokens_for_a_well_formed_app_jwt(fakehub_factory, app_key, clock):
    hub = fakehub_factory(tokens=["pat"], clock=clock, installation_token_seconds=60)
    import httpx

    with httpx.Client(base_url=hub.url) as http:
        response = http.post(
            "/app/installations/99/access_tokens",
            headers={"Authorization": f"Bearer {app_jwt(app_key[0], clock.now)}"},
        )
        assert response.status_code == 201
        token = response.json()["token"]
        assert token.startswith("ghs_")
        assert response.json()["expires_at"].endswith("Z")
        auth = {"Authorization": f"token {token}"}
        assert http.get("/rate_limit", headers=auth).status_code == 200
        clock.advance(61)
        expired = http.get("/rate_limit", headers=auth)
        assert expired.status_code == 401
        assert expired.json()["message"] == "Bad credentials"


def test_it_refuses_an_expired_or_malformed_app_jwt(fakehub_factory, app_key, clock):
    hub = fakehub_factory(clock=clock)
    import httpx

    with httpx.Client(base_url=hub.url) as http:
        for bearer in ("not-a-jwt", app_jwt(app_key[0], clock.now, exp=int(clock.now) - 1)):
            response = http.post(
                "/app/installations/1/access_tokens", headers={"Authorization": f"Bearer {bearer}"}
            )
            assert response.status_code == 401


def test_it_verifies_app_jwt_signatures_when_given_the_public_key(fakehub_factory, app_key, clock):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged_key = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    hub = fakehub_factory(clock=clock, app_public_key=app_key[1])
    import httpx

    with httpx.Client(base_url=hub.url) as http:
        url = "/app/installations/1/access_tokens"
        good = http.post(url, headers={"Authorization": f"Bearer {app_jwt(app_key[0], clock.now)}"})
        forged = http.post(
            url, headers={"Authorization": f"Bearer {app_jwt(forged_key, clock.now)}"}
        )
    assert good.status_code == 201
    assert forged.status_code == 401
