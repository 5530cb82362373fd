"""Production sync figures: requests of an incremental round, PRs synced per minute by workers.

    .venv/bin/python bench/bench_sync.py [--quick] [--json OUT.json]

1. Requests (and GraphQL points) for one incremental round over 20 tracked repositories after
   0, 1 and 50 PRs changed in fakehub: in-process `sync_repository`, one client, SQLite scratch DB.
2. PRs synced per minute by real Celery workers (prefork, 1 then 4 processes) on Redis and a
   scratch PostgreSQL database, one token, fakehub answering with 500 ms latency.

Figures come from fakehub's own accounting and a monotonic clock; nothing is estimated. Needs
Redis (REDIS_TEST_URL, default redis://127.0.0.1:6379/15, flushed) and PostgreSQL on
127.0.0.1:5432 (or DATABASE_URL's server) for part 2.
"""

from __future__ import annotations

import argparse
import json
import os
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

from fakehub.server import FakeHub  # noqa: E402

TOKEN = "bench-token-not-a-secret"
REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")


def stats(hub: FakeHub) -> dict[str, Any]:
    return httpx.get(f"{hub.url}/_fakehub/stats").json()


def reset(hub: FakeHub) -> None:
    httpx.post(f"{hub.url}/_fakehub/stats/reset")


# --- part 1: incremental rounds, in process ---------------------------------------------------


def incremental_rounds(repos: int, prs: int) -> list[dict[str, Any]]:
    scratch = Path(tempfile.mkdtemp(prefix="bench_sync_"))
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    os.environ["SQLITE_PATH"] = str(scratch / "db.sqlite3")
    os.environ["SEEDING_CACHE_DIR"] = str(scratch / "cache")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from apps.integrations.services.coordination import LocalCoordinator
    from apps.integrations.services.github_graphql import GitHubGraphQLClient
    from apps.metrics.models import Team, TrackedRepository
    from apps.metrics.sync import sync_repository

    call_command("migrate", verbosity=0)
    names = [f"bench/r{i:02d}" for i in range(1, repos + 1)]
    hub = FakeHub(synthetic=[(n, prs, i + 1) for i, n in enumerate(names)]).start()
    rows: list[dict[str, Any]] = []
    try:
        team = Team.objects.create(name="Bench", slug="bench")
        tracked = [TrackedRepository.objects.create(team=team, full_name=n) for n in names]
        client = GitHubGraphQLClient(TOKEN, base_url=hub.url, coordinator=LocalCoordinator())
        for repo in tracked:
            sync_repository(repo, client)
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
            for repo in tracked:
                result = sync_repository(repo, client)
                repolled += result.repolled
                saved += result.prs_saved
            s = stats(hub)
            rows.append(
                {
                    "bench": "sync",
                    "scenario": f"incremental round, {repos} repos, {changed} changed PRs",
                    "changed_prs": changed,
                    "requests": s["requests"],
                    "not_modified": s["not_modified"],
                    "graphql_requests": s["graphql_requests"],
                    "graphql_points": s["graphql_points"],
                    "prs_saved": saved,
                    "prs_repolled_for_ci": repolled,
                }
            )
    finally:
        hub.stop()
    return rows


# --- part 2: workers --------------------------------------------------------------------------


def _pg_base() -> str:
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL", "")
    return (
        base
        if base.startswith(("postgres://", "postgresql://"))
        else ("postgres://root@127.0.0.1:5432/postgres")
    )


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


def worker_throughput(workers: int, repos: int, prs: int, latency_ms: int) -> dict[str, Any]:
    import psycopg
    import redis
    from celery import Celery

    redis.Redis.from_url(REDIS_URL).flushdb()
    db_name = f"prharvest_bench_sync_{os.getpid()}_{workers}"
    db = _scratch_db(db_name)
    names = [f"bench/w{i:02d}" for i in range(1, repos + 1)]
    hub = FakeHub(
        synthetic=[(n, prs, i + 1) for i, n in enumerate(names)], latency_ms=latency_ms
    ).start()
    scratch = Path(tempfile.mkdtemp(prefix="bench_workers_"))
    env = {
        **os.environ,
        "DATABASE_URL": db,
        "CELERY_BROKER_URL": REDIS_URL,
        "REDIS_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "GITHUB_API_URL": hub.url,
        "GITHUB_TOKEN": TOKEN,
        "SEEDING_CACHE_DIR": str(scratch / "cache"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_LEVEL": "WARNING",
    }
    manage = [sys.executable, "manage.py"]
    worker = None
    try:
        subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                       capture_output=True)  # fmt: skip
        subprocess.run([*manage, "track_repository", *names, "--team", "bench", "--create-team"],
                       cwd=ROOT, env=env, check=True, capture_output=True)  # fmt: skip
        log = (scratch / "worker.log").open("w")
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork",
             "--concurrency", str(workers), "--loglevel", "INFO", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "-n", f"bench-{workers}@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while "ready." not in (scratch / "worker.log").read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "worker did not start: " + (scratch / "worker.log").read_text()[-500:]
                )
            time.sleep(0.2)
        reset(hub)
        producer = Celery("bench-producer", broker=REDIS_URL)
        started = time.monotonic()
        producer.send_task("apps.metrics.tasks.sync_all_repositories_task")
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
        producer.close()
        s = stats(hub)
        return {
            "bench": "sync",
            "scenario": f"{workers} worker(s), {repos} repos x {prs} PRs, {latency_ms} ms latency",
            "workers": workers,
            "prs": stored,
            "expected_prs": total,
            "seconds": round(elapsed, 1),
            "prs_per_minute": round(stored * 60 / elapsed, 1),
            "requests": s["requests"],
            "max_in_flight_per_token": s["max_in_flight_per_token"],
            "requests_while_limited": s["requests_while_limited"],
        }
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
        hub.stop()
        _drop_db(db_name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller repositories")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    parser.add_argument("--latency-ms", type=int, default=500)
    parser.add_argument("--skip-workers", action="store_true", help="only the request counts")
    args = parser.parse_args()

    rows = incremental_rounds(repos=20, prs=30 if args.quick else 60)
    for row in rows:
        print(
            f"{row['scenario']}: {row['requests']} requests ({row['not_modified']} free 304s), "
            f"{row['graphql_points']} GraphQL points, {row['prs_saved']} PRs saved, "
            f"{row['prs_repolled_for_ci']} re-polled for CI"
        )
    if not args.skip_workers:
        repos, prs = (4, 50) if args.quick else (8, 100)
        for workers in (1, 4):
            row = worker_throughput(workers, repos, prs, args.latency_ms)
            rows.append(row)
            print(
                f"{row['scenario']}: {row['prs']}/{row['expected_prs']} PRs in {row['seconds']}s = "
                f"{row['prs_per_minute']} PRs/min, {row['requests']} requests, "
                f"max in flight per token {row['max_in_flight_per_token']}, "
                f"requests while limited {row['requests_while_limited']}"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
