"""Synthetic repositories: deterministic, realistic spread, consistent, valid dataset format."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fakehub.datasets import load_dataset_dir, write_dataset_dir
from fakehub.synthetic import HEAVY_SIZES, generate_repository

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
NOW_ISO = "2026-03-01T12:00:00Z"
WINDOW_START_ISO = "2025-12-01T12:00:00Z"  # 90 days before NOW

PR_KEYS = {
    "number",
    "title",
    "body",
    "state",
    "isDraft",
    "createdAt",
    "updatedAt",
    "mergedAt",
    "closedAt",
    "baseRefName",
    "headRefName",
    "author",
    "mergedBy",
    "additions",
    "deletions",
    "changedFiles",
    "files",
    "commits",
    "labels",
    "milestone",
    "assignees",
    "reviewRequests",
    "closingIssuesReferences",
    "reviews",
    "checkSuites",
    "commentCount",
}


@pytest.fixture(scope="module")
def repository() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    return generate_repository("acme/rocket", 300, seed=1, now=NOW)


@pytest.fixture(scope="module")
def prs(repository: tuple[dict[str, Any], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return repository[1]


def all_runs(pr: dict[str, Any]) -> list[dict[str, Any]]:
    return [run for suite in pr["checkSuites"] for run in suite["checkRuns"]]


def test_the_same_arguments_give_identical_output(
    repository: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    again = generate_repository("acme/rocket", 300, seed=1, now=NOW)
    assert json.dumps(again, sort_keys=True) == json.dumps(repository, sort_keys=True)


def test_output_does_not_depend_on_the_process_hash_seed() -> None:
    # Python salts str hashes per process: set or hash() order would break determinism here.
    script = (
        "import hashlib, json; from datetime import datetime, UTC; "
        "from fakehub.synthetic import generate_repository; "
        "data = generate_repository('acme/rocket', 120, seed=4, now=datetime(2026, 3, 1, 12, tzinfo=UTC)); "
        "print(hashlib.sha256(json.dumps(data).encode()).hexdigest())"
    )
    root = Path(__file__).resolve().parents[2]
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": str(salt), "PYTHONPATH": str(root)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for salt in (1, 2)
    }
    here = generate_repository("acme/rocket", 120, seed=4, now=NOW)
    assert digests == {hashlib.sha256(json.dumps(here).encode()).hexdigest()}


def test_a_different_seed_or_name_gives_a_different_repository(
    repository: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    _, other_seed = generate_repository("acme/rocket", 300, seed=2, now=NOW)
    _, other_name = generate_repository("acme/comet", 300, seed=1, now=NOW)
    assert other_seed != repository[1]
    assert other_name != repository[1]


def test_the_repository_metadata_follows_the_prs(
    repository: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    repo, prs = repository
    assert repo["nameWithOwner"] == "acme/rocket"
    assert repo["defaultBranch"] == "main"
    assert repo["createdAt"] == WINDOW_START_ISO
    latest = max(
        [pr["commits"][-1]["committedDate"] for pr in prs]
        + [pr["mergedAt"] for pr in prs if pr["mergedAt"]]
    )
    assert repo["pushedAt"] == latest


def test_prs_are_numbered_one_to_n_in_creation_order(prs: list[dict[str, Any]]) -> None:
    assert [pr["number"] for pr in prs] == list(range(1, 301))
    created = [pr["createdAt"] for pr in prs]
    assert created == sorted(created)


def test_every_pr_has_every_dataset_key(prs: list[dict[str, Any]]) -> None:
    for pr in prs:
        assert pr.keys() >= PR_KEYS, PR_KEYS - pr.keys()


def test_dates_are_ordered_within_the_ninety_days_before_now(prs: list[dict[str, Any]]) -> None:
    for pr in prs:
        created, updated = pr["createdAt"], pr["updatedAt"]
        assert WINDOW_START_ISO <= created <= updated <= NOW_ISO
        commit_dates = [c[key] for c in pr["commits"] for key in ("authoredDate", "committedDate")]
        review_dates = [review["submittedAt"] for review in pr["reviews"]]
        end = pr["closedAt"] or updated
        assert all(created <= date <= end for date in commit_dates)
        assert all(created <= date <= end for date in review_dates)
        assert end <= updated
        committed = [commit["committedDate"] for commit in pr["commits"]]
        submitted = [review["submittedAt"] for review in pr["reviews"]]
        assert committed == sorted(committed) and submitted == sorted(submitted)
        if pr["state"] == "MERGED":
            assert pr["mergedAt"] == pr["closedAt"]
        for run in all_runs(pr):
            for key in ("startedAt", "completedAt"):
                assert run[key] is None or pr["commits"][-1]["committedDate"] <= run[key] <= NOW_ISO
            if run["completedAt"]:
                assert run["startedAt"] <= run["completedAt"] <= (pr["closedAt"] or NOW_ISO)


def test_the_newest_updates_do_not_bunch_at_now() -> None:
    # An incremental sync re-reads every PR within its overlap (60 s) of the newest updatedAt:
    # PRs whose lifetime would pass `now` must not all end exactly at it.
    _, prs = generate_repository("acme/busy", 2000, seed=1, now=NOW)
    updated = sorted(datetime.fromisoformat(pr["updatedAt"]) for pr in prs)
    near_newest = [date for date in updated if updated[-1] - date <= timedelta(seconds=60)]
    assert 1 <= len(near_newest) <= 3, len(near_newest)
    assert sum(pr["updatedAt"] == NOW_ISO for pr in prs) <= 1
    assert all(pr["updatedAt"] <= NOW_ISO for pr in prs)


def qualifying_reviews(pr: dict[str, Any]) -> list[dict[str, Any]]:
    """The reviews pr_metrics counts: by a person other than the PR's author, in time order."""
    author = pr["author"]["login"] if pr["author"] else None
    return [
        review
        for review in pr["reviews"]
        if review["author"]
        and review["author"]["__typename"] == "User"
        and review["author"]["login"] != author
    ]


