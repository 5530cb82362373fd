"""GitHub Enterprise Server's layout (`--ghes`): REST under /api/v3, GraphQL at /api/graphql only.

docs.github.com/enterprise-server: "Forming calls with GraphQL" (the endpoint is
http(s)://HOSTNAME/api/graphql) and "Getting started with the REST API" (http(s)://HOSTNAME/api/v3).
"""

from __future__ import annotations

import signal

import httpx
import pytest

from fakehub.control import FakeHubControl
from fakehub.testing import start_fakehub_process
from fakehub.tests.conftest import TOKEN

QUERY = '{ repository(owner: "acme", name: "rocket") { nameWithOwner } }'
AUTH = {"Authorization": f"bearer {TOKEN}"}


@pytest.fixture
def ghes(fakehub_factory):
    return fakehub_factory(ghes=True, synthetic=["acme/rocket:30"])


def post(url: str, path: str) -> httpx.Response:
    return httpx.post(url + path, json={"query": QUERY}, headers=AUTH, timeout=30)


def get(url: str, path: str) -> httpx.Response:
    return httpx.get(url + path, headers=AUTH, timeout=30)


def test_it_answers_graphql_only_at_api_graphql_in_ghes_mode(ghes):
    answered = post(ghes.url, "/api/graphql")
    assert answered.status_code == 200
    assert answered.json()["data"]["repository"]["nameWithOwner"] == "acme/rocket"
    assert ghes.graphql_url == ghes.url + "/api/graphql"
    for path in ("/graphql", "/api/v3/graphql", "/api/graphql/"):
        assert post(ghes.url, path).status_code == 404, path


def test_it_answers_rest_only_below_api_v3_in_ghes_mode(ghes):
    assert ghes.api_url == ghes.url + "/api/v3"
    pulls = get(ghes.url, "/api/v3/repos/acme/rocket/pulls?state=all&per_page=10")
    assert pulls.status_code == 200 and len(pulls.json()) == 10
    # Links point below the same base, as GHES writes them.
    assert f"{ghes.url}/api/v3/repos/acme/rocket/pulls?" in pulls.headers["link"]
    assert get(ghes.url, "/api/v3/rate_limit").status_code == 200
    for path in ("/repos/acme/rocket/pulls", "/rate_limit", "/api/repos/acme/rocket"):
        assert get(ghes.url, path).status_code == 404, path


def test_requests_outside_the_api_are_counted_but_cost_nothing(ghes):
    post(ghes.url, "/graphql")
    get(ghes.url, "/repos/acme/rocket")
    stats = ghes.stats()
    assert stats["requests"] == 2
    assert stats["statuses"] == {"404": 2}
    assert stats["graphql_points"] == 0 and stats["rest_points"] == 0


def test_installation_tokens_are_issued_below_api_v3_only(ghes):
    # Without a public key fakehub accepts any well-formed RS256 JWT; a malformed one is 401,
    # which still shows the route exists, while the root path does not.
    under = httpx.post(ghes.url + "/api/v3/app/installations/1/access_tokens", timeout=30)
    root = httpx.post(ghes.url + "/app/installations/1/access_tokens", timeout=30)
    assert under.status_code == 401
    assert root.status_code == 404


def test_githubcom_mode_serves_no_graphql_below_api(fakehub_factory):
    hub = fakehub_factory(synthetic=["acme/rocket:3"])
    assert post(hub.url, "/graphql").status_code == 200
    assert post(hub.url, "/api/v3/graphql").status_code == 404
    assert post(hub.url, "/api/graphql").status_code == 404
    # REST below /api/v3 stays, for peers given an Enterprise-style base URL.
    assert get(hub.url, "/api/v3/repos/acme/rocket").status_code == 200
    assert hub.api_url == hub.url and hub.graphql_url == hub.url + "/graphql"


def test_the_command_line_takes_ghes():
    process, url = start_fakehub_process(["--ghes", "--synthetic", "acme/rocket:3"])
    try:
        assert post(url, "/api/graphql").json()["data"]["repository"] == {
            "nameWithOwner": "acme/rocket"
        }
        assert post(url, "/graphql").status_code == 404
        control = FakeHubControl(url, ghes=True)
        assert get(control.api_url, "/repos/acme/rocket").json()["full_name"] == "acme/rocket"
        control.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
