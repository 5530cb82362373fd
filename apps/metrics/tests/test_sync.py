"""sync_repository against fakehub and the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from apps.integrations.github.client import GitHubGraphQLClient
from apps.integrations.github.clock import InstantClock
from apps.integrations.github.coordination import LocalCoordinator
from apps.integrations.github.errors import RateLimited
from apps.integrations.github.github_app import GitHubAppInstallation
from apps.metrics.models import PRCheckRun, PullRequest, Team, TrackedRepository
from apps.metrics.sync.ci_repoll import (
    REPOLL_MAX_INTERVAL,
    REPOLL_MIN_INTERVAL,
    ci_repoll_due,
    due_ci_numbers,
)
from apps.metrics.sync.locks import REPO_LOCK_TTL_SECONDS, RepositoryBusy, repository_lock
from apps.metrics.sync.run import sync_repository

pytestmark = pytest.mark.django_db

TOKEN = "ghp_sync_tests_token"
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(autouse=True)
def _no_redis(settings) -> None:
    """The DB lock by default; tests of the Redis lock turn it on themselves."""
    settings.REDIS_URL = ""


@pytest.fixture
def team() -> Team:
    return Team.objects.create(name="Acme", slug="acme")


def track(team: Team, full_name: str = "acme/rocket") -> TrackedRepository:
    return TrackedRepository.objects.create(team=team, full_name=full_name)


def client_for(hub, **options) -> GitHubGraphQLClient:
    options.setdefault("coordinator", LocalCoordinator())
    return GitHubGraphQLClient(TOKEN, base_url=hub.url, **options)


def stored(full_name: str = "acme/rocket") -> int:
    return PullRequest.objects.filter(github_repo=full_name).count()


def test_a_first_sync_saves_every_pull_request_and_closes_its_walk(fakehub_factory, team):
    hub = fakehub_factory(synthetic=[("acme/rocket", 60)])
    tracked = track(team)
    result = sync_repository(tracked, client_for(hub))
    assert (result.mode, result.status, result.error) == ("full", "ok", "")
    assert stored() == 60 == result.prs_saved
    tracked.refresh_from_db()
    assert tracked.checkpoint is None
    assert tracked.watermark is not None
    assert tracked.etag
    assert tracked.last_synced_at is not None
    assert tracked.next_sync_after > timezone.now()


def test_a_sync_with_nothing_changed_asks_once_and_spends_no_graphql_point(fakehub_factory, team):
    hub = fakehub_factory(synthetic=[("acme/rocket", 30)])
    tracked = track(team)
    sync_repository(tracked, client_for(hub), repoll=False)
    hub.reset_stats()
    result = sync_repository(tracked, client_for(hub), repoll=False)
    stats = hub.stats()
    assert result.mode == "unchanged"
    assert (stats["requests"], stats["not_modified"], stats["graphql_points"]) == (1, 1, 0)


def test_only_pull_requests_updated_since_the_last_sync_are_fetched(fakehub_factory, team):
    hub = fakehub_factory(synthetic=[("acme/rocket", 80)])
    tracked = track(team)
    sync_repository(tracked, client_for(hub), repoll=False)
    hub.upsert_pr("acme/rocket", {"number": 3, "title": "Renamed while tracked"})
    hub.upsert_pr("acme/rocket", {"number": 81, "title": "Brand new"})
    hub.reset_stats()
    result = sync_repository(tracked, client_for(hub), repoll=False)
    assert result.mode == "incremental"
    # The probe, then one page holding both (and any PR inside the overlap).
    assert hub.stats()["requests"] == 2
    assert PullRequest.objects.get(github_pr_id=3).title == "Renamed while tracked"
    assert stored() == 81


def _suite(status: str, conclusion: str | None) -> list[dict]:
    run = {
        "databaseId": 990001,
        "name": "tests",
        "status": status,
        "conclusion": conclusion,
        "startedAt": "2030-01-01T00:00:00Z",
        "completedAt": "2030-01-01T00:05:00Z" if status == "COMPLETED" else None,
    }
    return [{"app": {"name": "GitHub Actions"}, "conclusion": conclusion, "checkRuns": [run]}]


# Past the first re-poll wait of a PR fetched right after its update (fakehub gives each
# upsert its own second, so the newest may sit a few seconds ahead of the wall clock).
FIRST_WAIT = REPOLL_MIN_INTERVAL.total_seconds() + 60


def pending_ci_numbers(tracked: TrackedRepository) -> list[int]:
    """The PRs the re-poll holds as CI still running: those due once the longest wait passed."""
    return due_ci_numbers(tracked, timezone.now() + REPOLL_MAX_INTERVAL)


def test_ci_finishing_after_the_last_update_is_picked_up_by_the_next_sync(fakehub_factory, team):
    hub = fakehub_factory(synthetic=[("acme/rocket", 10)])
    tracked = track(team)
    clock = InstantClock()
    sync_repository(tracked, client_for(hub, clock=clock))
    hub.upsert_pr("acme/rocket", {"number": 4, "title": "CI running"})
    hub.set_check_suites("acme/rocket", 4, _suite("IN_PROGRESS", None))
    sync_repository(tracked, client_for(hub, clock=clock))
    run = PRCheckRun.objects.get(pull_request__github_pr_id=4, github_check_run_id=990001)
    assert run.status == "in_progress"
    assert 4 in pending_ci_numbers(tracked)

    hub.set_check_suites("acme/rocket", 4, _suite("COMPLETED", "SUCCESS"))  # updatedAt unmoved
    clock.advance(FIRST_WAIT)
    result = sync_repository(tracked, client_for(hub, clock=clock))
    run.refresh_from_db()
    assert (run.status, run.conclusion) == ("completed", "success")
    assert result.repolled >= 1
    assert 4 not in pending_ci_numbers(tracked)


def test_the_ci_re_poll_skips_prs_outside_its_window(fakehub_factory, team):
    hub = fakehub_factory(synthetic=[("acme/rocket", 10)])
    tracked = track(team)
    hub.upsert_pr("acme/rocket", {"number": 2, "title": "CI running"})
    hub.set_check_suites("acme/rocket", 2, _suite("QUEUED", None))
    sync_repository(tracked, client_for(hub))
    assert 2 in pending_ci_numbers(tracked)
    PullRequest.objects.filter(github_pr_id=2).update(
        pr_updated_at=timezone.now() - timedelta(days=30)
    )
    assert 2 not in pending_ci_numbers(tracked)


def test_re_polled_prs_come_in_batches_not_one_request_each(fakehub_factory, team):
    hub = fakehub_factory(synthetic=[("acme/rocket", 12)])
    tracked = track(team)
    for number in range(1, 13):
        hub.upsert_pr("acme/rocket", {"number": number, "title": f"busy {number}"})
        hub.set_check_suites("acme/rocket", number, _suite("IN_PROGRESS", None))
    sync_repository(tracked, client_for(hub), repoll=False)
    hub.reset_stats()
    clock = InstantClock()
    clock.advance(FIRST_WAIT)
    result = sync_repository(tracked, client_for(hub, clock=clock))
    assert result.repolled == 12
    # The free 304 probe, then 12 PRs in ceil(12 / 10) aliased requests.
    assert hub.stats()["graphql_requests"] == 2


def test_an_unchanged_round_with_no_re_poll_due_costs_one_request_and_no_point(
    fakehub_factory, team
):
    hub = fakehub_factory(synthetic=[("acme/rocket", 40)])
    tracked = track(team)
    for number in (3, 7, 11):
        hub.upsert_pr("acme/rocket", {"number": number, "title": f"busy {number}"})
        hub.set_check_suites("acme/rocket", number, _suite("IN_PROGRESS", None))
    clock = InstantClock()
    sync_repository(tracked, client_for(hub, clock=clock))
    assert sorted(pending_ci_numbers(tracked)) == [3, 7, 11]
    hub.reset_stats()

    clock.advance(REPOLL_MIN_INTERVAL.total_seconds() - 30)  # the walk fetched them just now
    result = sync_repository(tracked, client_for(hub, clock=clock))

    stats = hub.stats()
    assert (result.mode, result.repolled) == ("unchanged", 0)
    assert (stats["requests"], stats["not_modified"], stats["graphql_points"]) == (1, 1, 0)


def test_a_pr_whose_ci_keeps_running_is_re_polled_less_and_less_often(fakehub_factory, team):
    hub = fakehub_factory(synthetic=[("acme/rocket", 10)])
    tracked = track(team)
    clock = InstantClock()  # before the update: the rounds below fall at whole minutes after it
    hub.upsert_pr("acme/rocket", {"number": 6, "title": "CI stuck"})
    hub.set_check_suites("acme/rocket", 6, _suite("IN_PROGRESS", None))
    sync_repository(tracked, client_for(hub, clock=clock))
    polled_at: list[float] = []
    # A round every virtual minute for an hour: when is #6 asked for again?
    for minute in range(1, 61):
        clock.advance(60)
        if sync_repository(tracked, client_for(hub, clock=clock)).repolled:
            polled_at.append(minute)

    # Minutes after the update: the first wait is the minimum, then each re-poll waits as long
    # as the PR had gone unchanged (the time since its update doubles), until the cap.
    assert polled_at[0] in (5, 6)
    assert len(polled_at) == 4  # 60 rounds, 4 re-polls: about 6, 12, 24 and 48 minutes in
    for earlier, later in zip(polled_at, polled_at[1:], strict=False):
        # Whole-minute rounds against an update time to the second: one minute either way.
        assert 2 * earlier - 1 <= later <= 2 * earlier + 1


def test_the_re_poll_wait_starts_at_the_minimum_and_stops_growing_at_the_cap():
    updated = timezone.now()
    fresh = updated + timedelta(seconds=10)
    assert not ci_repoll_due(updated, fresh, fresh + REPOLL_MIN_INTERVAL - timedelta(seconds=11))
    assert ci_repoll_due(updated, fresh, fresh + REPOLL_MIN_INTERVAL)
    stale = updated + timedelta(days=2)  # fetched long after its last update: the cap applies
    assert not ci_repoll_due(updated, stale, stale + REPOLL_MAX_INTERVAL - timedelta(seconds=1))
    assert ci_repoll_due(updated, stale, stale + REPOLL_MAX_INTERVAL)
    assert ci_repoll_due(updated, None, updated + REPOLL_MIN_INTERVAL)  # never fetched since


def test_a_re_polled_pr_without_a_stored_node_id_is_fetched_by_number(fakehub_factory, team):
    hub = fakehub_factory(synthetic=[("acme/rocket", 6)])
    tracked = track(team)
    for number in (2, 5):
        hub.upsert_pr("acme/rocket", {"number": number, "title": f"busy {number}"})
        hub.set_check_suites("acme/rocket", number, _suite("IN_PROGRESS", None))
    sync_repository(tracked, client_for(hub), repoll=False)
    PullRequest.objects.filter(github_pr_id=5).update(github_node_id="")
    for number in (2, 5):
        hub.set_check_suites("acme/rocket", number, _suite("COMPLETED", "SUCCESS"))
    hub.reset_stats()
    clock = InstantClock()
    clock.advance(FIRST_WAIT)
    result = sync_repository(tracked, client_for(hub, clock=clock))
    assert result.repolled == 2
    # #2 by node id, #5 by number: two GraphQL requests after the free probe.
    assert hub.stats()["graphql_requests"] == 2
    assert pending_ci_numbers(tracked) == []
    assert PullRequest.objects.get(github_pr_id=5).github_node_id


def test_a_rate_limited_sync_keeps_its_pages_and_the_next_one_resumes(fakehub_factory, team):
    hub = fakehub_factory(synthetic=[("acme/rocket", 120)], graphql_points=6, reset_seconds=3600)
    tracked = track(team)
    TrackedRepository.objects.filter(pk=tracked.pk).update(page_size=10)
    tracked.refresh_from_db()
    with pytest.raises(RateLimited):
        sync_repository(tracked, client_for(hub, on_limit="stop"))
    tracked.refresh_from_db()
    assert tracked.status == TrackedRepository.Status.RATE_LIMITED
    assert tracked.next_sync_after > timezone.now()
    assert tracked.checkpoint is not None
    saved = stored()
    assert 0 < saved < 120
    assert hub.stats()["requests_while_limited"] == 0

    hub.set_limits(graphql_points=5000)  # GitHub's reset: a fresh window
    result = sync_repository(tracked, client_for(hub, on_limit="stop"))
    assert result.status == "ok"
    assert stored() == 120
    assert hub.stats()["requests_while_limited"] == 0


def test_a_repository_being_synced_is_not_synced_twice_at_once(fakehub, team):
    tracked = track(team)
    with repository_lock(tracked), pytest.raises(RepositoryBusy):
        sync_repository(tracked, client_for(fakehub))
    assert fakehub.stats()["requests"] == 0


def test_the_lock_of_a_sync_that_died_lapses(fakehub_factory, team):
    hub = fakehub_factory(synthetic=[("acme/rocket", 5)])
    tracked = track(team)
    long_ago = timezone.now() - timedelta(seconds=REPO_LOCK_TTL_SECONDS + 60)
    TrackedRepository.objects.filter(pk=tracked.pk).update(status="running", updated_at=long_ago)
    assert sync_repository(tracked, client_for(hub)).status == "ok"


@pytest.fixture
def redis_settings(settings) -> Iterator[str]:
    conn = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        conn.ping()
    except redis.ConnectionError:
        # Never a skip: a skipped lock test proves nothing (.ci/run starts Redis).
        pytest.fail(
            f"Redis at {REDIS_TEST_URL} is unreachable; start it with `redis-server"
            " --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no`"
        )
    # Remove only the keys this test created: another suite may share the Redis database.
    before = set(conn.scan_iter("prharvest:*"))
    settings.REDIS_URL = REDIS_TEST_URL
    yield REDIS_TEST_URL
    created = set(conn.scan_iter("prharvest:*")) - before
    if created:
        conn.delete(*created)


@pytest.mark.redis
def test_with_redis_the_repository_lock_is_held_across_processes(fakehub, team, redis_settings):
    tracked = track(team)
    with repository_lock(tracked):
        assert redis.Redis.from_url(redis_settings).exists(f"prharvest:repo-sync:{tracked.pk}")
        with pytest.raises(RepositoryBusy):
            sync_repository(tracked, client_for(fakehub))
    assert not redis.Redis.from_url(redis_settings).exists(f"prharvest:repo-sync:{tracked.pk}")


def test_a_pat_from_the_settings_is_enough(fakehub_factory, team, settings):
    hub = fakehub_factory(synthetic=[("acme/rocket", 7)])
    settings.GITHUB_API_URL = hub.url
    settings.GITHUB_TOKEN = TOKEN
    settings.GITHUB_APP_ID = ""
    assert sync_repository(track(team)).status == "ok"
    assert stored() == 7


def test_an_unknown_repository_is_recorded_as_failed_in_one_line(fakehub, team):
    tracked = track(team, "acme/nowhere")
    result = sync_repository(tracked, client_for(fakehub))
    tracked.refresh_from_db()
    assert tracked.status == "failed"
    assert "acme/nowhere" in tracked.last_error
    assert "\n" not in result.error
    assert TOKEN not in result.error


class _ExpireAfter:
    """Client listener: after `n` requests, jump fakehub's clock past its token lifetime."""

    def __init__(self, n: int, offset: list[float]) -> None:
        self.n, self.offset, self.seen, self.jumped = n, offset, 0, False

    def on_request(self, info) -> None:
        self.seen += 1
        if self.seen == self.n and not self.jumped:
            self.jumped = True
            # Past the token's 300 s, still inside the app JWT's 9 minutes.
            self.offset[0] += 400


def test_an_installation_token_expiring_mid_sync_is_renewed_without_losing_a_page(
    fakehub_factory, team
):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    offset = [0.0]
    hub = fakehub_factory(
        synthetic=[("acme/rocket", 100)],
        app_public_key=public,
        installation_token_seconds=300,
        clock=lambda: time.time() + offset[0],
    )
    source = GitHubAppInstallation(1, pem, 2, hub.url)
    listener = _ExpireAfter(3, offset)
    tracked = track(team)
    TrackedRepository.objects.filter(pk=tracked.pk).update(page_size=10)
    tracked.refresh_from_db()
    client = GitHubGraphQLClient(
        source, base_url=hub.url, coordinator=LocalCoordinator(), listener=listener
    )
    result = sync_repository(tracked, client, repoll=False)
    assert listener.jumped
    assert result.error == ""
    assert result.status == "ok"
    assert source.tokens_fetched == 2
    assert hub.stats()["statuses"].get("401") == 1
    assert stored() == 100