def review_rounds(pr: dict[str, Any]) -> int:
    """Changes requested -> a commit strictly after it -> a qualifying review strictly after that."""
    reviews = qualifying_reviews(pr)
    commits = sorted(commit["committedDate"] for commit in pr["commits"])
    rounds, start = 0, 0
    while True:
        asked = [
            i for i in range(start, len(reviews)) if reviews[i]["state"] == "CHANGES_REQUESTED"
        ]
        if not asked:
            return rounds
        pushed = [date for date in commits if date > reviews[asked[0]]["submittedAt"]]
        if not pushed:
            return rounds
        again = [
            i for i in range(asked[0] + 1, len(reviews)) if reviews[i]["submittedAt"] > pushed[0]
        ]
        if not again:
            return rounds
        rounds, start = rounds + 1, again[0]


def test_about_a_third_of_reviewed_prs_go_through_one_or_two_review_rounds(
    prs: list[dict[str, Any]],
) -> None:
    reviewed = [pr for pr in prs if qualifying_reviews(pr)]
    rounds = Counter(review_rounds(pr) for pr in reviewed)
    assert set(rounds) == {0, 1, 2}
    assert 0.22 <= (rounds[1] + rounds[2]) / len(reviewed) <= 0.38, rounds
    assert rounds[1] > rounds[2] > 0
    _, larger = generate_repository("antiwork/gumroad", 1000, seed=1, now=NOW)
    reviewed = [pr for pr in larger if qualifying_reviews(pr)]
    share = sum(review_rounds(pr) > 0 for pr in reviewed) / len(reviewed)
    assert 0.25 <= share <= 0.35


