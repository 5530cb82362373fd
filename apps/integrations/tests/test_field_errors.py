"""Permanent field errors through the client, against fakehub over real HTTP: a refused field is
kept out of the node and named, never re-fetched; a transient error on a node still is."""

from __future__ import annotations

from apps.integrations.github.client import GitHubGraphQLClient
from apps.integrations.github.clock import InstantClock
from apps.integrations.github.coordination import LocalCoordinator
from apps.integrations.github.field_errors import (
    UNAVAILABLE_KEY,
    permission_for,
    split_field_errors,
)
from apps.metrics.pipeline.fetched import FetchedPRFull

TOKEN = "ghp_field_errors_token"
FORBID_CI = {"rules": [{"fault": "field_forbidden", "field": "statusCheckRollup"}]}


def _client(hub) -> GitHubGraphQLClient:
    return GitHubGraphQLClient(
        TOKEN, base_url=hub.url, clock=InstantClock(), coordinator=LocalCoordinator()
    )


def test_a_refused_field_keeps_the_node_names_the_field_and_costs_no_second_request(
    fakehub_factory,
):
    hub = fakehub_factory(synthetic=[("acme/rocket", 30)], faults=FORBID_CI)
    client = _client(hub)
    page = client.fetch_pr_page("acme", "rocket", first=25)
    assert len(page.nodes) == 25 and page.requests == 1
    assert client.stats.graphql_requests == 1 and client.stats.retries == 0
    assert all(node[UNAVAILABLE_KEY] == ["statusCheckRollup"] for node in page.nodes)
    pr = FetchedPRFull.from_api(page.nodes[0])
    assert pr.unavailable == ("statusCheckRollup",) and pr.ci_unavailable
    assert pr.check_runs == () and pr.status_contexts == () and pr.files

    single = client.fetch_single_pr("acme", "rocket", 3)
    assert single is not None and single[UNAVAILABLE_KEY] == ["statusCheckRollup"]
    by_id = client.fetch_prs_by_node_ids([page.nodes[0]["id"], page.nodes[1]["id"]], batch=2)
    assert [n[UNAVAILABLE_KEY] for n in by_id] == [["statusCheckRollup"]] * 2
    assert client.stats.retries == 0


def test_a_transient_error_on_a_node_is_still_fetched_again(fakehub_factory):
    hub = fakehub_factory(
        synthetic=[("acme/rocket", 30)],
        faults={"rules": [{"fault": "partial_errors", "every": 2}]},
    )
    client = _client(hub)
    client.fetch_repo_metadata("acme", "rocket")  # request 1; the page is the 2nd: faulted
    page = client.fetch_pr_page("acme", "rocket", first=25)
    assert len(page.nodes) == 25 and page.requests == 2  # the page, then the broken PR alone
    assert not any(UNAVAILABLE_KEY in node for node in page.nodes)


def test_only_forbidden_and_scope_errors_inside_a_node_are_permanent():
    prefix = ("repository", "pullRequests", "nodes")
    errors = [
        {"type": "FORBIDDEN", "path": [*prefix, 2, "statusCheckRollup"]},
        {"type": "INSUFFICIENT_SCOPES", "path": [*prefix, 2, "reviewRequests", "nodes", 0]},
        {"type": "SERVICE_UNAVAILABLE", "path": [*prefix, 3, "files"]},
        {"type": "FORBIDDEN", "path": [*prefix, 4]},  # the whole PR: not a field of it
        {"type": "FORBIDDEN", "path": ["repository"]},
    ]
    refused, others = split_field_errors(errors, prefix)
    assert refused == {2: {"statusCheckRollup", "reviewRequests"}}
    assert others == errors[2:]
    assert "Checks: read" in permission_for("statusCheckRollup")
    assert "read:org" in permission_for("reviewRequests")
