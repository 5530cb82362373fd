"""Types and fields clients use beyond ours: Mannequin actors, Repository.mentionableUsers,
PullRequest.autoMergeRequest / mergeQueueEntry, and REST's single commit; with data behind them."""

from __future__ import annotations

import pytest
from graphql import parse

from fakehub.graphql_api import Context, run
from fakehub.tests.test_conformance import validator

PRS = """
query($first: Int!) {
  repository(owner: "acme", name: "rocket") {
    pullRequests(first: $first) {
      nodes {
        number state isDraft
        author { __typename login ... on Mannequin { databaseId email claimant { login } } }
        autoMergeRequest {
          enabledAt mergeMethod commitHeadline enabledBy { __typename login }
          pullRequest { number }
        }
        mergeQueueEntry {
          enqueuedAt position state jump solo estimatedTimeToMerge
          enqueuer { login } headCommit { oid } pullRequest { number }
        }
      }
    }
  }
}
"""


@pytest.fixture
def hub(fakehub_factory):
    return fakehub_factory(synthetic=["acme/rocket:300:3"])


def pull_requests(api) -> list[dict]:
    nodes: list[dict] = []
    after = None
    while True:
        query = PRS.replace(
            "pullRequests(first: $first)", "pullRequests(first: $first, after: $after)"
        )
        query = query.replace("query($first: Int!)", "query($first: Int!, $after: String)")
        page = api.data(query.replace("nodes {", "pageInfo { hasNextPage endCursor } nodes {", 1),
                        {"first": 100, "after": after})["repository"]["pullRequests"]  # fmt: skip
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def test_some_synthetic_prs_have_mannequin_authors(hub, api_for):
    nodes = pull_requests(api_for(hub))
    mannequins = [
        n["author"] for n in nodes if n["author"] and n["author"]["__typename"] == "Mannequin"
    ]
    assert 1 <= len(mannequins) <= len(nodes) // 10
    for author in mannequins:
        assert author["login"] and isinstance(author["databaseId"], int)
        assert author["claimant"] is None


def test_auto_merge_sits_on_open_ready_prs_and_some_are_in_the_merge_queue(hub, api_for):
    nodes = pull_requests(api_for(hub))
    auto = [n for n in nodes if n["autoMergeRequest"]]
    queued = [n for n in nodes if n["mergeQueueEntry"]]
    assert len(auto) >= 3 and queued
    for node in auto:
        assert node["state"] == "OPEN" and not node["isDraft"]
        request = node["autoMergeRequest"]
        assert request["mergeMethod"] in ("MERGE", "REBASE", "SQUASH")
        assert request["pullRequest"] == {"number": node["number"]}
        assert request["enabledBy"]["__typename"] == "User"
    for node in queued:
        entry = node["mergeQueueEntry"]
        assert node["autoMergeRequest"] and entry["pullRequest"] == {"number": node["number"]}
        assert entry["position"] >= 1 and entry["headCommit"]["oid"]
    assert all(n["autoMergeRequest"] is None for n in nodes if n["state"] != "OPEN")


def test_mentionable_users_lists_the_people_of_the_repository_by_login(hub, api_for):
    api = api_for(hub)
    query = """query($q: String) { repository(owner: "acme", name: "rocket") {
      mentionableUsers(first: 100, query: $q) { totalCount nodes { login name } } } }"""
    everyone = api.data(query)["repository"]["mentionableUsers"]
    logins = [user["login"] for user in everyone["nodes"]]
    assert everyone["totalCount"] == len(logins) >= 10
    assert logins == sorted(logins, key=str.lower)
    assert "dependabot" not in logins and "svn-import-hgarcia" not in logins  # bots, mannequins
    found = api.data(query, {"q": "ADA"})["repository"]["mentionableUsers"]["nodes"]
    assert found == [{"login": "ada-lovelace", "name": "Ada Lovelace"}]


def test_a_live_pr_can_be_given_auto_merge_and_a_mannequin_author(hub, api_for):
    hub.upsert_pr(
        "acme/rocket",
        {
            "number": 301,
            "author": {"__typename": "Mannequin", "login": "hg-import-someone"},
            "autoMergeRequest": {
                "enabledAt": "2026-01-02T03:04:05Z",
                "enabledBy": {"login": "ada-lovelace"},
                "mergeMethod": "REBASE",
            },
        },
    )
    query = """{ repository(owner: "acme", name: "rocket") { pullRequest(number: 301) {
      author { __typename login } autoMergeRequest { mergeMethod enabledAt enabledBy { login } }
      mergeQueueEntry { position } } } }"""
    pr = api_for(hub).data(query)["repository"]["pullRequest"]
    assert pr == {
        "author": {"__typename": "Mannequin", "login": "hg-import-someone"},
        "autoMergeRequest": {
            "mergeMethod": "REBASE",
            "enabledAt": "2026-01-02T03:04:05Z",
            "enabledBy": {"login": "ada-lovelace"},
        },
        "mergeQueueEntry": None,
    }


def test_both_executors_answer_the_new_fields_alike(hub):
    server = hub.server
    document = parse(PRS)
    fast = run(server.schema, document, Context(server.store), {"first": 100}, None)
    slow = run(server.schema, document, Context(server.store), {"first": 100}, None, use_fast=False)
    assert fast == slow


def test_rest_answers_a_single_commit_with_stats_and_files(hub, api_for):
    api = api_for(hub)
    one_commit = next(
        pr
        for pr in (hub.get_pr("acme/rocket", n) for n in range(1, 301))
        if len(pr["commits"]) == 1
    )
    sha = one_commit["commits"][0]["oid"]
    answer = api.get(f"/repos/acme/rocket/commits/{sha}")
    assert answer.status_code == 200
    body = answer.json()
    assert [error.message for error in validator("commit").iter_errors(body)] == []
    assert body["sha"] == sha and body["parents"] == []
    assert body["stats"]["total"] == body["stats"]["additions"] + body["stats"]["deletions"]
    assert [f["filename"] for f in body["files"]] == [f["path"] for f in one_commit["files"]]

    several = next(
        pr for pr in (hub.get_pr("acme/rocket", n) for n in range(1, 301)) if len(pr["commits"]) > 2
    )
    second = api.get(f"/repos/acme/rocket/commits/{several['commits'][1]['oid']}").json()
    assert second["parents"][0]["sha"] == several["commits"][0]["oid"]
    assert second["stats"]["additions"] == several["commits"][1]["additions"]

    missing = api.get("/repos/acme/rocket/commits/" + "0" * 40)
    assert missing.status_code == 422
    assert missing.json()["message"] == "No commit found for SHA: " + "0" * 40