def test_a_round_is_a_change_request_then_new_commits_then_a_later_review(
    prs: list[dict[str, Any]],
) -> None:
    for pr in (pr for pr in prs if review_rounds(pr)):
        reviews = qualifying_reviews(pr)
        asked = next(r for r in reviews if r["state"] == "CHANGES_REQUESTED")
        after = [c for c in pr["commits"] if c["committedDate"] > asked["submittedAt"]]
        assert 1 <= len(after) <= 6
        assert any(r["submittedAt"] > after[0]["committedDate"] for r in reviews)
    rereviews = [
        next(
            r
            for r in qualifying_reviews(pr)
            if r["submittedAt"] > pr["commits"][-1]["committedDate"]
        )
        for pr in prs
        if review_rounds(pr)
    ]
    assert Counter(r["state"] for r in rereviews).most_common(1)[0][0] == "APPROVED"


def test_prs_without_rounds_are_reviewed_after_their_last_commit(
    prs: list[dict[str, Any]],
) -> None:
    plain = [pr for pr in prs if not review_rounds(pr) and pr["reviews"]]
    assert len(plain) > len(prs) / 3
    for pr in plain:
        last_commit = pr["commits"][-1]["committedDate"]
        assert all(review["submittedAt"] >= last_commit for review in pr["reviews"])


def test_states_are_spread_as_github_repositories_are(prs: list[dict[str, Any]]) -> None:
    states = Counter(pr["state"] for pr in prs)
    assert 0.5 < states["MERGED"] / 300 < 0.7
    assert 0.12 < states["OPEN"] / 300 < 0.28
    assert 0.12 < states["CLOSED"] / 300 < 0.28
    drafts = [pr for pr in prs if pr["isDraft"]]
    assert drafts and all(pr["state"] == "OPEN" for pr in drafts)
    for pr in prs:
        assert (pr["mergedAt"] is not None) == (pr["state"] == "MERGED")
        assert (pr["closedAt"] is None) == (pr["state"] == "OPEN")


def test_totals_are_the_sums_of_the_files(prs: list[dict[str, Any]]) -> None:
    for pr in prs:
        assert pr["changedFiles"] == len(pr["files"])
        assert pr["additions"] == sum(f["additions"] for f in pr["files"])
        assert pr["deletions"] == sum(f["deletions"] for f in pr["files"])
        assert pr["additions"] == sum(c["additions"] for c in pr["commits"])
        assert len({f["path"] for f in pr["files"]}) == len(pr["files"])


def test_every_enum_value_appears_in_300_prs(prs: list[dict[str, Any]]) -> None:
    change_types = {f["changeType"] for pr in prs for f in pr["files"]}
    review_states = {review["state"] for pr in prs for review in pr["reviews"]}
    statuses = {run["status"] for pr in prs for run in all_runs(pr)}
    conclusions = {run["conclusion"] for pr in prs for run in all_runs(pr)}
    assert change_types == {"ADDED", "MODIFIED", "DELETED", "RENAMED", "COPIED", "CHANGED"}
    assert review_states == {"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"}
    assert statuses == {"QUEUED", "IN_PROGRESS", "COMPLETED"}
    assert conclusions == {
        None,
        "SUCCESS",
        "FAILURE",
        "NEUTRAL",
        "CANCELLED",
        "SKIPPED",
        "TIMED_OUT",
        "ACTION_REQUIRED",
    }


def test_check_runs_conclude_only_when_completed(prs: list[dict[str, Any]]) -> None:
    for pr in prs:
        for suite in pr["checkSuites"]:
            assert suite["app"]["name"]
            runs = suite["checkRuns"]
            assert runs
            done = all(run["status"] == "COMPLETED" for run in runs)
            assert (suite["conclusion"] is not None) == done
            for run in runs:
                assert (run["conclusion"] is not None) == (run["status"] == "COMPLETED")
                assert (run["completedAt"] is not None) == (run["status"] == "COMPLETED")
                assert (run["startedAt"] is None) == (run["status"] == "QUEUED")


