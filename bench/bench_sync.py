"""Production sync figures: requests of an incremental round, PRs synced per minute by workers.

    .venv/bin/python bench/bench_sync.py [--quick] [--json OUT.json]

1. Requests (and GraphQL points) for one incremental round over 20 tracked repositories after
   0, 1 and 50 PRs changed in fakehub: in-process `sync_repository`, one client, SQLite scratch DB.
2. PRs synced per minute by real Celery workers (prefork, 1 then 4 processes) on Redis and a
   scratch PostgreSQL database, one token, fakehub answering with 500 ms latency.

Figures come from fakehub's own accounting and a monotonic clock; nothing is estimated. Part 2
needs Redis (REDIS_BENCH_URL, default redis://127.0.0.1:6379/12: a database of its own, never
flushed; the tasks travel on a queue named for this run, `prharvest-bench-<hex>`, whose keys are
deleted afterwards) and PostgreSQL on 127.0.0.1:5432 (or BENCH_DATABASE_URL's server), where it
creates and drops its own database `prharvest_bench_sync_<pid>_<workers>`.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.common import BENCH_TOKEN, OUT_DIR, Row, log, write_json  # noqa: E402
from bench.workers import (  # noqa: E402
    SYNC_ALL_TASK,
    celery_worker,
    clean_redis,
    create_database,
    drop_database,
    producer,
    track,
    worker_env,
)
from fakehub.server import FakeHub  # noqa: E402

TOKEN = BENCH_TOKEN
REDIS_URL = os.environ.get("REDIS_BENCH_URL", "redis://127.0.0.1:6379/12")
RUN = secrets.token_hex(4)
QUEUE = f"prharvest-bench-{RUN}"  # this run's Celery queue: no other worker takes its tasks
SETTINGS_MODULE = f"bench_sync_settings_{RUN}"


def stats(hub: FakeHub) -> dict[str, Any]:
    return httpx.get(f"{hub.url}/_fakehub/stats").json()


def reset(hub: FakeHub) -> None:
    httpx.post(f"{hub.url}/_fakehub/stats/reset")


# --- part 1: incremental rounds, in process ---------------------------------------------------


def incremental_rounds(repos: int, prs: int) -> list[Row]:
    """A cold round over `repos` tracked repositories, then rounds after 0, 1 and 50 PR edits."""
    scratch = Path(tempfile.mkdtemp(prefix="bench_sync_"))
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    os.environ["SQLITE_PATH"] = str(scratch / "db.sqlite3")
    os.environ["SEEDING_CACHE_DIR"] = str(scratch / "cache")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from apps.integrations.github.client import GitHubGraphQLClient
    from apps.integrations.github.coordination import LocalCoordinator
    from apps.metrics.models import Team, TrackedRepository
    from apps.metrics.sync.run import sync_repository

    call_command("migrate", verbosity=0)
    names = [f"bench/r{i:02d}" for i in range(1, repos + 1)]
    hub = FakeHub(synthetic=[(n, prs, i + 1) for i, n in enumerate(names)]).start()
    rows: list[Row] = []
    dataset = f"{repos} repos x {prs} PRs (synthetic)"
    try:
        team = Team.objects.create(name="Bench", slug="bench")
        tracked = [TrackedRepository.objects.create(team=team, full_name=n) for n in names]
        client = GitHubGraphQLClient(TOKEN, base_url=hub.url, coordinator=LocalCoordinator())
        reset(hub)
        began = time.perf_counter()
        for repo in tracked:
            sync_repository(repo, client)
        cold = stats(hub)
        rows.append(
            Row(
                bench="sync-rounds",
                tool="prharvest",
                dataset=dataset,
                scenario="cold round (every PR)",
                prs=repos * prs,
                wall_seconds=round(time.perf_counter() - began, 2),
                extra={"changed_prs": repos * prs, "repos": repos},
            ).with_stats(cold)
        )
        serial = 0
        for changed in (0, 1, 50):
            for k in range(changed):
                serial += 1
                name = names[k % len(names)]
                number = 1 + (k // len(names))
                httpx.post(
                    f"{hub.url}/_fakehub/repos/{name}/pulls",
                    json={"number": number, "title": f"bench change {serial}"},
                ).raise_for_status()
            reset(hub)
            repolled = saved = 0
            began = time.perf_counter()
            for repo in tracked:
                result = sync_repository(repo, client)
                repolled += result.repolled
                saved += result.prs_saved
            s = stats(hub)
            row = Row(
                bench="sync-rounds",
                tool="prharvest",
                dataset=dataset,
                scenario=f"incremental round, {changed} changed PRs",
                prs=saved,
                wall_seconds=round(time.perf_counter() - began, 2),
                extra={
                    "changed_prs": changed,
                    "repos": repos,
                    "prs_repolled_for_ci": repolled,
                    "requests_while_limited": s.get("requests_while_limited"),
                },
            ).with_stats(s)
            if saved < changed:
                row.ok = False
                row.note = f"saved {saved} of {changed} changed PRs"
            rows.append(row)
            print(
                f"{row.scenario}: {row.requests} requests ({row.not_modified} free 304s), "
                f"{row.graphql_points} GraphQL points, {saved} PRs saved, {repolled} re-polled for CI"
            )
    finally:
        hub.stop()
    return rows


# --- part 2: workers --------------------------------------------------------------------------


def worker_throughput(workers: int, repos: int, prs: int, latency_ms: int) -> Row:
    """One sync round of `repos` x `prs` PRs by a Celery worker of `workers` processes."""
    import redis

    redis.Redis.from_url(REDIS_URL).ping()
    db_name = f"prharvest_bench_sync_{os.getpid()}_{workers}"
    db = create_database(db_name)
    names = [f"bench/w{i:02d}" for i in range(1, repos + 1)]
    hub = FakeHub(
        synthetic=[(n, prs, i + 1) for i, n in enumerate(names)], latency_ms=latency_ms
    ).start()
    scratch = Path(tempfile.mkdtemp(prefix="bench_workers_"))
    env = worker_env(
        scratch=scratch,
        settings_module=SETTINGS_MODULE,
        queue=QUEUE,
        database_url=db,
        redis_url=REDIS_URL,
        api_url=hub.url,
        github={"GITHUB_TOKEN": TOKEN},
    )
    label = f"{repos} repos x {prs} PRs, latency {latency_ms} ms"
    try:
        track(env, names, team="bench")
        with celery_worker(
            env,
            queue=QUEUE,
            concurrency=workers,
            node=f"bench-{RUN}-{workers}@%h",
            log_path=scratch / "worker.log",
            stop_timeout=15,
        ):
            return _timed_round(hub, db, label, workers, repos, prs, latency_ms)
    except Exception as exc:  # a bench reports what failed and renders the rest
        return Row(
            bench="sync-workers",
            tool="prharvest",
            dataset=label,
            scenario=f"{workers} worker process(es), one token",
            ok=False,
            note=str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__,
        )
    finally:
        clean_redis(REDIS_URL, QUEUE, hub.url)
        hub.stop()
        drop_database(db_name)


def _timed_round(
    hub: FakeHub, db: str, label: str, workers: int, repos: int, prs: int, latency_ms: int
) -> Row:
    """Enqueue one round and time it until every repository's status is final."""
    import psycopg

    reset(hub)
    sender = producer("bench-producer", REDIS_URL, QUEUE)
    started = time.monotonic()
    sender.send_task(SYNC_ALL_TASK, queue=QUEUE)
    total = repos * prs
    with psycopg.connect(db) as conn:
        while True:
            done = conn.execute(
                "SELECT count(*) FROM metrics_trackedrepository WHERE status IN ('ok', 'failed')"
            ).fetchone()[0]
            conn.commit()
            if done == repos:
                break
            if time.monotonic() - started > 1800:
                raise RuntimeError("the round did not finish in 30 minutes")
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        stored = conn.execute("SELECT count(*) FROM metrics_pullrequest").fetchone()[0]
        failed = conn.execute(
            "SELECT count(*) FROM metrics_trackedrepository WHERE status = 'failed'"
        ).fetchone()[0]
    sender.close()
    s = stats(hub)
    row = Row(
        bench="sync-workers",
        tool="prharvest",
        dataset=label,
        scenario=f"{workers} worker process(es), one token",
        prs=stored,
        wall_seconds=round(elapsed, 1),
        extra={
            "workers": workers,
            "expected_prs": total,
            "prs_per_minute": round(stored * 60 / elapsed, 1),
            "latency_ms": latency_ms,
            "latency_sum_seconds": round(s["requests"] * latency_ms / 1000, 1),
            "max_in_flight_per_token": s["max_in_flight_per_token"],
            "requests_while_limited": s["requests_while_limited"],
        },
    ).with_stats(s)
    if stored != total or failed:
        row.ok = False
        row.note = f"stored {stored} of {total} PRs, {failed} repositories failed"
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller repositories")
    parser.add_argument("--json", type=Path, default=OUT_DIR / "sync.json", help="results file")
    parser.add_argument("--latency-ms", type=int, default=500)
    parser.add_argument("--skip-workers", action="store_true", help="only the request counts")
    args = parser.parse_args(argv)

    log("incremental rounds over 20 repositories")
    rows = incremental_rounds(repos=20, prs=30 if args.quick else 60)
    if not args.skip_workers:
        repos, prs = (4, 50) if args.quick else (8, 100)
        for workers in (1, 4):
            log(f"{workers} worker(s): {repos} repos x {prs} PRs, latency {args.latency_ms} ms")
            row = worker_throughput(workers, repos, prs, args.latency_ms)
            rows.append(row)
            print(
                f"{row.scenario}: {row.prs}/{row.extra.get('expected_prs')} PRs in "
                f"{row.wall_seconds}s = {row.extra.get('prs_per_minute')} PRs/min, "
                f"{row.requests} requests, max in flight per token "
                f"{row.extra.get('max_in_flight_per_token')}, requests while limited "
                f"{row.extra.get('requests_while_limited')} {row.note}"
            )
    write_json(args.json, [row.to_dict() for row in rows])
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
