"""A seed stopped at any point resumes and ends with exactly the rows of an undisturbed seed.

Stops covered: GitHub's primary limit with `on_limit="stop"`, a stop request after a page (what
Ctrl-C sets), an interrupted incremental walk, SIGINT to the real command, SIGKILL at random
points of the real (cached) seed command in a subprocess, and SIGKILL exactly inside a page's
write. Each run is compared with an undisturbed seed of the same fakehub; re-fetches are counted
from fakehub's own accounting and its request log (the cursor of each page asked for).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from apps.integrations.github.clock import InstantClock
from apps.integrations.github.errors import RateLimited
from apps.metrics.models import PullRequest, Team, TrackedRepository
from apps.metrics.pipeline.pages import MAX_PAGE_SIZE as PAGE
from apps.metrics.pipeline.walk import PagePrefetcher, new_walk, open_walk, walk_repository
from apps.metrics.seeding import spool as pr_spool
from apps.metrics.seeding.spool import PageSpool
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

    assert first[0].interrupted and not first[0].completed and first[0].prs == 2 * PAGE
    tracked = TrackedRepository.objects.get(team__slug="stopped")
    assert tracked.checkpoint["cursor"] and tracked.checkpoint["prs_done"] == 2 * PAGE
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


def _walk(url: str, slug: str, *, spool_dir: Path | None = None, **options):
    """Walk REPO into team `slug` (a new full walk, or the open one); with `spool_dir`, spool
    the pages there as a cached seed does."""
    tracked = _tracked(slug)
    plan = open_walk(tracked)
    if plan is None:
        plan = new_walk(tracked, None, full=True)
        if spool_dir is not None:
            pr_spool.start_partial(REPO, spool_dir, plan.walk_id)
    if spool_dir is not None:
        options["spool"] = PageSpool(REPO, spool_dir)
    fetcher = make_fetcher(options.pop("client", None) or make_client(url))
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
    hub = fakehub_factory(synthetic=[(REPO, 140, 3)], latency_ms=20)  # 5 pages
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


def test_the_prefetcher_hands_back_control_once_its_request_is_out_not_once_answered(
    fakehub_factory,
):
    hub = fakehub_factory(synthetic=[(REPO, 40, 3)], latency_ms=3000)
    fetcher = make_fetcher(make_client(hub.url))
    prefetch = PagePrefetcher(fetcher.iter_pr_pages(REPO, mapped=False))
    prefetch.HEAD_START = 60.0  # however slow this machine: start() returns on the signal
    try:
        prefetch.start()
        # The writer has its thread back once the request is out (so its work on the page it
        # took cannot hold the request up), while the answer is still 3 s away.
        assert fetcher.client.stats.requests == 1
        assert hub.stats()["statuses"] == {}
        page = prefetch.take()
    finally:
        prefetch.close()
    assert page is not None and page.nodes and not page.prs  # mapped by the writer, later
    assert hub.stats()["statuses"] == {"200": 1}


def test_a_fetch_that_sends_no_request_holds_the_writer_back_no_longer_than_its_head_start():
    release = threading.Event()

    def waiting_pages():
        release.wait(60)  # a budget wait, say: no request leaves
        yield from ()

    prefetch = PagePrefetcher(waiting_pages())
    prefetch.start()
    assert prefetch.in_flight and not release.is_set()  # start() came back on its own
    release.set()
    assert prefetch.take() is None


@pytest.mark.django_db
def test_a_page_spooled_as_nodes_alone_is_replayed_mapped_then_kept_as_prs(
    fakehub_factory, tmp_path
):
    hub = fakehub_factory(synthetic=[(REPO, 70, 3)])
    fetcher = make_fetcher(make_client(hub.url))
    plan = new_walk(_tracked("spooled"), None, full=True)
    pr_spool.start_partial(REPO, tmp_path, plan.walk_id)
    spool = PageSpool(REPO, tmp_path)
    pages = fetcher.iter_pr_pages(REPO, mapped=False)
    first, second = next(pages), next(pages)
    pages.close()
    spool.append(plan, None, first)
    spool.settle(plan, None, fetcher.mapped(first, REPO))
    spool.append(plan, first.end_cursor, second)  # a kill before page 2's write: nodes only

    def replay():
        return list(spool.replay(plan, None, lambda nodes: fetcher.map_nodes(nodes, REPO)))

    one, two = replay()
    assert (one.end_cursor, two.end_cursor) == (first.end_cursor, second.end_cursor)
    assert one.prs == fetcher.mapped(first, REPO).prs and not one.nodes  # from its PRs
    assert two.prs == fetcher.mapped(second, REPO).prs and two.nodes  # mapped from its nodes
    spool.settle(plan, first.end_cursor, two)  # what the walk does before writing it
    assert [bool(page.nodes) for page in replay()] == [False, False]
    assert _spooled_starts(tmp_path) == [None, first.end_cursor]


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
    assert tracked.checkpoint["prs_done"] == PAGE
    assert PullRequest.objects.filter(team__slug="crashed").count() == PAGE
    # Nothing is left running behind the failed walk: its prefetch ended before it returned.
    assert hub.stats()["graphql_requests"] == 3

    resumed, _ = _walk(hub.url, "crashed")
    assert resumed.completed and resumed.resumed
    assert snapshot("crashed") == snapshot("clean")
    # Page 2 (being written) and page 3 (in flight) are the only pages fetched twice.
    assert hub.stats()["graphql_requests"] == clean_requests + 2
    assert hub.stats()["max_in_flight_per_token"] == 1


@pytest.mark.django_db
def test_with_a_spool_a_crash_while_writing_loses_no_page_already_fetched(
    fakehub_factory, tmp_path
):
    hub = fakehub_factory(synthetic=[(REPO, 110, 5)], latency_ms=5)
    _walk(hub.url, "clean")
    clean_requests = hub.stats()["graphql_requests"]
    hub.reset_stats()
    pages = [0]

    def crash_on_second_page(plan, page) -> None:
        pages[0] += 1
        if pages[0] == 2:
            _wait_for(hub, 3)  # page 3 has arrived (and is spooled) while page 2 is written
            raise HardStop

    with pytest.raises(HardStop):
        _walk(hub.url, "crashed", spool_dir=tmp_path, before_save=crash_on_second_page)
    tracked = TrackedRepository.objects.get(team__slug="crashed")
    assert tracked.checkpoint["prs_done"] == PAGE
    assert hub.stats()["graphql_requests"] == 3

    resumed, _ = _walk(hub.url, "crashed", spool_dir=tmp_path)
    assert resumed.completed and resumed.resumed and resumed.replayed == 2
    assert snapshot("crashed") == snapshot("clean")
    # Pages 2 and 3 are written from the spool: not one page is asked for twice.
    assert hub.stats()["graphql_requests"] == clean_requests
    # Each replayed page was written with the checkpoint its fetch would have given.
    tracked.refresh_from_db()
    assert tracked.checkpoint is None and tracked.page_size == resumed.page_size


@pytest.mark.django_db
def test_a_replayed_page_gets_the_same_checkpoint_as_when_it_was_fetched(fakehub_factory, tmp_path):
    hub = fakehub_factory(synthetic=[(REPO, 140, 12)])  # 5 pages
    checkpoints: list[dict] = []

    def note_checkpoint(page, stats) -> None:
        checkpoints.append(TrackedRepository.objects.get(team__slug="fetched").checkpoint)

    stop_after = iter(range(100))
    _walk(
        hub.url,
        "fetched",
        spool_dir=tmp_path,
        on_page=note_checkpoint,
        should_stop=lambda: next(stop_after) >= 3,  # four pages, then stop
    )
    assert len(checkpoints) == 4
    # Another team starts the same walk from the first checkpoint and replays pages 2 to 4.
    tracked = TrackedRepository.objects.get(team__slug="fetched")
    other = _tracked("replayed")
    other.checkpoint = checkpoints[0]
    other.save()
    spool_plan = open_walk(tracked)
    assert spool_plan is not None and open_walk(other).walk_id == spool_plan.walk_id
    replayed_checkpoints: list[dict] = []
    hub.reset_stats()
    stop_after_replay = iter(range(100))

    def note_replayed(page, stats) -> None:
        replayed_checkpoints.append(TrackedRepository.objects.get(pk=other.pk).checkpoint)

    walked = walk_repository(
        make_fetcher(make_client(hub.url)),
        other,
        open_walk(other),
        spool=PageSpool(REPO, tmp_path),
        on_page=note_replayed,
        should_stop=lambda: next(stop_after_replay) >= 2,
    )
    assert walked.replayed == 3 and walked.interrupted
    assert replayed_checkpoints == checkpoints[1:]
    assert hub.stats()["graphql_requests"] == 0


@pytest.mark.django_db
def test_the_walk_empties_djangos_query_log_after_each_page(fakehub_factory):
    hub = fakehub_factory(synthetic=[(REPO, 140, 13)])  # 5 pages
    logged: list[int] = []
    connection.force_debug_cursor = True  # what DEBUG=True does in production
    try:
        walked, _ = _walk(
            hub.url, "logged", before_save=lambda plan, page: logged.append(len(connection.queries))
        )
        left = len(connection.queries)
    finally:
        connection.force_debug_cursor = False
    assert walked.completed and walked.pages == 5
    assert logged[0] > 0  # the log is on: the walk's own setup queries are in it
    # Each later page finds the log as the page before left it: empty.
    assert logged[1:] == [0, 0, 0, 0] and left == 0


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
    assert tracked.checkpoint["prs_done"] == 2 * PAGE
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
    process, url = start_fakehub_process(["--synthetic", f"{REPO}:180:9", "--latency-ms", "120"])
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
def test_a_cached_seed_killed_with_sigkill_at_random_points_resumes_and_ends_exact(
    slow_hub, tmp_path
):
    clean_db = tmp_path / "clean" / "db.sqlite3"
    _migrate(clean_db, slow_hub.url)
    slow_hub.reset_stats()
    assert _run(clean_db, slow_hub.url).returncode == 0
    clean_pages = slow_hub.stats()["graphql_requests"]
    assert clean_pages >= 6

    db = tmp_path / "killed" / "db.sqlite3"
    _migrate(db, slow_hub.url)
    slow_hub.reset_stats()
    rng = random.Random(int(os.environ.get("KILL_TEST_SEED", "20240611")))
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
    # A cached seed: its pages were spooled beside the cache while the walk was open, as
    # nodes at least (a kill can land before the writer kept a page's mapped PRs).
    assert list((db.parent / "cache").rglob("*.nodes"))
    final = _run(db, slow_hub.url)
    assert final.returncode == 0, final.stderr

    assert kills >= 3
    assert snapshot_sqlite(db, "k") == snapshot_sqlite(clean_db, "k")
    refetched = slow_hub.stats()["graphql_requests"] - clean_pages
    # Every page is spooled as soon as it arrives, and a resume writes the spooled pages before
    # it asks for more: a kill loses only the page in flight, wherever it lands.
    print(f"kills {kills}, pages re-fetched {refetched}")
    assert refetched <= kills
    assert slow_hub.stats()["max_in_flight_per_token"] == 1


_OPERATION = re.compile(r"^\s*query\s+(\w+)")


def _page_cursors(log: Path, skip: int = 0) -> list[str | None]:
    """The `after` cursor of each full-walk page request in fakehub's request log, in order,
    from its line `skip` on."""
    cursors: list[str | None] = []
    for line in log.read_text().splitlines()[skip:]:
        entry = json.loads(line)
        match = _OPERATION.match(entry.get("query") or "")
        if match and match.group(1) == "FetchPRsBulk":
            cursors.append((entry.get("variables") or {}).get("after"))
    return cursors


def _walk_entry(url: str, *options: str) -> list[str]:
    """The test-only entry point (apps/metrics/tests/walk_entry.py): a cached seed's walk."""
    return [sys.executable, "-m", "apps.metrics.tests.walk_entry", url, REPO, "k", *options]


