"""A sync or seed killed with SIGKILL blocks nothing: the next sync takes its repository over.

Real processes throughout: fakehub as a subprocess (slow enough to be killed mid-walk), the
command under test as `manage.py` in a subprocess on a SQLite file, `kill -9`, then the next
`sync_repositories`. Before, the next runs printed "skipped, another sync of it is running" for
the lock's whole TTL (10 minutes) and still ended "synced 1 of 1" with exit 0.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from apps.integrations.github.lock_holder import holder_is_dead, process_holder
from fakehub.testing import start_fakehub_process

ROOT = Path(__file__).resolve().parents[3]
REPO = "acme/rocket"
PRS = 300
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="module")
def slow_hub() -> Iterator[str]:
    process, url = start_fakehub_process(["--synthetic", f"{REPO}:{PRS}:5", "--latency-ms", "150"])
    yield url
    process.terminate()
    process.wait(timeout=10)


def env_for(db: Path, url: str, **extra: str) -> dict[str, str]:
    drop = ("GITHUB_", "DATABASE_URL", "REDIS_URL", "CELERY_", "SQLITE_PATH", "SEEDING_CACHE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        SQLITE_PATH=str(db),
        SEEDING_CACHE_DIR=str(db.parent / "cache"),
        GITHUB_API_URL=url,
        GITHUB_TOKEN="crash-test-token",
        **extra,
    )
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def row(db: Path) -> tuple[str, str]:
    con = sqlite3.connect(db, timeout=20)
    try:
        found = con.execute(
            "SELECT status, sync_holder FROM metrics_trackedrepository WHERE full_name = ?", (REPO,)
        ).fetchone()
    finally:
        con.close()
    return found or ("", "")


def stored(db: Path) -> int:
    con = sqlite3.connect(db, timeout=20)
    try:
        return con.execute("SELECT COUNT(*) FROM metrics_pullrequest").fetchone()[0]
    finally:
        con.close()


def kill_when(process: subprocess.Popen[str], ready, what: str) -> None:
    """SIGKILL `process` as soon as `ready()` holds (it must hold before the process ends)."""
    deadline = time.monotonic() + 120
    while not ready():
        assert process.poll() is None, f"the process ended before {what}: {process.communicate()}"
        assert time.monotonic() < deadline, f"no {what} within 120 s"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)  # reaped: its pid is gone, as after any crash


COMMANDS = {
    "sync": ["sync_repositories"],
    "seed": ["seed_real_projects", "--repo", REPO, "--team-slug", "acme"],
}


@pytest.mark.slow
@pytest.mark.parametrize("killed", ["sync", "seed"])
def test_a_killed_sync_or_seed_is_taken_over_at_once_by_the_next_sync(slow_hub, tmp_path, killed):
    db = tmp_path / "db.sqlite3"
    env = env_for(db, slow_hub)
    assert manage("migrate", "-v", "0", env=env).returncode == 0
    assert (
        manage("track_repository", REPO, "--team", "acme", "--create-team", env=env).returncode == 0
    )

    process = subprocess.Popen(
        [sys.executable, "manage.py", *COMMANDS[killed]],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kill_when(process, lambda: row(db)[0] == "running" and row(db)[1], "running status")
    status, holder = row(db)
    assert status == "running"
    assert holder.split(" ")[1] == str(process.pid)

    started = time.monotonic()
    result = manage("sync_repositories", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipped" not in result.stdout + result.stderr
    assert "synced 1 of 1 repositories" in result.stdout
    assert "took over the sync of a dead process" in result.stderr
    assert time.monotonic() - started < 120  # not the lock's 600 s TTL
    assert row(db)[0] == "ok"
    assert stored(db) == PRS


@pytest.mark.slow
@pytest.mark.redis
def test_a_killed_sync_holding_the_redis_lock_is_taken_over_at_once(slow_hub, tmp_path):
    conn = redis.Redis.from_url(REDIS_TEST_URL)
    db = tmp_path / "db.sqlite3"
    env = env_for(db, slow_hub, REDIS_URL=REDIS_TEST_URL)
    assert manage("migrate", "-v", "0", env=env).returncode == 0
    assert (
        manage("track_repository", REPO, "--team", "acme", "--create-team", env=env).returncode == 0
    )
    con = sqlite3.connect(db)
    pk = con.execute("SELECT id FROM metrics_trackedrepository").fetchone()[0]
    con.close()
    key = f"prharvest:repo-sync:{pk}"
    conn.delete(key)  # a key of another run of this test with the same id
    try:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "sync_repositories"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        kill_when(process, lambda: conn.exists(key), "Redis lock")
        token = conn.get(key).decode()
        assert token.split(" ")[1] == str(process.pid)
        assert conn.pttl(key) > 500_000  # left behind for the TTL, without the takeover

        result = manage("sync_repositories", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "synced 1 of 1 repositories" in result.stdout
        assert "took over the sync lock of a dead process" in result.stderr
        assert not conn.exists(key)
        assert stored(db) == PRS
    finally:
        conn.delete(key)


def test_a_lock_holder_is_dead_only_when_its_process_on_this_host_is_gone():
    me = process_holder()
    assert not holder_is_dead(me)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child_holder = me.split(" ")[0] + f" {child.pid} -"
    child.wait()
    assert holder_is_dead(child_holder)
    # Another host, or a holder we cannot parse: never presumed dead (the TTL decides).
    assert not holder_is_dead(f"elsewhere.example {child.pid} 1")
    assert not holder_is_dead("")
    assert not holder_is_dead("garbage")
    # The same pid with another start time is another process (the pid was reused).
    host, pid, start = me.split(" ")
    assert holder_is_dead(f"{host} {pid} {int(start) + 1}")
