"""A seed stopped at any point resumes and ends with exactly the rows of an undisturbed seed.

Stops covered: GitHub's primary limit with `on_limit="stop"`, a stop request after a page (what
Ctrl-C sets), an interrupted incremental walk, SIGINT to the real command, and SIGKILL at
random points of the real command in a subprocess. Each run is compared with an undisturbed
seed of the same fakehub; re-fetches are counted from fakehub's own accounting.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from apps.integrations.services.clock import InstantClock
from apps.integrations.services.errors import RateLimited
from apps.metrics.models import PullRequest, Team, TrackedRepository
from apps.metrics.seeding.walk import new_walk, open_walk, walk_repository
from apps.metrics.tests.seed_support import (
    make_client,
    make_fetcher,
    seed,
    snapshot,
    snapshot_sqlite,
)
from fakehub.control import FakeHubControl
from fakehub.testing import start_fakehub_process

ROOT = Path(__file__).resolve().parents[3]
REPO = "acme/rocket"


@pytest.mark.django_db
def test_it_resumes_after_the_rate_limit_stopped_it_with_exact_data(fakehub_factory, tmp_path):
    clock = InstantClock()
    hub = fakehub_factory(synthetic=[(REPO, 100, 7)], clock=clock.now, reset_seconds=30)
    seed(make_client(hub.url, clock=clock), [REPO], team_slug="clean", cache_dir=tmp_path / "a")
    clean_requests = hub.stats()["requests"]
    hub.faults({"rules": [{"fault": "primary_exhaustion", "after_points": 4}]})
    hub.set_limits(reset_seconds=30)
    hub.reset_stats()

    stops = 0
    while True:
        client = make_client(hub.url, clock=clock, on_limit="stop")
        try:
            results = seed(client, [REPO], team_slug="resumed", cache_dir=tmp_path / "b")
            break
        except RateLimited as exc:
            stops += 1
            assert "rocket" in str(exc) or "rate limit" in str(exc)
            tracked = TrackedRepository.objects.get(team__slug="resumed", full_name=REPO)
            assert tracked.checkpoint is not None and tracked.checkpoint["mode"] == "full"
            assert tracked.status == TrackedRepository.Status.RATE_LIMITED
            clock.advance(31)  # the reset passes (fakehub shares this clock)
        assert stops < 50

    stats = hub.stats()
    assert stops >= 2
    assert results[0].completed
    assert snapshot("resumed") == snapshot("clean")
    assert stats["requests_while_limited"] == 0
    assert stats["max_in_flight_per_token"] == 1
    # Each stop costs the one request GitHub refused; nothing already saved is fetched again.
    assert stats["requests"] <= clean_requests + stops


@pytest.mark.django_db
def test_a_stop_request_ends_after_a_whole_page_and_the_next_run_finishes(fakehub, tmp_path):
    fakehub.add_synthetic(REPO, 90, seed=2)
    seed(make_client(fakehub.url), [REPO], team_slug="clean", cache_dir=tmp_path / "a")
    clean_graphql = fakehub.stats()["graphql_requests"]
    fakehub.reset_stats()
    pages = iter(range(100))

    first = seed(
        make_client(fakehub.url),
        [REPO],
        team_slug="stopped",
        cache_dir=tmp_path / "b",
        should_stop=lambda: next(pages) >= 1,  # stop after the second page
    )

    assert first[0].interrupted and not first[0].completed and first[0].prs == 50
    tracked = TrackedRepository.objects.get(team__slug="stopped")
    assert tracked.checkpoint["cursor"] and tracked.checkpoint["prs_done"] == 50
    second = seed(make_client(fakehub.url), [REPO], team_slug="stopped", cache_dir=tmp_path / "b")
    assert second[0].completed and second[0].source == "resumed"
    assert snapshot("stopped") == snapshot("clean")
    assert fakehub.stats()["graphql_requests"] == clean_graphql  # not one page fetched twice
    # The cache built across both runs is complete: an unchanged re-run is one 304.
    fakehub.reset_stats()
    seed(make_client(fakehub.url), [REPO], team_slug="stopped", cache_dir=tmp_path / "b")
    assert fakehub.stats()["requests"] == 1 and fakehub.stats()["graphql_points"] == 0


@pytest.mark.django_db
def test_an_interrupted_incremental_walk_restarts_from_the_top_and_ends_exact(fakehub, tmp_path):
    fakehub.add_synthetic(REPO, 80, seed=4)
    client = make_client(fakehub.url)
    seed(client, [REPO], team_slug="t", cache_dir=tmp_path)
    for number in range(1, 41):
        fakehub.upsert_pr(REPO, {"number": number, "title": f"changed {number}"})
    calls = iter(range(100))

    first = seed(
        make_client(fakehub.url),
        [REPO],
        team_slug="t",
        cache_dir=tmp_path,
        should_stop=lambda: next(calls) >= 0,
    )
    assert first[0].interrupted and first[0].source == "incremental"
    checkpoint = TrackedRepository.objects.get(team__slug="t").checkpoint
    assert checkpoint["mode"] == "incremental" and checkpoint["cursor"] is None

    seed(make_client(fakehub.url), [REPO], team_slug="t", cache_dir=tmp_path)
    seed(make_client(fakehub.url), [REPO], team_slug="clean", cache_dir=tmp_path / "clean")
    assert snapshot("t") == snapshot("clean")


# --- the pipelined walk: page N+1 is fetched while page N is written --------------------------


class HardStop(Exception):
    """What a test raises inside a write to stand in for a crash at that point."""


def _tracked(slug: str) -> TrackedRepository:
    team, _ = Team.objects.get_or_create(slug=slug, defaults={"name": slug})
    return TrackedRepository.objects.get_or_create(team=team, full_name=REPO)[0]


def _walk(url: str, slug: str, **options):
    tracked = _tracked(slug)
    plan = open_walk(tracked) or new_walk(tracked, None, full=True)
    fetcher = make_fetcher(options.pop("client", None) or make_client(url), None)
    return walk_repository(fetcher, tracked, plan, **options), tracked


def _wait_for(hub, graphql_requests: int) -> None:
    """Wait until fakehub has answered this many GraphQL requests (bounded, never timed)."""
    deadline = time.monotonic() + 60
    while hub.stats()["graphql_requests"] < graphql_requests:
        assert time.monotonic() < deadline, "the next page was never asked for"
        time.sleep(0.005)


@pytest.mark.django_db
def test_the_next_page_is_fetched_while_a_page_is_written_with_one_request_in_flight(
    fakehub_factory,
):
    hub = fakehub_factory(synthetic=[(REPO, 110, 3)], latency_ms=20)
    fetched_while_writing: list[int] = []

    def before_save(plan, page) -> None:
        if not page.done:
            # Page N is not written yet; page N+1's answer arrives all the same.
            _wait_for(hub, result_pages[0] + 2)
            fetched_while_writing.append(page.prs[0].number)
        result_pages[0] += 1

    result_pages = [0]
    walked, _ = _walk(hub.url, "piped", before_save=before_save)
    _walk(hub.url, "plain")

    stats = hub.stats()
    assert walked.completed and walked.pages == 5 and len(fetched_while_writing) == 4
    assert stats["max_in_flight_per_token"] == 1
    assert stats["graphql_requests"] == 2 * walked.pages  # no page asked for twice
    assert snapshot("piped") == snapshot("plain")


@pytest.mark.django_db
def test_a_crash_while_the_next_page_is_in_flight_resumes_exactly(fakehub_factory):
    hub = fakehub_factory(synthetic=[(REPO, 110, 5)], latency_ms=5)
    _walk(hub.url, "clean")
    clean_requests = hub.stats()["graphql_requests"]
    hub.reset_stats()
    pages = [0]

    def crash_on_second_page(plan, page) -> None:
        pages[0] += 1
        if pages[0] == 2:
            _wait_for(hub, 3)  # page 3 is on its way: the crash drops it with page 2
            raise HardStop

    with pytest.raises(HardStop):
        _walk(hub.url, "crashed", before_save=crash_on_second_page)
    tracked = TrackedRepository.objects.get(team__slug="crashed")
    assert tracked.checkpoint["prs_done"] == 25
    assert PullRequest.objects.filter(team__slug="crashed").count() == 25
    # Nothing is left running behind the failed walk: its prefetch ended before it returned.
    assert hub.stats()["graphql_requests"] == 3

    resumed, _ = _walk(hub.url, "crashed")
    assert resumed.completed and resumed.resumed
    assert snapshot("crashed") == snapshot("clean")
    # Page 2 (being written) and page 3 (in flight) are the only pages fetched twice.
    assert hub.stats()["graphql_requests"] == clean_requests + 2
    assert hub.stats()["max_in_flight_per_token"] == 1


@pytest.mark.django_db
def test_a_stop_asked_while_the_next_page_is_in_flight_saves_it_and_wastes_no_request(
    fakehub_factory,
):
    hub = fakehub_factory(synthetic=[(REPO, 110, 6)], latency_ms=5)
    _walk(hub.url, "clean")
    clean_requests = hub.stats()["graphql_requests"]
    hub.reset_stats()
    stop = [False]

    def ctrl_c_during_the_first_write(plan, page) -> None:
        _wait_for(hub, 2)  # page 2 is on its way when the stop is asked for
        stop[0] = True

    first, tracked = _walk(
        hub.url,
        "stopped",
        before_save=ctrl_c_during_the_first_write,
        should_stop=lambda: stop[0],
    )
    assert first.interrupted and not first.completed and first.pages == 2
    tracked.refresh_from_db()
    assert tracked.checkpoint["prs_done"] == 50
    assert hub.stats()["graphql_requests"] == 2  # the page in flight was written, no third asked

    second, _ = _walk(hub.url, "stopped")
    assert second.completed
    assert snapshot("stopped") == snapshot("clean")
    assert hub.stats()["graphql_requests"] == clean_requests


@pytest.mark.django_db
def test_a_rate_limit_met_by_the_prefetch_keeps_every_page_written_before_it(fakehub_factory):
    clock = InstantClock()
    hub = fakehub_factory(synthetic=[(REPO, 110, 8)], clock=clock.now, reset_seconds=30)
    hub.faults({"rules": [{"fault": "primary_exhaustion", "after_points": 5}]})
    client = make_client(hub.url, clock=clock, on_limit="stop")

    with pytest.raises(RateLimited):
        _walk(hub.url, "limited", client=client)

    tracked = TrackedRepository.objects.get(team__slug="limited")
    assert tracked.status == TrackedRepository.Status.RATE_LIMITED
    written = PullRequest.objects.filter(team__slug="limited").count()
    assert written > 0 and tracked.checkpoint["prs_done"] == written
    assert hub.stats()["requests_while_limited"] == 0


# --- the real command, killed -------------------------------------------------------------------


@pytest.fixture(scope="module")
def slow_hub():
    """A fakehub subprocess slow enough (latency) to be killed in the middle of a seed."""
    process, url = start_fakehub_process(["--synthetic", f"{REPO}:150:9", "--latency-ms", "120"])
    control = FakeHubControl(url)
    yield control
    control.close()
    process.terminate()
    process.wait(timeout=10)


def _env(db: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "SQLITE_PATH": str(db),
            "SEEDING_CACHE_DIR": str(db.parent / "cache"),
            "GITHUB_API_URL": url,
            "GITHUB_TOKEN": "kill-test-token",
        }
    )
    return env


def _migrate(db: Path, url: str) -> None:
    db.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        cwd=ROOT,
        env=_env(db, url),
        check=True,
    )


SEED = [sys.executable, "manage.py", "seed_real_projects", "--repo", REPO, "--team-slug", "k"]


def _run(db: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        SEED, cwd=ROOT, env=_env(db, url), capture_output=True, text=True, timeout=300
    )


def _start(db: Path, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        SEED,
        cwd=ROOT,
        env=_env(db, url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_requests(hub: FakeHubControl, target: int, process: subprocess.Popen) -> bool:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if hub.stats()["graphql_requests"] >= target:
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.01)
    return False


@pytest.mark.slow
def test_a_seed_killed_with_sigkill_at_random_points_resumes_and_ends_exact(slow_hub, tmp_path):
    clean_db = tmp_path / "clean" / "db.sqlite3"
    _migrate(clean_db, slow_hub.url)
    slow_hub.reset_stats()
    assert _run(clean_db, slow_hub.url).returncode == 0
    clean_pages = slow_hub.stats()["graphql_requests"]
    assert clean_pages >= 6

    db = tmp_path / "killed" / "db.sqlite3"
    _migrate(db, slow_hub.url)
    slow_hub.reset_stats()
    rng = random.Random(20240611)
    kills = 0
    for _ in range(4):
        done = slow_hub.stats()["graphql_requests"]
        if done >= clean_pages + kills - 1:
            break
        process = _start(db, slow_hub.url)
        # A random point: after a random number of further GraphQL requests, plus a random
        # delay, so kills land while fetching, while writing and between the two.
        target = done + rng.randint(1, 2)
        reached = _wait_for_requests(slow_hub, target, process)
        time.sleep(rng.uniform(0.0, 0.15))
        if reached and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.communicate(timeout=60)
    final = _run(db, slow_hub.url)
    assert final.returncode == 0, final.stderr

    assert kills >= 3
    assert snapshot_sqlite(db, "k") == snapshot_sqlite(clean_db, "k")
    refetched = slow_hub.stats()["graphql_requests"] - clean_pages
    # The walk fetches page N+1 while page N is written: a kill loses the page in flight, and
    # also the page being written when it lands inside a write. Never more than those two.
    assert refetched <= 2 * kills
    assert slow_hub.stats()["max_in_flight_per_token"] == 1


@pytest.mark.slow
def test_ctrl_c_stops_after_the_current_page_and_says_how_to_resume(slow_hub, tmp_path):
    clean_db = tmp_path / "clean" / "db.sqlite3"
    _migrate(clean_db, slow_hub.url)
    assert _run(clean_db, slow_hub.url).returncode == 0
    db = tmp_path / "interrupted" / "db.sqlite3"
    _migrate(db, slow_hub.url)
    slow_hub.reset_stats()

    process = _start(db, slow_hub.url)
    assert _wait_for_requests(slow_hub, 2, process)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)

    assert process.returncode == 130
    assert "run the same command again to resume" in err
    assert "Traceback" not in out + err
    assert _run(db, slow_hub.url).returncode == 0
    assert snapshot_sqlite(db, "k") == snapshot_sqlite(clean_db, "k")