def _checkpoint(db: Path) -> dict:
    con = sqlite3.connect(db)
    try:
        (value,) = con.execute("SELECT checkpoint FROM metrics_trackedrepository").fetchone()
    finally:
        con.close()
    return json.loads(value)


@pytest.mark.slow
def test_a_kill_inside_a_page_write_replays_that_page_from_the_spool_not_from_github(
    fakehub_factory, tmp_path
):
    log = tmp_path / "requests.jsonl"
    hub = fakehub_factory(synthetic=[(REPO, 150, 9)], latency_ms=150, request_log=log)
    clean_db = tmp_path / "clean" / "db.sqlite3"
    _migrate(clean_db, hub.url)
    clean = subprocess.run(
        _walk_entry(hub.url),
        cwd=ROOT,
        env=_env(clean_db, hub.url),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert clean.returncode == 0, clean.stderr
    clean_pages = len(_page_cursors(log))
    assert clean_pages >= 5
    db = tmp_path / "killed" / "db.sqlite3"
    _migrate(db, hub.url)
    before = len(log.read_text().splitlines())
    hub.reset_stats()

    process = subprocess.Popen(
        _walk_entry(hub.url, "--hang-in-write", "3"),
        cwd=ROOT,
        env=_env(db, hub.url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # page 3 is spooled and its write has begun
    if line:
        _wait_for(hub, 4)  # page 4 has reached fakehub, which takes 150 ms to answer it
    process.send_signal(signal.SIGKILL)
    _, err = process.communicate(timeout=60)
    assert line.strip() == "writing page 3", err

    page_3 = _checkpoint(db)["cursor"]  # the checkpoint of page 2: page 3 starts there
    assert page_3
    assert page_3 in _spooled_starts(db.parent / "cache")
    resumed = subprocess.run(
        _walk_entry(hub.url),
        cwd=ROOT,
        env=_env(db, hub.url),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert re.search(r"replayed [1-9]", resumed.stdout), resumed.stdout  # page 3, from the spool

    assert snapshot_sqlite(db, "k") == snapshot_sqlite(clean_db, "k")
    cursors = _page_cursors(log, skip=before)
    assert cursors.count(page_3) == 1  # fetched before the kill, written from the spool after
    assert all(cursors.count(cursor) <= 2 for cursor in cursors)
    # Only page 4, the one in flight, is asked for again (unless it landed before the kill).
    assert len(cursors) <= clean_pages + 1
    print(f"kill inside page 3's write: {len(cursors) - clean_pages} page(s) re-fetched")


def _spooled_starts(cache_dir: Path) -> list:
    """The start cursors of the pages kept as PRs in `cache_dir` by the walk open there."""
    (partial,) = cache_dir.glob("*.partial")
    starts = []
    for line in partial.read_text().splitlines()[1:]:
        try:
            starts.append(json.loads(line)["page"]["start"])
        except ValueError:
            break  # a line a kill cut short
    return starts


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
