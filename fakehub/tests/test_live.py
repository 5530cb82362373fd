"""Live changes through the control API while serving: PRs, check suites, pushes, repositories."""

from __future__ import annotations

import pytest

from fakehub.control import FakeHubControlError
from fakehub.reference import shared_dir

DATA = shared_dir() / "data"
META = '{ repository(owner: "acme", name: "rocket") { pushedAt updatedAt } }'


@pytest.fixture
def hub(fakehub_factory, clock):
    return fakehub_factory(synthetic=["acme/rocket:10"], clock=clock)


def pr_updated_at(api, number: int) -> str:
    query = """query($n: Int!) { repository(owner: "acme", name: "rocket") {
      pullRequest(number: $n) { updatedAt title } } }"""
    return api.data(query, {"n": number})["repository"]["pullRequest"]["updatedAt"]


def test_it_creates_a_pr_from_a_partial_node(hub, api_for, clock):
    clock.advance(100)
    stored = hub.upsert_pr("acme/rocket", {"number": 11, "title": "New one"})
    assert stored["state"] == "OPEN" and stored["createdAt"] == stored["updatedAt"]
    data = api_for(hub).data(
        '{ repository(owner: "acme", name: "rocket") { pullRequest(number: 11) { title state } '
        "pullRequests(first: 1) { totalCount } } }"
    )
    assert data["repository"]["pullRequest"] == {"title": "New one", "state": "OPEN"}
    assert data["repository"]["pullRequests"]["totalCount"] == 11


def test_a_review_moves_the_prs_updated_at_but_not_the_repos_pushed_at(hub, api_for, clock):
    api = api_for(hub)
    pushed = api.data(META)["repository"]["pushedAt"]
    before = pr_updated_at(api, 4)
    clock.advance(3600)
    review = {
        "databaseId": 999001,
        "author": {"login": "rev"},
        "state": "APPROVED",
        "submittedAt": "2026-05-28T21:00:00Z",
        "body": "ok",
    }
    hub.upsert_pr("acme/rocket", {"number": 4, "reviews": [review]})
    assert pr_updated_at(api, 4) > before
    assert api.data(META)["repository"]["pushedAt"] == pushed
    assert hub.get_pr("acme/rocket", 4)["reviews"] == [
        {**review, "author": {"login": "rev", "__typename": "User"}}
    ]


def test_a_label_moves_the_prs_updated_at_but_not_the_repos_pushed_at(hub, api_for, clock):
    api = api_for(hub)
    pushed = api.data(META)["repository"]["pushedAt"]
    before = pr_updated_at(api, 4)
    clock.advance(3600)
    labels = [*hub.get_pr("acme/rocket", 4).get("labels", []), {"name": "needs-love"}]
    hub.upsert_pr("acme/rocket", {"number": 4, "labels": labels})
    assert pr_updated_at(api, 4) > before
    assert api.data(META)["repository"]["pushedAt"] == pushed
    names = api.data(
        '{ repository(owner: "acme", name: "rocket") { pullRequest(number: 4) { '
        "labels(first: 100) { nodes { name } } } } }"
    )["repository"]["pullRequest"]["labels"]["nodes"]
    assert names[-1] == {"name": "needs-love"}


def test_a_comment_moves_the_prs_updated_at_but_not_the_repos_pushed_at(hub, api_for, clock):
    api = api_for(hub)
    pushed = api.data(META)["repository"]["pushedAt"]
    before = pr_updated_at(api, 3)
    count = hub.get_pr("acme/rocket", 3).get("commentCount", 0)
    clock.advance(3600)
    hub.upsert_pr("acme/rocket", {"number": 3, "commentCount": count + 1})
    assert pr_updated_at(api, 3) > before
    assert api.data(META)["repository"]["pushedAt"] == pushed
    comments = api.data(
        '{ repository(owner: "acme", name: "rocket") { pullRequest(number: 3) { '
        "comments { totalCount } } } }"
    )["repository"]["pullRequest"]["comments"]
    assert comments == {"totalCount": count + 1}


