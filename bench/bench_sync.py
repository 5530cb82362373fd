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
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.common import BENCH_TOKEN, OUT_DIR, Row, log, write_json  # noqa: E402
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


def _pg_base() -> str:
    base = os.environ.get("BENCH_DATABASE_URL", "")
    return base if base.startswith(("postgres://", "postgresql://")) else PG_DEFAULT


PG_DEFAULT = "postgres://root@127.0.0.1:5432/postgres"


def _scratch_db(name: str) -> str:
    import psycopg

    base = _pg_base()
    admin = psycopg.conninfo.make_conninfo(base, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(base)
    return f"postgresql://{info.get('user') or 'root'}@{info.get('host') or '127.0.0.1'}:{info.get('port') or 5432}/{name}"


def _drop_db(name: str) -> None:
    import psycopg

    admin = psycopg.conninfo.make_conninfo(_pg_base(), dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _clean_redis(api_url: str) -> None:
    """Delete this run's keys only: its queue (and kombu's side keys) and its coordination keys."""
    import hashlib

    import redis

    conn = redis.Redis.from_url(REDIS_URL)
    prefix = "prharvest:" + hashlib.sha256(api_url.encode()).hexdigest()[:8]
    keys = [QUEUE.encode(), *conn.scan_iter(match=f"{QUEUE}\x06*")]
    keys += list(conn.scan_iter(match=f"{prefix}:*"))
    if keys:
        conn.delete(*keys)
    conn.close()


def worker_throughput(workers: int, repos: int, prs: int, latency_ms: int) -> Row:
    """One sync round of `repos` x `prs` PRs by a Celery worker of `workers` processes."""
    import psycopg
    import redis
    from celery import Celery

    redis.Redis.from_url(REDIS_URL).ping()
    db_name = f"prharvest_bench_sync_{os.getpid()}_{workers}"
    db = _scratch_db(db_name)
    names = [f"bench/w{i:02d}" for i in range(1, repos + 1)]
    hub = FakeHub(
        synthetic=[(n, prs, i + 1) for i, n in enumerate(names)], latency_ms=latency_ms
    ).start()
    scratch = Path(tempfile.mkdtemp(prefix="bench_workers_"))
    # The project's settings plus this run's default queue (settings read no such variable).
    (scratch / f"{SETTINGS_MODULE}.py").write_text(
        f"from config.settings import *  # noqa: F403\nCELERY_TASK_DEFAULT_QUEUE = {QUEUE!r}\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")},
        "PYTHONPATH": os.pathsep.join(p for p in (str(scratch), os.environ.get("PYTHONPATH")) if p),
        "DATABASE_URL": db,
        "CELERY_BROKER_URL": REDIS_URL,
        "REDIS_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "GITHUB_API_URL": hub.url,
        "GITHUB_TOKEN": TOKEN,
        "SEEDING_CACHE_DIR": str(scratch / "cache"),
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
        "LOG_LEVEL": "WARNING",
    }
    manage = [sys.executable, "manage.py"]
    worker = None
    label = f"{repos} repos x {prs} PRs, latency {latency_ms} ms"
    try:
        subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                       capture_output=True)  # fmt: skip
        subprocess.run([*manage, "track_repository", *names, "--team", "bench", "--create-team"],
                       cwd=ROOT, env=env, check=True, capture_output=True)  # fmt: skip
        log_path = scratch / "worker.log"
        handle = log_path.open("w")
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork",
             "--concurrency", str(workers), "--loglevel", "INFO", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "-Q", QUEUE,
             "-n", f"bench-{RUN}-{workers}@%h"],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while "ready." not in log_path.read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("worker did not start: " + log_path.read_text()[-500:])
            time.sleep(0.2)
        reset(hub)
        producer = Celery("bench-producer", broker=REDIS_URL)
        producer.conf.task_default_queue = QUEUE
        started = time.monotonic()
        producer.send_task("apps.metrics.tasks.sync_all_repositories_task", queue=QUEUE)
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
        producer.close()
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
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
        _clean_redis(hub.url)
        hub.stop()
        _drop_db(db_name)


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