def test_bots_and_deleted_users_appear_in_graphql_shape(prs: list[dict[str, Any]]) -> None:
    authors = [pr["author"] for pr in prs]
    bots = {a["login"] for a in authors if a and a["__typename"] == "Bot"}
    humans = {a["login"] for a in authors if a and a["__typename"] == "User"}
    ghosts = sum(author is None for author in authors)
    assert bots == {"dependabot", "renovate"}
    assert any(a and a["__typename"] == "User" and a["name"] for a in authors)
    assert 15 <= len(humans) <= 30
    assert 1 <= ghosts <= 30
    for pr in prs:
        for review in pr["reviews"]:
            assert review["author"] is None or not review["author"]["login"].endswith("[bot]")
    assert any(
        review["author"] and review["author"]["__typename"] == "Bot"
        for pr in prs
        for review in pr["reviews"]
    )
    assert any(
        pr["author"] and review["author"] == pr["author"] for pr in prs for review in pr["reviews"]
    ), "some authors comment on their own PR"
    assert len({r["author"]["login"] for pr in prs for r in pr["reviews"] if r["author"]}) >= 5


def test_commit_authors_have_names_emails_and_sometimes_no_login(
    prs: list[dict[str, Any]],
) -> None:
    git_authors = [commit["author"] for pr in prs for commit in pr["commits"]]
    assert all(author["name"] and "@" in author["email"] for author in git_authors)
    assert any(author["login"] is None for author in git_authors)
    assert any(author["login"] for author in git_authors)


def test_the_people_side_of_prs_is_filled(prs: list[dict[str, Any]]) -> None:
    assert any(pr["labels"] for pr in prs)
    assert all(label["color"] for pr in prs for label in pr["labels"])
    assert any(pr["milestone"] for pr in prs)
    assert any(pr["assignees"] for pr in prs)
    assert any(pr["reviewRequests"] for pr in prs)
    assert any(pr["closingIssuesReferences"] for pr in prs)
    assert any(pr["commentCount"] for pr in prs)
    numbers = {pr["number"] for pr in prs}
    assert not numbers & {i["number"] for pr in prs for i in pr["closingIssuesReferences"]}


def test_bodies_hold_unicode_emoji_and_a_few_very_long_texts(prs: list[dict[str, Any]]) -> None:
    long_bodies = [pr for pr in prs if len(pr["body"].encode()) >= 20_000]
    assert 1 <= len(long_bodies) <= 6
    assert all(len(pr["body"].encode()) <= 61_000 for pr in prs)
    text = " ".join(pr["title"] + pr["body"] for pr in prs)
    assert "🚀" in text and "é" in text and "語" in text
    assert any(pr["body"] == "" for pr in prs)


def test_ids_are_unique_across_the_repository(prs: list[dict[str, Any]]) -> None:
    review_ids = [review["databaseId"] for pr in prs for review in pr["reviews"]]
    run_ids = [run["databaseId"] for pr in prs for run in all_runs(pr)]
    oids = [commit["oid"] for pr in prs for commit in pr["commits"]]
    assert len(set(review_ids)) == len(review_ids)
    assert len(set(run_ids)) == len(run_ids)
    assert len(set(oids)) == len(oids)
    assert all(len(oid) == 40 and int(oid, 16) >= 0 for oid in oids)


def test_nested_sizes_stay_below_the_heavy_thresholds(prs: list[dict[str, Any]]) -> None:
    for pr in prs:
        assert 0 <= len(pr["reviews"]) <= 8
        assert 1 <= len(pr["commits"]) <= 12
        assert 1 <= len(pr["files"]) <= 40
        assert len(all_runs(pr)) <= 12
        assert len(pr["labels"]) <= 4
        assert len(pr["assignees"]) <= 2
        assert len(pr["reviewRequests"]) <= 20
        assert len(pr["closingIssuesReferences"]) <= 20


