"""track_repository and sync_repositories, and the Celery tasks in eager mode (no broker)."""

from __future__ import annotations

import logging
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from apps.metrics.models import PullRequest, Team, TrackedRepository
from apps.metrics.tasks import sync_all_repositories_task, sync_repository_task

pytestmark = pytest.mark.django_db

TOKEN = "ghp_command_tests_token"


@pytest.fixture
def hub(fakehub_factory, settings):
    hub = fakehub_factory(synthetic=[("acme/rocket", 12), ("acme/engine", 8)])
    settings.GITHUB_API_URL = hub.url
    settings.GITHUB_TOKEN = TOKEN
    settings.GITHUB_APP_ID = ""
    settings.REDIS_URL = ""
    return hub


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


def test_track_repository_adds_repositories_to_an_existing_team():
    Team.objects.create(name="Acme", slug="acme")
    out = run("track_repository", "acme/rocket", "acme/engine", "--team", "acme")
    assert "2 repositories now tracked" in out
    assert sorted(TrackedRepository.objects.values_list("full_name", flat=True)) == [
        "acme/engine",
        "acme/rocket",
    ]
    assert "1 already tracked" in run("track_repository", "Acme/Rocket", "--team", "acme")


def test_track_repository_refuses_an_unknown_team_unless_asked_to_create_it():
    with pytest.raises(CommandError, match="--create-team"):
        run("track_repository", "acme/rocket", "--team", "nobody")
    assert not TrackedRepository.objects.exists()
    run("track_repository", "acme/rocket", "--team", "newco", "--create-team")
    assert TrackedRepository.objects.get().team.slug == "newco"


@pytest.mark.parametrize("name", ["rocket", "acme/", "/rocket", "a/b/c", "acme/..", "ac me/x"])
def test_track_repository_refuses_what_is_not_owner_slash_name(name):
    Team.objects.create(name="Acme", slug="acme")
    with pytest.raises(CommandError, match="not an OWNER/NAME"):
        run("track_repository", name, "--team", "acme")


def test_sync_repositories_syncs_every_tracked_repository_in_one_process(hub):
    run("track_repository", "acme/rocket", "acme/engine", "--team", "acme", "--create-team")
    out = run("sync_repositories")
    assert "synced 2 of 2 repositories, 20 PRs written" in out
    assert PullRequest.objects.count() == 20
    again = run("sync_repositories", "--repo", "acme/rocket")
    assert "acme/rocket: unchanged, 0 PRs saved" in again


def test_an_unchanged_round_with_ci_still_running_costs_one_free_request_per_repository(hub):
    # CI still running on a few PRs of each: the round's walk has just looked at them, so the
    # next round has nothing to re-poll yet and nothing changed: one 304 each, no point.
    for repo, numbers in (("acme/rocket", (2, 9)), ("acme/engine", (4,))):
        for number in numbers:
            hub.upsert_pr(repo, {"number": number, "title": f"CI running {number}"})
            hub.set_check_suites(
                repo,
                number,
                [
                    {
                        "app": {"name": "CI"},
                        "checkRuns": [
                            {
                                "databaseId": 7000 + number,
                                "name": "tests",
                                "status": "IN_PROGRESS",
                                "conclusion": None,
                                "startedAt": "2030-01-01T00:00:00Z",
                                "completedAt": None,
                            }
                        ],
                    }
                ],
            )
    run("track_repository", "acme/rocket", "acme/engine", "--team", "acme", "--create-team")
    run("sync_repositories")
    hub.reset_stats()

    out = run("sync_repositories")

    stats = hub.stats()
    assert "acme/rocket: unchanged" in out and "acme/engine: unchanged" in out
    assert (stats["requests"], stats["not_modified"], stats["graphql_points"]) == (2, 2, 0)


def test_sync_repositories_due_only_skips_repositories_synced_recently(hub):
    run("track_repository", "acme/rocket", "acme/engine", "--team", "acme", "--create-team")
    run("sync_repositories", "--repo", "acme/rocket")
    out = run("sync_repositories", "--due-only")
    assert "synced 1 of 1 repositories" in out
    assert "engine" in out


def test_sync_repositories_names_an_unmatched_filter_in_one_line(hub):
    with pytest.raises(CommandError, match="no active tracked repository matches"):
        run("sync_repositories", "--team", "nobody")


def test_sync_repositories_without_a_token_says_which_setting_to_set(hub, settings):
    settings.GITHUB_TOKEN = ""
    settings.GITHUB_SEEDING_TOKENS = []
    run("track_repository", "acme/rocket", "--team", "acme", "--create-team")
    with pytest.raises(CommandError, match="GITHUB_TOKEN"):
        run("sync_repositories")


def test_a_repository_that_fails_is_reported_and_the_round_goes_on(hub):
    run("track_repository", "acme/missing", "acme/rocket", "--team", "acme", "--create-team")
    with pytest.raises(CommandError, match="1 failed"):
        run("sync_repositories")
    assert PullRequest.objects.filter(github_repo="acme/rocket").count() == 12


def test_eager_sync_all_runs_the_due_repositories_and_schedules_the_next_round(hub, settings):
    run("track_repository", "acme/rocket", "acme/engine", "--team", "acme", "--create-team")
    later = timezone.now() + timedelta(hours=1)
    TrackedRepository.objects.filter(full_name="acme/engine").update(next_sync_after=later)
    assert sync_all_repositories_task.delay().get() == {"enqueued": 1}
    rocket = TrackedRepository.objects.get(full_name="acme/rocket")
    assert rocket.status == "ok"
    assert rocket.next_sync_after >= timezone.now() + timedelta(
        seconds=settings.SYNC_INTERVAL_SECONDS - 60
    )
    assert not PullRequest.objects.filter(github_repo="acme/engine").exists()