def test_new_commits_move_both_updated_at_and_pushed_at(hub, api_for, clock):
    api = api_for(hub)
    pushed = api.data(META)["repository"]["pushedAt"]
    before = pr_updated_at(api, 5)
    clock.advance(3600)
    commit = {
        "oid": "c" * 40,
        "messageHeadline": "more",
        "authoredDate": "2026-05-28T21:00:00Z",
        "committedDate": "2026-05-28T21:00:00Z",
        "author": {"name": "A", "email": "a@x", "login": "a"},
        "additions": 1,
        "deletions": 1,
    }
    old = hub.get_pr("acme/rocket", 5)
    hub.upsert_pr("acme/rocket", {"number": 5, "commits": [*old["commits"], commit]})
    assert api.data(META)["repository"]["pushedAt"] > pushed
    assert pr_updated_at(api, 5) > before
    assert hub.get_pr("acme/rocket", 5)["commits"][-1]["oid"] == "c" * 40


def test_check_suites_change_without_touching_updated_at(hub, api_for, clock):
    api = api_for(hub)
    before = pr_updated_at(api, 6)
    clock.advance(3600)
    run = {
        "databaseId": 777,
        "name": "ci",
        "status": "COMPLETED",
        "conclusion": "SUCCESS",
        "startedAt": "2026-05-28T21:00:00Z",
        "completedAt": "2026-05-28T21:05:00Z",
    }
    hub.set_check_suites(
        "acme/rocket", 6, [{"app": {"name": "CI"}, "conclusion": "SUCCESS", "checkRuns": [run]}]
    )
    assert pr_updated_at(api, 6) == before
    rollup = api.data(
        '{ repository(owner: "acme", name: "rocket") { pullRequest(number: 6) { '
        "statusCheckRollup { state contexts(first: 5) { nodes { ... on CheckRun { databaseId } } } } } } }"
    )["repository"]["pullRequest"]["statusCheckRollup"]
    assert rollup == {"state": "SUCCESS", "contexts": {"nodes": [{"databaseId": 777}]}}


def test_a_push_bumps_pushed_at(hub, api_for, clock):
    api = api_for(hub)
    before = api.data(META)["repository"]["pushedAt"]
    clock.advance(10)
    after = hub.push("acme/rocket")
    assert after > before
    assert api.data(META)["repository"]["pushedAt"] == after


def test_it_adds_repositories_while_running(fakehub, api_for):
    fakehub.add_synthetic("acme/later", 7, seed=2)
    names = fakehub.load_data(DATA / "antiwork-gumroad")
    assert names == ["antiwork/gumroad"]
    assert {r["nameWithOwner"]: r["prs"] for r in fakehub.repos()} == {
        "acme/later": 7,
        "antiwork/gumroad": 10,
    }


def test_the_control_api_refuses_bad_changes_in_one_line(hub):
    with pytest.raises(FakeHubControlError, match="not served"):
        hub.upsert_pr("acme/nope", {"number": 1})
    with pytest.raises(FakeHubControlError, match="state must be one of"):
        hub.upsert_pr("acme/rocket", {"number": 1, "state": "WEIRD"})
    with pytest.raises(FakeHubControlError, match="not found"):
        hub.get_pr("acme/rocket", 12345)
    with pytest.raises(FakeHubControlError, match="not found"):
        hub.load_data("/no/such/dir")


def test_merging_a_pr_sets_merged_and_closed_dates(hub, clock):
    clock.advance(50)
    pr = hub.upsert_pr("acme/rocket", {"number": 20, "title": "x"})
    clock.advance(50)
    merged = hub.upsert_pr("acme/rocket", {"number": 20, "state": "MERGED"})
    assert merged["mergedAt"] == merged["closedAt"] == merged["updatedAt"]
    assert merged["createdAt"] == pr["createdAt"]
