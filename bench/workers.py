"""A real Celery worker of the project on Redis and a scratch PostgreSQL database, for the benches.

bench_sync.py and bench_org.py measure sync rounds run by workers, as production runs them: a
settings module that only names this run's queue (so no other worker takes its tasks), a
scratch database migrated and given the tracked repositories, `celery worker --pool prefork`,
a producer that enqueues `sync_all_repositories_task`, and afterwards the run's Redis keys
deleted (the Redis database is shared with other runs and never flushed).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import REPO_ROOT

if TYPE_CHECKING:
    from celery import Celery

PG_DEFAULT = "postgres://root@127.0.0.1:5432/postgres"
SYNC_ALL_TASK = "apps.metrics.tasks.sync_all_repositories_task"


def pg_base() -> str:
    """The PostgreSQL server the benches use: BENCH_DATABASE_URL's, else the local one."""
    base = os.environ.get("BENCH_DATABASE_URL", "")
    return base if base.startswith(("postgres://", "postgresql://")) else PG_DEFAULT


def create_database(name: str) -> str:
    """Drop and create the database `name` on the bench server; return its URL."""
    import psycopg

    base = pg_base()
    admin = psycopg.conninfo.make_conninfo(base, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(base)
    user = info.get("user") or "root"
    host = info.get("host") or "127.0.0.1"
    return f"postgresql://{user}@{host}:{info.get('port') or 5432}/{name}"


def drop_database(name: str) -> None:
    import psycopg

    admin = psycopg.conninfo.make_conninfo(pg_base(), dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def worker_env(
    *,
    scratch: Path,
    settings_module: str,
    queue: str,
    database_url: str,
    redis_url: str,
    api_url: str,
    github: Mapping[str, str],
) -> dict[str, str]:
    """The environment of the worker and of the manage.py commands that prepare its database.

    Writes `settings_module` into `scratch`: the project's settings plus this run's default
    queue (the settings read no such variable). The caller's GITHUB_* variables are dropped, so
    only `github` (a token, or an App's id, key and installation) reaches the worker.
    """
    (scratch / f"{settings_module}.py").write_text(
        f"from config.settings import *  # noqa: F403\nCELERY_TASK_DEFAULT_QUEUE = {queue!r}\n"
    )
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")},
        "PYTHONPATH": os.pathsep.join(p for p in (str(scratch), os.environ.get("PYTHONPATH")) if p),
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis_url,
        "REDIS_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "GITHUB_API_URL": api_url,
        **github,
        "SEEDING_CACHE_DIR": str(scratch / "cache"),
        "DJANGO_SETTINGS_MODULE": settings_module,
        "LOG_LEVEL": "WARNING",
    }


def track(env: Mapping[str, str], names: Sequence[str], team: str) -> None:
    """Migrate the worker's database and track `names` in a new team `team`."""
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=REPO_ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    subprocess.run([*manage, "track_repository", *names, "--team", team, "--create-team"],
                   cwd=REPO_ROOT, env=env, check=True, capture_output=True)  # fmt: skip


@contextmanager
def celery_worker(
    env: Mapping[str, str],
    *,
    queue: str,
    concurrency: int,
    node: str,
    log_path: Path,
    stop_timeout: float,
) -> Iterator[subprocess.Popen[bytes]]:
    """A prefork worker on `queue`, ready when the block starts, stopped (SIGTERM) after it."""
    handle = log_path.open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork",
         "--concurrency", str(concurrency), "--loglevel", "INFO", "--without-gossip",
         "--without-mingle", "--without-heartbeat", "-Q", queue, "-n", node],
        cwd=REPO_ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "ready." not in log_path.read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("worker did not start: " + log_path.read_text()[-500:])
            time.sleep(0.2)
        yield worker
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=stop_timeout)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
        handle.close()


def producer(name: str, redis_url: str, queue: str) -> Celery:
    """A Celery app that only sends tasks to this run's queue."""
    from celery import Celery

    app = Celery(name, broker=redis_url)
    app.conf.task_default_queue = queue
    return app


def clean_redis(redis_url: str, queue: str, api_url: str, patterns: Sequence[str] = ()) -> None:
    """Delete this run's keys only: its queue (and kombu's side keys), its coordination keys
    (prefixed by a hash of the API URL, as apps/metrics/sync/run.py names them) and the
    keys matching `patterns`."""
    import redis

    conn = redis.Redis.from_url(redis_url)
    prefix = "prharvest:" + hashlib.sha256(api_url.encode()).hexdigest()[:8]
    keys = [queue.encode(), *conn.scan_iter(match=f"{queue}\x06*")]
    keys += list(conn.scan_iter(match=f"{prefix}:*"))
    for pattern in patterns:
        keys += list(conn.scan_iter(match=pattern))
    if keys:
        conn.delete(*keys)
    conn.close()
