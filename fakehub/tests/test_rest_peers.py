"""The REST endpoints peers call (Perceval, tap-github), under / and /api/v3, shaped as GitHub's."""

from __future__ import annotations

import pytest

from fakehub.tests.test_conformance import response_validator, validator


@pytest.fixture
def hub(fakehub_factory):
    return fakehub_factory(synthetic=["acme/rocket:520:5"])


def problems(checker, items) -> list[str]:
    return [error.message for item in items for error in checker.iter_errors(item)]


def test_issues_list_prs_with_a_pull_request_key_since_a_date(hub, api_for):
    api = api_for(hub)
    everything = api.get(
        "/api/v3/repos/acme/rocket/issues",
        params={"state": "all", "sort": "updated", "direction": "asc", "per_page": 100},
    )
    items = everything.json()
    assert len(items) == 100 and all("pull_request" in item for item in items)
    stamps = [item["updated_at"] for item in items]
    assert stamps == sorted(stamps)
    assert f"{hub.url}/api/v3/repos/acme/rocket/issues?" in everything.headers["link"]
    since = items[50]["updated_at"]
    later = api.get(
        "/repos/acme/rocket/issues",
        params={"state": "all", "since": since, "per_page": 100, "sort": "updated"},
    ).json()
    assert later and all(item["updated_at"] >= since for item in later)


def test_one_pr_and_its_parts_match_githubs_schemas(hub, api_for):
    api = api_for(hub)
    pull = api.get("/repos/acme/rocket/pulls/500").json()
    assert problems(validator("pull-request"), [pull]) == []
    assert pull["commits"] == 130 and pull["changed_files"] == 180
    commits = api.get("/repos/acme/rocket/pulls/500/commits", params={"per_page": 100})
    assert len(commits.json()) == 100 and 'rel="next"' in commits.headers["link"]
    assert problems(validator("commit"), commits.json()) == []
    reviews = api.get("/repos/acme/rocket/pulls/500/reviews", params={"per_page": 100}).json()
    assert len(reviews) == 60
    assert problems(validator("pull-request-review"), reviews) == []
    files = api.get("/repos/acme/rocket/pulls/500/files", params={"per_page": 100}).json()
    assert problems(validator("diff-entry"), files) == []
    assert api.get("/repos/acme/rocket/pulls/500/comments").json() == []
    requested = api.get("/repos/acme/rocket/pulls/500/requested_reviewers").json()
    assert set(requested) == {"users", "teams"}
    assert api.get("/repos/acme/rocket/pulls/comments").json() == []


def test_issue_comments_follow_the_comment_count(hub, api_for):
    api = api_for(hub)
    pull = api.get("/repos/acme/rocket/pulls/7").json()
    comments = api.get("/repos/acme/rocket/issues/7/comments", params={"per_page": 100}).json()
    assert len(comments) == pull["comments"]


def test_the_combined_status_matches_githubs_schema(hub, api_for):
    pr = hub.upsert_pr(
        "acme/rocket",
        {"number": 3, "statusContexts": [{"context": "ci/legacy", "state": "SUCCESS"}]},
    )
    sha = pr["commits"][-1]["oid"]
    body = api_for(hub).get(f"/repos/acme/rocket/commits/{sha}/status").json()
    assert body["state"] == "success" and body["total_count"] == 1
    checker = response_validator("/repos/{owner}/{repo}/commits/{ref}/status")
    assert problems(checker, [body]) == []


def test_users_and_their_orgs_are_served(hub, api_for):
    api = api_for(hub)
    assert api.get("/users/octocat").json()["login"] == "octocat"
    assert api.get("/users/dependabot[bot]").json()["type"] == "Bot"
    assert api.get("/api/v3/users/octocat/orgs").json() == []


def test_what_is_not_served_is_404(hub, api_for):
    api = api_for(hub)
    for path in ("/repos/acme/rocket/pulls/99999", "/repos/acme/rocket/pulls/1/nope", "/orgs/acme"):
        assert api.get(path).status_code == 404
