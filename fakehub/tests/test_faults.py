"""Faults on demand: 5xx, slow answers, dropped connections, secondary and primary limits,
partial GraphQL data, heavy-page 502s; deterministic under a seed."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from fakehub.faults import FaultProfile, FaultProfileError
from fakehub.tests.conftest import PR_PAGE

QUERY = '{ repository(owner: "acme", name: "rocket") { pushedAt } }'


@pytest.fixture
def hub(fakehub_factory, clock):
    return fakehub_factory(synthetic=["acme/rocket:30:4"], clock=clock)


def statuses(api, count: int, path: str = "/repos/acme/rocket") -> list[int]:
    return [api.get(path).status_code for _ in range(count)]


def test_it_answers_502_503_504_every_nth_request_with_githubs_bodies(hub, api_for):
    api = api_for(hub)
    for status in (502, 503, 504):
        hub.faults({"rules": [{"fault": "status", "status": status, "every": 3}]})
        assert statuses(api, 6) == [200, 200, status, 200, 200, status]
    hub.faults({"rules": [{"fault": "status", "status": 502, "every": 1}]})
    body = api.graphql(QUERY).json()
    assert body["data"] is None
    assert body["errors"][0]["message"].startswith("Something went wrong while executing")
    assert hub.stats()["faults_injected"] == 7


def test_faulted_answers_spend_no_point(hub, api_for):
    hub.faults({"rules": [{"fault": "status", "status": 503, "every": 1}]})
    api = api_for(hub)
    statuses(api, 3)
    assert hub.stats()["rest_points"] == 0


def test_its_probability_rules_are_deterministic_under_a_seed(fakehub_factory, api_for):
    profile = {"seed": 7, "rules": [{"fault": "status", "status": 502, "probability": 0.3}]}
    runs = []
    for _ in range(2):
        hub = fakehub_factory(synthetic=["acme/rocket:2"], faults=profile)
        runs.append(statuses(api_for(hub), 40))
    assert runs[0] == runs[1]
    assert 0 < runs[0].count(502) < 40


def test_a_path_filter_limits_a_rule_to_matching_requests(hub, api_for):
    hub.faults({"rules": [{"fault": "status", "status": 502, "every": 1, "path": "/graphql"}]})
    api = api_for(hub)
    assert api.get("/repos/acme/rocket").status_code == 200
    assert api.graphql(QUERY).status_code == 502


def test_it_answers_secondary_limits_with_and_without_retry_after(hub, api_for):
    api = api_for(hub)
    hub.faults(
        {"rules": [{"fault": "secondary_limit", "status": 403, "retry_after": 1, "every": 1}]}
    )
    first = api.get("/repos/acme/rocket")
    assert first.status_code == 403
    assert first.headers["retry-after"] == "1"
    assert "secondary rate limit" in first.json()["message"]
    assert first.headers["x-ratelimit-remaining"] != "0"
    hub.faults({"rules": [{"fault": "secondary_limit", "status": 429, "every": 1}]})
    second = api.graphql(QUERY)
    assert second.status_code == 429
    assert "retry-after" not in second.headers
    stats = hub.stats()
    assert stats["rate_limited_responses"] == 2
    # The second request came inside the first one's retry-after second.
    assert stats["requests_while_limited"] == 1


def test_it_counts_requests_sent_before_a_retry_after_expires(hub, api_for, clock):
    api = api_for(hub)
    hub.faults({"rules": [{"fault": "secondary_limit", "retry_after": 5, "every": 1}]})
    api.get("/repos/acme/rocket")
    hub.faults({})
    clock.advance(2)
    api.get("/repos/acme/rocket")
    clock.advance(4)
    api.get("/repos/acme/rocket")
    assert hub.stats()["requests_while_limited"] == 1


def test_it_exhausts_the_primary_limit_after_n_points(hub, api_for, clock):
    hub.faults({"rules": [{"fault": "primary_exhaustion", "after_points": 2}]})
    api = api_for(hub)
    answers = [api.graphql(QUERY) for _ in range(3)]
    assert ["errors" in a.json() for a in answers] == [False, False, True]
    assert answers[2].json()["errors"][0]["type"] == "RATE_LIMITED"
    assert answers[2].headers["x-ratelimit-remaining"] == "0"
    clock.now = int(answers[2].headers["x-ratelimit-reset"])
    assert "errors" not in api.graphql(QUERY).json()


def test_it_drops_connections_without_an_answer(hub, api_for):
    hub.faults({"rules": [{"fault": "drop", "every": 2}]})
    api = api_for(hub)
    assert api.get("/repos/acme/rocket").status_code == 200
    with pytest.raises(httpx.TransportError):
        api.get("/repos/acme/rocket")
    assert api.get("/repos/acme/rocket").status_code == 200


def test_it_answers_slower_than_the_clients_timeout(hub, api_for):
    hub.faults({"rules": [{"fault": "slow", "seconds": 30, "every": 1}]})
    with (
        httpx.Client(base_url=hub.url, headers={"Authorization": "token t"}, timeout=0.5) as http,
        pytest.raises(httpx.ReadTimeout),
    ):
        http.get("/repos/acme/rocket")


def test_stop_does_not_wait_for_sleeping_handlers(fakehub_factory):
    hub = fakehub_factory(faults={"rules": [{"fault": "slow", "seconds": 600, "every": 1}]})
    outcome: list[object] = []

    def call() -> None:
        try:
            httpx.get(hub.url + "/rate_limit", headers={"Authorization": "token t"}, timeout=900)
        except httpx.TransportError as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    while hub.stats()["faults_injected"] == 0:
        threading.Event().wait(0.02)
    hub.server.stop()
    caller.join(timeout=60)
    assert not caller.is_alive()
    assert outcome and isinstance(outcome[0], httpx.TransportError)


def test_it_nulls_a_pr_field_with_an_error_at_its_path(hub, api_for):
    hub.faults({"rules": [{"fault": "partial_errors", "every": 1}]})
    body = api_for(hub).graphql(PR_PAGE, {"owner": "acme", "name": "rocket"}).json()
    assert body["data"]["repository"]["pullRequests"]["nodes"]
    [error] = body["errors"]
    path = error["path"]
    assert path[:3] == ["repository", "pullRequests", "nodes"]
    node = body["data"]["repository"]["pullRequests"]["nodes"][path[3]]
    assert node[path[4]] is None


def test_it_answers_502_for_a_page_asking_more_nodes_than_allowed(hub, api_for):
    hub.faults({"rules": [{"fault": "heavy_page_502", "max_nodes": 2000}]})
    api = api_for(hub)
    heavy = api.graphql(PR_PAGE, {"owner": "acme", "name": "rocket", "first": 25})
    light = api.graphql(PR_PAGE, {"owner": "acme", "name": "rocket", "first": 2})
    assert heavy.status_code == 502
    assert light.status_code == 200 and "errors" not in light.json()
    assert hub.stats()["graphql_points"] == 1


def test_it_loads_a_profile_file_and_refuses_a_bad_one_in_one_line(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"seed": 1, "rules": [{"fault": "drop", "probability": 0.5}]}))
    from fakehub.faults import load_profile

    assert load_profile(good).rules[0].fault == "drop"
    for bad in (
        {"rules": [{"fault": "explode"}]},
        {"rules": [{"fault": "status", "probability": 2}]},
        {"rules": [{"fault": "slow"}]},
        {"rules": [{"fault": "secondary_limit", "status": 500}]},
    ):
        with pytest.raises(FaultProfileError) as caught:
            FaultProfile.from_json(bad)
        assert "\n" not in str(caught.value)


def test_the_control_api_refuses_a_bad_profile(hub):
    from fakehub.control import FakeHubControlError

    with pytest.raises(FakeHubControlError, match="fault must be one of"):
        hub.faults({"rules": [{"fault": "explode"}]})


def test_a_forbidden_field_is_refused_on_every_pr_of_every_answer(hub, api_for):
    hub.faults({"rules": [{"fault": "field_forbidden", "field": "statusCheckRollup"}]})
    api = api_for(hub)
    for _ in range(3):  # permanent: the same answer every time
        body = api.graphql(PR_PAGE, {"owner": "acme", "name": "rocket", "first": 10}).json()
        nodes = body["data"]["repository"]["pullRequests"]["nodes"]
        assert len(nodes) == 10 and all(node["statusCheckRollup"] is None for node in nodes)
        assert all(node["files"]["nodes"] for node in nodes)  # the rest of each node is kept
        assert [e["path"] for e in body["errors"]] == [
            ["repository", "pullRequests", "nodes", i, "statusCheckRollup"] for i in range(10)
        ]
        assert {(e["type"], e["message"]) for e in body["errors"]} == {
            ("FORBIDDEN", "Resource not accessible by integration")
        }


def test_a_token_missing_a_scope_gets_insufficient_scopes_on_the_field(fakehub_factory, api_for):
    from fakehub.tests.conftest import TOKEN

    hub = fakehub_factory(
        synthetic=["acme/rocket:5:4"], missing_scopes={TOKEN: ["closingIssuesReferences"]}
    )
    limited = api_for(hub).graphql(PR_PAGE, {"owner": "acme", "name": "rocket"}).json()
    assert {e["type"] for e in limited["errors"]} == {"INSUFFICIENT_SCOPES"}
    assert all(
        node["closingIssuesReferences"] is None
        for node in limited["data"]["repository"]["pullRequests"]["nodes"]
    )
    assert "requires one of the following scopes" in limited["errors"][0]["message"]
    other = api_for(hub, token="ghp_another_token")
    assert "errors" not in other.graphql(PR_PAGE, {"owner": "acme", "name": "rocket"}).json()


def test_a_field_forbidden_rule_needs_a_field_path():
    with pytest.raises(FaultProfileError, match="field path"):
        FaultProfile.from_json({"rules": [{"fault": "field_forbidden"}]})
    with pytest.raises(FaultProfileError, match="FORBIDDEN or INSUFFICIENT_SCOPES"):
        FaultProfile.from_json(
            {"rules": [{"fault": "field_forbidden", "field": "files", "type": "NOPE"}]}
        )
