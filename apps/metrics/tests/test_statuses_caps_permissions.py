"""Commit statuses, GitHub's caps and refused permissions, end to end: fakehub over real HTTP,
the sync pipeline, the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

import logging
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from apps.integrations.github.client import GitHubGraphQLClient
from apps.integrations.github.coordination import LocalCoordinator
from apps.metrics.models import (
    PRCheckRun,
    PRFile,
    PRStatusContext,
    PullRequest,
    Team,
    TrackedRepository,
)
from apps.metrics.pipeline.fetched import FetchedStatusContext
from apps.metrics.pipeline.writer import save_pull_requests
from apps.metrics.sync.run import sync_repository
from apps.metrics.tests.test_writer import make_pr

pytestmark = pytest.mark.django_db

TOKEN = "ghp_statuses_caps_permissions"
_RUN_FAILING = {"FAILURE", "TIMED_OUT", "CANCELLED", "ACTION_REQUIRED", "STARTUP_FAILURE"}
_RUN_PASSING = {"SUCCESS", "NEUTRAL", "SKIPPED"}


@pytest.fixture(autouse=True)
def _no_redis(settings) -> None:
    settings.REDIS_URL = ""


@pytest.fixture
def team() -> Team:
    return Team.objects.create(name="Acme", slug="acme")


def client_for(hub, token: str = TOKEN) -> GitHubGraphQLClient:
    return GitHubGraphQLClient(token, base_url=hub.url, coordinator=LocalCoordinator())


def merge_box(pr: dict[str, Any]) -> bool | None:
    """What GitHub's merge box says of a PR in fakehub's dataset format: the combined status
    (docs.github.com/rest/commits/statuses#get-the-combined-status-for-a-specific-reference)
    with the check runs beside the statuses; None while pending or without any CI. Only the
    latest run of each check (per app and name) counts: a re-run replaces its earlier try, as
    the check-runs list's default `filter=latest` shows them
    (docs.github.com/rest/checks/runs#list-check-runs-for-a-git-reference)."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for suite in pr.get("checkSuites") or []:
        for run in suite["checkRuns"]:
            key = (suite["app"]["name"], run["name"])
            if key not in latest or run["databaseId"] > latest[key]["databaseId"]:
                latest[key] = run
    runs = list(latest.values())
    states = {status["state"] for status in pr.get("statusContexts") or []}
    if not runs and not states:
        return None
    if states & {"FAILURE", "ERROR"} or any(r["conclusion"] in _RUN_FAILING for r in runs):
        return False
    if states - {"SUCCESS"} or any(
        r["status"] != "COMPLETED" or r["conclusion"] not in _RUN_PASSING for r in runs
    ):
        return None
    return True


@pytest.mark.parametrize("ci", ["checks", "statuses", "both"])
def test_status_only_check_only_and_mixed_repos_give_the_merge_box_ci_value(
    fakehub_factory, team, ci
):
    hub = fakehub_factory()
    repo = f"acme/{ci}"
    hub.add_synthetic(repo, 80, seed=3, ci=ci)
    tracked = TrackedRepository.objects.create(team=team, full_name=repo)
    result = sync_repository(tracked, client_for(hub), repoll=False)
    assert (result.status, result.error) == ("ok", "")

    expected = {n: merge_box(hub.get_pr(repo, n)) for n in range(1, 81)}
    got = dict(
        PullRequest.objects.filter(github_repo=repo).values_list("github_pr_id", "ci_passed")
    )
    assert got == expected
    assert {True, False, None} <= set(got.values())  # every outcome occurs: the check can fail

    runs = PRCheckRun.objects.filter(pull_request__github_repo=repo).count()
    statuses = PRStatusContext.objects.filter(pull_request__github_repo=repo)
    served = sum(len(hub.get_pr(repo, n).get("statusContexts") or []) for n in range(1, 81))
    assert statuses.count() == served
    if ci == "checks":
        assert runs > 0 and served == 0
        # A flaky check passed on re-run: its failed try is in the data, yet CI passed.
        assert any(
            got[n] is True
            and any(
                run["conclusion"] in _RUN_FAILING
                for suite in hub.get_pr(repo, n)["checkSuites"]
                for run in suite["checkRuns"]
            )
            for n in got
        )
    elif ci == "statuses":
        assert runs == 0 and served > 0
    else:
        assert runs > 0 and served > 0
        mixed = PullRequest.objects.filter(
            github_repo=repo, check_runs__isnull=False, status_contexts__isnull=False
        ).distinct()
        assert mixed.exists()
    if served:
        one = statuses.select_related("pull_request").first()
        head = hub.get_pr(repo, one.pull_request.github_pr_id)["commits"][-1]["oid"]
        assert one.commit_sha == head and one.target_url.startswith("https://")

    # A full re-sync upserts: same rows, same values.
    before = sorted(statuses.values_list("pull_request_id", "context", "state", "commit_sha"))
    sync_repository(tracked, client_for(hub), full=True, repoll=False)
    after = sorted(statuses.values_list("pull_request_id", "context", "state", "commit_sha"))
    assert after == before


def test_a_status_that_turns_green_updates_its_row_and_a_vanished_one_is_deleted():
    team = Team.objects.create(name="Solo", slug="solo")
    red = FetchedStatusContext("ci/circleci", "failure", "Tests failed", commit_sha="c2")
    old = FetchedStatusContext("ci/legacy", "success", commit_sha="c2")
    save_pull_requests(team, [make_pr(1, status_contexts=(red, old))])
    assert PullRequest.objects.get().ci_passed is False
    green = FetchedStatusContext("ci/circleci", "success", "Tests passed", commit_sha="c3")
    save_pull_requests(team, [make_pr(1, status_contexts=(green,))])
    rows = list(
        PRStatusContext.objects.values_list("context", "state", "description", "commit_sha")
    )
    assert rows == [("ci/circleci", "success", "Tests passed", "c3")]
    assert PullRequest.objects.get().ci_passed is True


def test_a_3500_file_pr_stores_3000_files_and_is_marked_incomplete(fakehub_factory, team, client):
    hub = fakehub_factory(synthetic=[("acme/big", 4)])
    files = [
        {"path": f"src/gen/file_{i:04}.py", "additions": 1, "deletions": 0, "changeType": "ADDED"}
        for i in range(3500)
    ]
    hub.upsert_pr("acme/big", {"number": 2, "files": files})
    tracked = TrackedRepository.objects.create(team=team, full_name="acme/big")
    result = sync_repository(tracked, client_for(hub), repoll=False)
    assert (result.status, result.error) == ("ok", "")

    big = PullRequest.objects.get(github_repo="acme/big", github_pr_id=2)
    assert big.changed_files == 3500
    assert PRFile.objects.filter(pull_request=big).count() == 3000
    assert (big.files_complete, big.commits_complete) == (False, True)
    others = PullRequest.objects.filter(github_repo="acme/big").exclude(pk=big.pk)
    assert others.count() == 3 and all(pr.files_complete for pr in others)

    # The dashboard's PR list and `pr_metrics` say so.
    client.force_login(User.objects.create_user("viewer", password="x"))
    page = client.get(f"/teams/{team.slug}/prs/?weeks=26").content.decode()
    assert page.count(">truncated</span>") == 1
    PullRequest.objects.filter(pk=big.pk).update(merged_at=timezone.now() - timedelta(hours=1))
    out = StringIO()
    call_command("pr_metrics", "--team", team.slug, "--weeks", "2", stdout=out)
    assert "acme/big#2" in out.getvalue() and "3,000 files" in out.getvalue()


def test_a_repo_whose_checks_are_forbidden_syncs_the_rest_shows_ci_unknown_and_warns_once(
    fakehub_factory, team, caplog, client
):
    forbidden = {"rules": [{"fault": "field_forbidden", "field": "statusCheckRollup"}]}
    hub = fakehub_factory(synthetic=[("acme/rocket", 40)], faults=forbidden)
    clean = fakehub_factory(synthetic=[("acme/rocket", 40)])
    tracked = TrackedRepository.objects.create(team=team, full_name="acme/rocket")
    caplog.set_level(logging.WARNING)

    github = client_for(hub)
    result = sync_repository(tracked, github, repoll=False)
    assert (result.status, result.error, result.prs_saved) == ("ok", "", 40)
    # Not retried, no PR re-fetched alone: exactly the requests of the same sync without the fault.
    reference = client_for(clean)
    other_team = Team.objects.create(name="Ref", slug="ref")
    sync_repository(
        TrackedRepository.objects.create(team=other_team, full_name="acme/rocket"),
        reference,
        repoll=False,
    )
    assert github.stats.graphql_requests == reference.stats.graphql_requests
    assert github.stats.retries == 0

    prs = PullRequest.objects.filter(team=team)
    assert prs.count() == 40
    assert not prs.filter(ci_passed__isnull=False).exists()  # unknown, never "passed" or 0 %
    assert not PRCheckRun.objects.filter(pull_request__team=team).exists()
    assert PRFile.objects.filter(pull_request__team=team).count() > 40  # the rest is there
    assert prs.exclude(reviews=None).exists() and prs.exclude(commits=None).exists()
    ref_ci = PullRequest.objects.filter(team=other_team, ci_passed__isnull=False)
    assert ref_ci.exists()  # the same data with the permission does have CI

    tracked.refresh_from_db()
    assert tracked.unavailable_fields == ["statusCheckRollup"]
    assert tracked.status == "ok" and tracked.next_sync_after > timezone.now() + timedelta(
        minutes=10
    )  # the normal interval, not a failure's quick retry

    # Later rounds with changed PRs meet the same refusal: no new warning, still no error.
    for round_number in range(2):
        hub.upsert_pr(
            "acme/rocket", {"number": 40 - round_number, "title": f"Round {round_number}"}
        )
        again = sync_repository(tracked, client_for(hub), repoll=False)
        assert (again.status, again.error, again.mode) == ("ok", "", "incremental")
        assert again.prs_saved >= 1
    warnings = [r.getMessage() for r in caplog.records if "refuses this token" in r.getMessage()]
    assert len(warnings) == 1
    assert "acme/rocket" in warnings[0] and "Checks: read" in warnings[0]
    assert "Commit statuses: read" in warnings[0]

    # The sync status page says what is missing and what to grant.
    client.force_login(User.objects.create_user("viewer", password="x"))
    page = client.get("/sync/").content.decode()
    assert "no access: statusCheckRollup" in page and "grant Checks: read" in page


def test_a_pat_missing_a_scope_gets_the_field_unknown_and_the_scope_named(
    fakehub_factory, team, caplog
):
    hub = fakehub_factory(
        synthetic=[("acme/rocket", 30)], missing_scopes={TOKEN: ["closingIssuesReferences"]}
    )
    tracked = TrackedRepository.objects.create(team=team, full_name="acme/rocket")
    caplog.set_level(logging.WARNING)
    result = sync_repository(tracked, client_for(hub), repoll=False)
    assert (result.status, result.error, result.prs_saved) == ("ok", "", 30)
    tracked.refresh_from_db()
    assert tracked.unavailable_fields == ["closingIssuesReferences"]
    assert PullRequest.objects.filter(ci_passed__isnull=False).exists()  # CI is unaffected
    (warning,) = [r.getMessage() for r in caplog.records if "refuses this token" in r.getMessage()]
    assert "Issues: read" in warning

    # Another token, with the scope: the field comes back and is forgotten.
    hub.server.missing_scopes.clear()
    hub.upsert_pr(
        "acme/rocket", {"number": 30, "closingIssuesReferences": [{"number": 77, "title": "Bug"}]}
    )
    sync_repository(tracked, client_for(hub), repoll=False)
    tracked.refresh_from_db()
    assert tracked.unavailable_fields == []
    assert PullRequest.objects.get(github_pr_id=30).linked_issues == [77]


def test_a_seed_names_the_refused_permission_once_and_a_refill_from_its_cache_remembers_it(
    fakehub_factory, settings, tmp_path
):
    forbidden = {"rules": [{"fault": "field_forbidden", "field": "statusCheckRollup"}]}
    hub = fakehub_factory(synthetic=[("acme/rocket", 30)], faults=forbidden)
    settings.GITHUB_API_URL = hub.url
    settings.GITHUB_TOKEN = TOKEN
    settings.GITHUB_SEEDING_TOKENS = []
    settings.SEEDING_CACHE_DIR = tmp_path / "cache"

    def seed(*extra: str) -> str:
        out = StringIO()
        args = ("--repo", "acme/rocket", "--team-slug", "rocket", *extra)
        call_command("seed_real_projects", *args, stdout=out, stderr=StringIO())
        return out.getvalue()

    first = seed()
    assert first.count("refuses this token") == 1 and "Checks: read" in first
    tracked = TrackedRepository.objects.get(full_name="acme/rocket")
    assert tracked.unavailable_fields == ["statusCheckRollup"]
    assert PullRequest.objects.count() == 30
    assert not PullRequest.objects.filter(ci_passed__isnull=False).exists()

    hub.reset_stats()
    refill = seed("--clear")  # the database again, from the cache: no GraphQL point
    assert hub.stats()["graphql_points"] == 0
    tracked = TrackedRepository.objects.get(full_name="acme/rocket")
    assert tracked.unavailable_fields == ["statusCheckRollup"]
    assert PullRequest.objects.count() == 30
    assert refill.count("refuses this token") == 1  # a new tracked row is told again
