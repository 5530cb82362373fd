"""from_api maps GraphQL PR nodes into FetchedPRFull: our own query shape and real recordings."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from apps.metrics.pipeline.fetched import (
    FetchedCheckRun,
    FetchedCommit,
    FetchedFile,
    FetchedPRFull,
    FetchedReview,
    FetchedStatusContext,
    FetchedUser,
)
from fakehub.reference import shared_dir

SHARED = shared_dir() / "github"
DEVLAKE_PRS = (
    SHARED / "recorded/incubator-devlake/github_graphql/raw_tables/_raw_github_graphql_prs.csv"
)
CLI_FIXTURES = SHARED / "handwritten/cli-cli/pkg/cmd/pr"


def _actor(login: str, typename: str = "User", db_id: int = 1, **extra: Any) -> dict[str, Any]:
    return {"__typename": typename, "login": login, "databaseId": db_id, **extra}


def _conn(nodes: list[Any], total: int | None = None) -> dict[str, Any]:
    return {
        "totalCount": len(nodes) if total is None else total,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "nodes": nodes,
    }


def _our_node() -> dict[str, Any]:
    """A node as FETCH_PRS_BULK_QUERY answers it, with the awkward cases GitHub produces."""
    return {
        "id": "PR_kwDOA",
        "databaseId": 1001,
        "number": 42,
        "title": "Add rockets",
        "body": "",
        "url": "https://github.com/acme/rocket/pull/42",
        "state": "MERGED",
        "isDraft": False,
        "createdAt": "2024-05-01T10:00:00Z",
        "updatedAt": "2024-05-03T12:00:00+02:00",
        "mergedAt": "2024-05-03T09:30:00Z",
        "closedAt": "2024-05-03T09:30:00Z",
        "additions": 120,
        "deletions": 7,
        "changedFiles": 6,
        "headRefName": "rockets",
        "baseRefName": "main",
        "author": None,  # a deleted account
        "mergedBy": _actor("dependabot", "Bot", 49699333),
        "milestone": {"title": "v2"},
        "comments": {"totalCount": 3},
        "labels": _conn([{"name": "feature"}, {"name": "size:L"}]),
        "assignees": _conn([{"login": "ana", "databaseId": 7, "name": "Ana", "email": ""}]),
        "reviewRequests": _conn(
            [
                {"requestedReviewer": {"__typename": "User", "login": "bo"}},
                {"requestedReviewer": {"__typename": "Team", "slug": "core"}},
                {"requestedReviewer": {"__typename": "Bot", "login": "copilot"}},
                {"requestedReviewer": None},
            ]
        ),
        "closingIssuesReferences": _conn([{"number": 7}, {"number": 9}]),
        "reviews": _conn(
            [
                {
                    "databaseId": 5001,
                    "state": "CHANGES_REQUESTED",
                    "body": "no",
                    "submittedAt": "2024-05-02T08:00:00Z",
                    "author": _actor("bo", db_id=8, name=None, email=""),
                },
                {
                    "databaseId": 5002,
                    "state": "APPROVED",
                    "body": "",
                    "submittedAt": "2024-05-03T08:00:00Z",
                    "author": None,
                },
                {
                    "databaseId": 5003,
                    "state": "PENDING",
                    "body": "",
                    "submittedAt": None,
                    "author": _actor("ci-helper", "Bot", 9),
                },
            ]
        ),
        "commits": _conn(
            [
                {
                    "commit": {
                        "oid": "a" * 40,
                        "message": "Add rockets\n\nLong body",
                        "messageHeadline": "Add rockets",
                        "authoredDate": "2024-05-01T09:00:00+05:30",
                        "committedDate": "2024-05-01T09:10:00Z",
                        "additions": 100,
                        "deletions": 2,
                        "author": {
                            "name": "Ana B",
                            "email": "ana@example.com",
                            "user": {"login": "ana", "databaseId": 7},
                        },
                    }
                },
                {
                    "commit": {
                        "oid": "b" * 40,
                        "message": "fixup",
                        "messageHeadline": "fixup",
                        "authoredDate": "2024-05-02T09:00:00Z",
                        "committedDate": "2024-05-02T09:00:00Z",
                        "additions": 20,
                        "deletions": 5,
                        "author": {"name": "Laptop", "email": "me@laptop", "user": None},
                    }
                },
            ],
            total=2,
        ),
        "files": _conn(
            [
                {"path": p, "changeType": c, "additions": 1, "deletions": 1}
                for p, c in [
                    ("a.py", "ADDED"),
                    ("b.py", "DELETED"),
                    ("c.py", "MODIFIED"),
                    ("d.py", "RENAMED"),
                    ("e.py", "COPIED"),
                    ("f.sh", "CHANGED"),
                ]
            ]
        ),
        "statusCheckRollup": {
            "contexts": _conn(
                [
                    {
                        "__typename": "CheckRun",
                        "databaseId": 9001,
                        "name": "tests",
                        "status": "COMPLETED",
                        "conclusion": "SUCCESS",
                        "startedAt": "2024-05-01T09:11:00Z",
                        "completedAt": "2024-05-01T09:15:30Z",
                        "checkSuite": {"app": {"name": "GitHub Actions"}},
                    },
                    {
                        "__typename": "CheckRun",
                        "databaseId": 9002,
                        "name": "lint",
                        "status": "IN_PROGRESS",
                        "conclusion": None,
                        "startedAt": "2024-05-01T09:11:00Z",
                        "completedAt": None,
                        "checkSuite": {"app": None},
                    },
                    {
                        "__typename": "StatusContext",
                        "context": "ci/legacy",
                        "state": "SUCCESS",
                        "createdAt": "2024-05-01T09:12:00Z",
                    },
                ]
            )
        },
    }


def test_it_maps_our_query_node_with_ghosts_bots_and_lower_case_states():
    pr = FetchedPRFull.from_api(_our_node())
    assert (pr.repo_full_name, pr.number, pr.node_id, pr.state) == (
        "acme/rocket",
        42,
        "PR_kwDOA",
        "merged",
    )
    assert pr.author == FetchedUser.ghost() and pr.author.is_ghost
    assert pr.merged_by == FetchedUser("dependabot[bot]", 49699333, None, None, True)
    assert pr.labels == ("feature", "size:L")
    assert pr.milestone_title == "v2"
    assert pr.assignees == (FetchedUser("ana", 7, "Ana", None, False),)
    assert pr.review_requests == ("bo", "core", "copilot[bot]")
    assert pr.linked_issues == (7, 9)
    assert (pr.commits_count, pr.comments_count, pr.changed_files) == (2, 3, 6)
    assert [r.state for r in pr.reviews] == ["changes_requested", "approved", "pending"]
    assert pr.reviews[1].reviewer.is_ghost
    assert pr.reviews[2].reviewer.login == "ci-helper[bot]" and pr.reviews[2].reviewer.is_bot
    assert [f.status for f in pr.files] == [
        "added",
        "removed",
        "modified",
        "renamed",
        "copied",
        "changed",
    ]


def test_datetimes_are_aware_utc():
    pr = FetchedPRFull.from_api(_our_node())
    assert pr.created_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert pr.updated_at == datetime(2024, 5, 3, 10, 0, tzinfo=UTC)
    assert pr.commits[0].authored_at == datetime(2024, 5, 1, 3, 30, tzinfo=UTC)
    for value in (pr.created_at, pr.updated_at, pr.merged_at, pr.closed_at):
        assert value is not None and value.utcoffset().total_seconds() == 0


def test_commit_authors_are_linked_accounts_or_none():
    pr = FetchedPRFull.from_api(_our_node())
    linked, unlinked = pr.commits
    assert linked.author is not None and linked.author.login == "ana"
    assert linked.author.github_id == 7
    assert linked.message == "Add rockets\n\nLong body"
    assert unlinked.author is None
    assert (unlinked.author_name, unlinked.author_email) == ("Laptop", "me@laptop")


def test_check_runs_and_commit_statuses_both_come_from_the_rollup():
    pr = FetchedPRFull.from_api(_our_node())
    # The status names no commit here: the rollup's commit, the PR's last one, stands in.
    assert pr.status_contexts == (
        FetchedStatusContext(
            "ci/legacy",
            "success",
            created_at=datetime(2024, 5, 1, 9, 12, tzinfo=UTC),
            commit_sha=pr.commits[-1].sha,
        ),
    )
    assert pr.check_runs == (
        FetchedCheckRun(
            9001,
            "tests",
            "completed",
            "success",
            datetime(2024, 5, 1, 9, 11, tzinfo=UTC),
            datetime(2024, 5, 1, 9, 15, 30, tzinfo=UTC),
            "GitHub Actions",
        ),
        FetchedCheckRun(
            9002, "lint", "in_progress", None, datetime(2024, 5, 1, 9, 11, tzinfo=UTC), None, None
        ),
    )
    assert pr.check_runs[0].duration_seconds == 270


def test_a_mapped_pr_round_trips_through_json():
    pr = FetchedPRFull.from_api(_our_node())
    assert FetchedPRFull.from_dict(json.loads(json.dumps(pr.to_dict()))) == pr


def test_an_open_pr_without_merge_data_has_no_merger_and_null_connections_are_empty():
    node = _our_node()
    node.update(
        state="OPEN",
        mergedAt=None,
        closedAt=None,
        mergedBy=None,
        milestone=None,
        statusCheckRollup=None,
        labels=None,
        closingIssuesReferences=None,
    )
    pr = FetchedPRFull.from_api(node, "acme/rocket")
    assert (pr.state, pr.merged_by, pr.milestone_title) == ("open", None, None)
    assert (pr.check_runs, pr.labels, pr.linked_issues) == ((), (), ())


def test_the_parts_map_on_their_own():
    assert FetchedFile.from_api({"path": "x", "changeType": "DELETED"}).status == "removed"
    assert FetchedUser.from_api(None).is_ghost
    assert FetchedUser.from_api({"login": ""}).is_ghost
    assert FetchedUser.from_api({"__typename": "Bot", "login": "x[bot]"}).login == "x[bot]"
    review = FetchedReview.from_api({"databaseId": 1, "state": "DISMISSED", "author": None})
    assert (review.state, review.reviewer.is_ghost, review.body) == ("dismissed", True, "")
    assert FetchedCheckRun.from_api({"__typename": "StatusContext", "context": "ci"}) is None
    assert FetchedStatusContext.from_api({"__typename": "CheckRun", "databaseId": 1}) is None
    status = FetchedStatusContext.from_api(
        {
            "__typename": "StatusContext",
            "context": "ci/circleci: build",
            "state": "ERROR",
            "description": "Your tests failed on CircleCI",
            "targetUrl": "https://circleci.com/gh/acme/rocket/1",
            "createdAt": "2024-05-01T09:12:00Z",
            "commit": {"oid": "abc123"},
        },
        commit_sha="ignored",
    )
    assert status is not None
    assert (status.state, status.commit_sha, status.target_url) == (
        "error",
        "abc123",
        "https://circleci.com/gh/acme/rocket/1",
    )
    commit = FetchedCommit.from_api(
        {"commit": {"oid": "c", "author": None, "authoredDate": None, "committedDate": None}}
    )
    assert commit.author is None and commit.authored_at is None


# ---- real recordings ---------------------------------------------------------------------


def _devlake_rows() -> list[dict[str, Any]]:
    assert DEVLAKE_PRS.is_file(), f"recorded reference missing: {DEVLAKE_PRS}"
    csv.field_size_limit(10**9)
    with DEVLAKE_PRS.open(newline="") as fh:
        return [json.loads(row["data"]) for row in csv.DictReader(fh)]


def _devlake_to_wire(value: Any, *, actor: bool = False) -> Any:
    """DevLake stored GitHub's answer re-marshalled from Go structs (capitalised keys, `Id` for
    databaseId, zero structs for null actors). Undo exactly that to get the wire shape back."""
    if isinstance(value, list):
        return [_devlake_to_wire(v) for v in value]
    if not isinstance(value, dict):
        return value
    if actor:
        if not value.get("Login"):
            return None  # a Go zero struct: the wire had null (deleted user) or a non-User actor
        return {
            "__typename": "User",
            "login": value["Login"],
            "databaseId": value.get("Id"),
            "name": value.get("Name"),
            "email": value.get("Email"),
        }
    out: dict[str, Any] = {}
    for key, item in value.items():
        wire = key[:1].lower() + key[1:]
        # An account struct has Login/Id; a commit's git author (GitActor) has Name/Email/Date.
        is_account = isinstance(item, dict) and "Date" not in item and "User" not in item
        out[wire] = _devlake_to_wire(
            item, actor=wire in ("author", "mergedBy", "user") and is_account
        )
    if "assignees" in out and isinstance(out["assignees"], dict):
        out["assignees"] = {"nodes": out["assignees"].get("assignees") or []}
    return out


def test_every_recorded_devlake_pr_maps_with_its_reviews_commits_and_people():
    rows = _devlake_rows()
    assert len(rows) == 161
    states = set()
    ghosts = 0
    for raw in rows:
        node = _devlake_to_wire(raw)
        pr = FetchedPRFull.from_api(node, "apache/incubator-devlake")
        assert pr.number == raw["Number"] and pr.title == raw["Title"]
        assert pr.url == raw["Url"]
        assert pr.state == raw["State"].lower() and pr.state in ("open", "merged", "closed")
        assert len(pr.reviews) == len(raw["Reviews"]["Nodes"])
        assert len(pr.commits) == len(raw["Commits"]["Nodes"])
        assert pr.commits_count == raw["Commits"]["TotalCount"]
        assert pr.labels == tuple(label["Name"] for label in raw["Labels"]["Nodes"])
        assert pr.created_at.tzinfo is UTC and pr.updated_at >= pr.created_at
        if raw["Author"].get("Login"):
            assert pr.author.login == raw["Author"]["Login"]
            assert pr.author.github_id == raw["Author"]["Id"]
        else:
            assert pr.author.is_ghost
            ghosts += 1
        if pr.state == "merged":
            assert pr.merged_at is not None and pr.merged_by is not None
        for review in pr.reviews:
            assert review.state in ("approved", "changes_requested", "commented", "dismissed")
            ghosts += review.reviewer.is_ghost
        for commit in pr.commits:
            assert len(commit.sha) == 40 and commit.authored_at.tzinfo is UTC
        states.add(pr.state)
    assert states >= {"merged", "open"}
    assert ghosts > 0, "the recording has bot/deleted actors that must map to the ghost"


def test_the_cli_pr_list_fixture_maps_partial_nodes():
    path = CLI_FIXTURES / "list/fixtures/prList.json"
    assert path.is_file(), f"reference missing: {path}"
    nodes = json.loads(path.read_text())["data"]["repository"]["pullRequests"]["nodes"]
    prs = [FetchedPRFull.from_api(n) for n in nodes]
    assert [(p.repo_full_name, p.number, p.state, p.is_draft) for p in prs] == [
        ("monalisa/hello", 32, "open", True),
        ("monalisa/hello", 29, "open", False),
        ("monalisa/hello", 28, "merged", False),
    ]
    assert all(p.author.is_ghost and p.updated_at == p.created_at for p in prs)


def test_the_cli_rollup_fixture_keeps_only_check_runs_github_gave_an_id():
    path = CLI_FIXTURES / "checks/fixtures/withStatuses.json"
    assert path.is_file(), f"reference missing: {path}"
    rollup = json.loads(path.read_text())["data"]["node"]["statusCheckRollup"]["nodes"][0]
    contexts = rollup["commit"]["statusCheckRollup"]["contexts"]["nodes"]
    # cli's fixtures omit databaseId: nothing to upsert on, so nothing is invented.
    assert [FetchedCheckRun.from_api(c) for c in contexts] == [None, None, None]
    with_ids = [dict(c, __typename="CheckRun", databaseId=i) for i, c in enumerate(contexts[:2])]
    runs = [FetchedCheckRun.from_api(c) for c in with_ids]
    assert [(r.name, r.status, r.conclusion, r.duration_seconds) for r in runs] == [
        ("cool tests", "completed", "success", 86),
        ("rad tests", "completed", "success", 86),
    ]


@pytest.mark.parametrize("name", ["prViewPreviewReviews.json"])
def test_the_cli_review_fixture_maps_states_and_reviewers(name):
    path = CLI_FIXTURES / "view/fixtures" / name
    assert path.is_file(), f"reference missing: {path}"
    reviews = json.loads(path.read_text())["data"]["repository"]["pullRequest"]["reviews"]["nodes"]
    mapped = [FetchedReview.from_api(dict(r, databaseId=i)) for i, r in enumerate(reviews)]
    assert mapped and all(r.submitted_at is not None for r in mapped)
    allowed = {"approved", "changes_requested", "commented", "dismissed", "pending"}
    assert {r.state for r in mapped} <= allowed and "pending" in {r.state for r in mapped}
    assert [r.reviewer.login for r in mapped] == [r["author"]["login"] for r in reviews]