def test_an_eager_task_that_hits_the_rate_limit_reports_when_to_come_back(
    fakehub_factory, settings
):
    hub = fakehub_factory(synthetic=[("acme/rocket", 60)], graphql_points=3, reset_seconds=3600)
    settings.GITHUB_API_URL = hub.url
    settings.GITHUB_TOKEN = TOKEN
    settings.REDIS_URL = ""
    run("track_repository", "acme/rocket", "--team", "acme", "--create-team")
    tracked = TrackedRepository.objects.get()
    outcome = sync_repository_task.delay(tracked.pk).get()
    assert outcome["rate_limited"] == "acme/rocket"
    assert outcome["retry_in"] > 0
    tracked.refresh_from_db()
    assert tracked.status == "rate_limited"
    assert hub.stats()["requests_while_limited"] == 0


def test_beat_runs_sync_all_every_sync_interval(settings):
    from config.celery import app

    app.finalize()
    entry = app.conf.beat_schedule["sync all tracked repositories"]
    assert entry["task"] == "apps.metrics.tasks.sync_all_repositories_task"
    assert entry["schedule"] == float(settings.SYNC_INTERVAL_SECONDS)


def test_due_only_with_nothing_due_says_which_repository_is_next_and_when(hub):
    run("track_repository", "acme/rocket", "acme/engine", "--team", "acme", "--create-team")
    run("sync_repositories")
    later = timezone.now() + timedelta(minutes=10)
    TrackedRepository.objects.filter(full_name="acme/engine").update(next_sync_after=later)
    hub.reset_stats()

    out = run("sync_repositories", "--due-only")

    assert out.startswith("nothing due: 2 active tracked repositories, none due yet; the next ")
    assert f"is acme/engine (team acme), due {later:%Y-%m-%d %H:%M:%S} UTC (in 9 min)" in out
    assert "run without --due-only to sync now" in out
    assert hub.stats()["requests"] == 0


def task_log_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "apps.metrics.tasks"]


def test_a_sync_task_logs_which_repository_it_synced_and_how_many_prs(hub, caplog, settings):
    settings.SYNC_BATCH = False
    run("track_repository", "acme/rocket", "acme/engine", "--team", "acme", "--create-team")
    rocket = TrackedRepository.objects.get(full_name="acme/rocket")

    with caplog.at_level(logging.INFO, logger="apps.metrics.tasks"):
        sync_repository_task.delay(rocket.pk).get()
        sync_all_repositories_task.delay().get()  # acme/engine is due, acme/rocket is not

    lines = task_log_lines(caplog)
    assert "acme/rocket (team acme): sync started (schedule)" in lines
    assert any(
        line.startswith("acme/rocket (team acme): synced (schedule): full, 12 PRs saved")
        for line in lines
    ), lines
    assert "sync round: 1 due repositories enqueued" in lines
    assert any(
        line.startswith("acme/engine (team acme): synced (schedule): full, 8 PRs saved")
        for line in lines
    ), lines


def test_a_round_task_logs_each_repository_it_synced_and_what_the_round_cost(hub, caplog, settings):
    settings.SYNC_BATCH = True
    run("track_repository", "acme/rocket", "acme/engine", "--team", "acme", "--create-team")
    hub.reset_stats()

    with caplog.at_level(logging.INFO, logger="apps.metrics.tasks"):
        sync_all_repositories_task.delay().get()
        cost = hub.stats()
        sync_all_repositories_task.delay().get()  # both synced: nothing due

    lines = task_log_lines(caplog)
    assert lines[:2] == [
        "sync round: 2 due repositories enqueued in 1 round tasks",
        "round task: 2 repositories, sync started (schedule)",
    ]
    for name, prs in (("acme/rocket", 12), ("acme/engine", 8)):
        assert any(
            line.startswith(f"{name} (team acme): synced (schedule): full, {prs} PRs saved")
            for line in lines
        ), lines
    assert (
        "round task: 2 of 2 repositories synced (0 unchanged, 0 failed, 0 busy), 20 PRs saved, "
        f"{cost['requests']} requests, {cost['graphql_points']} points"
    ) in lines
    assert lines[-1] == "sync round: 0 due repositories enqueued in 0 round tasks"


def test_seeding_and_sync_pick_their_token_by_one_rule(fakehub_factory, settings, tmp_path):
    # GITHUB_SEEDING_TOKENS is preferred over GITHUB_TOKEN by both (apps/metrics/sync/github.py);
    # this fakehub refuses GITHUB_TOKEN, so either command taking it would fail.
    hub = fakehub_factory(synthetic=[("acme/rocket", 12)], tokens=["ghp_pool_a", "ghp_pool_b"])
    settings.GITHUB_API_URL = hub.url
    settings.GITHUB_TOKEN = "ghp_refused_here"
    settings.GITHUB_SEEDING_TOKENS = ["ghp_pool_a", "ghp_pool_b"]
    settings.GITHUB_APP_ID = ""
    settings.REDIS_URL = ""
    settings.SEEDING_CACHE_DIR = str(tmp_path)

    run("seed_real_projects", "--repo", "acme/rocket", "--team-slug", "acme")
    out = run("sync_repositories")

    assert "acme/rocket: unchanged" in out
    assert PullRequest.objects.filter(github_repo="acme/rocket").count() == 12
    assert hub.stats()["statuses"].get("401") is None