def test_heavy_prs_have_the_exact_heavy_sizes() -> None:
    _, prs = generate_repository("acme/heavy", 1500, seed=3, now=NOW)
    heavy = [pr for pr in prs if pr["number"] % 1000 == 500]
    assert [pr["number"] for pr in heavy] == [500, 1500]
    for pr in heavy:
        assert len(pr["files"]) == HEAVY_SIZES["files"] == 180
        assert len(pr["commits"]) == HEAVY_SIZES["commits"] == 130
        assert len(pr["reviews"]) == HEAVY_SIZES["reviews"] == 60
        assert len(all_runs(pr)) == HEAVY_SIZES["check_runs"] == 40
    for pr in prs:
        if pr["number"] % 1000 != 500:
            assert len(pr["files"]) <= 100 and len(pr["commits"]) <= 100
            assert len(pr["reviews"]) <= 50 and len(all_runs(pr)) <= 50


def test_it_round_trips_through_the_dataset_loader(
    tmp_path: Path, repository: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    repo, prs = repository
    folder = write_dataset_dir(tmp_path / "acme-rocket", repo, prs)
    [(loaded_repo, loaded_prs)] = load_dataset_dir(folder)
    assert loaded_repo == repo
    assert loaded_prs == prs


def test_now_defaults_to_the_current_time() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    repo, prs = generate_repository("acme/now", 20)
    after = datetime.now(UTC)
    start = (before - timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = after.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert all(start <= pr["createdAt"] <= pr["updatedAt"] <= end for pr in prs)
    assert start <= repo["pushedAt"] <= end


def test_an_empty_repository_is_valid() -> None:
    repo, prs = generate_repository("acme/empty", 0, now=NOW)
    assert prs == []
    assert repo["nameWithOwner"] == "acme/empty"


@pytest.mark.parametrize(("name", "count"), [("rocket", 5), ("a/b/c", 5), ("acme/rocket", -1)])
def test_bad_arguments_raise_one_line_value_errors(name: str, count: int) -> None:
    with pytest.raises(ValueError) as caught:
        generate_repository(name, count, now=NOW)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("ci", ["statuses", "both"])
def test_ci_as_statuses_keeps_every_other_value_and_the_number_of_contexts(ci: str) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    _, checks = generate_repository("acme/ci", 150, seed=2, now=now)
    _, other = generate_repository("acme/ci", 150, seed=2, now=now, ci=ci)
    strip = ("checkSuites", "statusContexts")
    reruns = 0
    for a, b in zip(checks, other, strict=True):
        assert {k: v for k, v in a.items() if k not in strip} == {
            k: v for k, v in b.items() if k not in strip
        }
        runs = [run for s in a["checkSuites"] for run in s["checkRuns"]]
        kept = {run["databaseId"] for s in b.get("checkSuites") or [] for run in s["checkRuns"]}
        moved = [run for run in runs if run["databaseId"] not in kept]
        # One context per moved check, holding its latest run (a re-run replaces its failed try).
        latest = {run["name"]: run for run in sorted(moved, key=lambda r: r["databaseId"])}
        contexts = b.get("statusContexts") or []
        assert len(contexts) == len({c["context"] for c in contexts}) == len(latest)
        for context, run in zip(contexts, latest.values(), strict=True):
            assert context["targetUrl"].endswith(f"/{run['databaseId']}")
        # A check is reported one way only: no name is both a kept run and a context.
        assert not {run["name"] for run in runs if run["databaseId"] in kept} & set(latest)
        reruns += len(moved) - len(latest)
    assert reruns > 0  # flaky checks re-run as statuses occur, so the collapse is exercised
    with_statuses = [pr for pr in other if pr.get("statusContexts")]
    states = {s["state"] for pr in with_statuses for s in pr["statusContexts"]}
    assert {"SUCCESS", "FAILURE", "PENDING"} <= states
    if ci == "statuses":
        assert not any(pr.get("checkSuites") for pr in other)
    else:
        assert any(pr.get("checkSuites") and pr.get("statusContexts") for pr in other)
    with pytest.raises(ValueError, match="ci must be one of"):
        generate_repository("acme/ci", 1, ci="travis")
