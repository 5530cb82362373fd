"""Real Celery workers (prefork, 4 processes) on Redis, PostgreSQL, and fakehub over HTTP.

The workers are separate processes, so they cannot see pytest's test database: this module
creates its own PostgreSQL database (on DATABASE_URL's server, else 127.0.0.1:5432), migrates
it with `manage.py migrate`, and reads it with psycopg. Redis is REDIS_TEST_URL (DB 15 by
default), shared with whatever else runs on the host, so nothing here flushes it: this run's
tasks travel on a queue of its own (`prharvest-test-<hex>`, the workers' default queue through a
settings module generated for the run), the coordinator's keys carry the fakehub URL's hash, and
tracked-repository ids start at a random offset, so the per-repository keys of sync and webhooks
(`prharvest:repo-sync:{id}`, `prharvest:sync-requested:{id}`) are this run's alone.
Every wait is bounded; workers and the web server are killed at teardown whatever happens.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from celery import Celery
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fakehub.server import FakeHub

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
TOKEN = "ghp_celery_workers_one_token"
SECRET = "celery-webhook-secret"
REPOS = [f"acme/r{i:02d}" for i in range(1, 21)]
WAIT = 60.0  # upper bound of any single wait; never reached when things work
RUN = secrets.token_hex(4)
QUEUE = f"prharvest-test-{RUN}"  # this run's Celery queue: other runs' workers never take its tasks
SETTINGS_MODULE = f"prharvest_test_settings_{RUN}"


def wait_for(what: str, predicate: Callable[[], Any], timeout: float = WAIT) -> Any:
    """Poll `predicate` until truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def _required(service: str, problem: str) -> None:
    # Never a skip: the worker tests are the proof of issue 5 (.ci/run starts both services).
    pytest.fail(f"{service} is needed for the worker tests: {problem}")


# --- services ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    conn = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        conn.ping()
    except redis.ConnectionError as exc:
        _required("Redis", str(exc))
    try:
        yield REDIS_TEST_URL
    finally:
        # This run's queues only (kombu keeps priority lists beside each queue's own key).
        for queue in (QUEUE, f"{QUEUE}-app"):
            keys = [queue.encode(), *conn.scan_iter(match=f"{queue}\x06*")]
            conn.delete(*keys)


@pytest.fixture(scope="module")
def worker_db() -> Iterator[str]:
    """A fresh PostgreSQL database for the workers; its Django URL. Dropped at the end."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        base = "postgres://root@127.0.0.1:5432/postgres"
    info = psycopg.conninfo.conninfo_to_dict(base)
    name = f"prharvest_workers_{os.getpid()}"
    admin = psycopg.conninfo.make_conninfo(base, dbname="postgres")
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        _required("PostgreSQL", str(exc).splitlines()[0])
    user = info.get("user") or "root"
    password = f":{info['password']}" if info.get("password") else ""
    host, port = info.get("host") or "127.0.0.1", info.get("port") or "5432"
    url = f"postgres://{user}{password}@{host}:{port}/{name}"
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def request_log(tmp_path_factory) -> Path:
    """fakehub's request log: a JSON line per request (query and variables, never a token)."""
    return tmp_path_factory.mktemp("fakehub") / "requests.jsonl"


@pytest.fixture(scope="module")
def hub(app_key, request_log) -> Iterator[FakeHub]:
    public = (
        app_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    sizes = [12 + 7 * i for i in range(len(REPOS))]
    server = FakeHub(
        synthetic=[
            (name, size, i + 1) for i, (name, size) in enumerate(zip(REPOS, sizes, strict=True))
        ],
        latency_ms=10,
        request_log=request_log,
        app_public_key=public,
        installation_token_seconds=1.5,
    ).start()
    yield server
    server.stop()


def stats(hub: FakeHub) -> dict[str, Any]:
    return httpx.get(f"{hub.url}/_fakehub/stats").json()


def control(hub: FakeHub, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(method, f"{hub.url}/_fakehub{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json() if response.content else None


class Env:
    """The environment of every subprocess (workers, manage.py, the web server)."""

    def __init__(self, db: str, broker: str, hub: FakeHub, tmp: Path, **extra: str) -> None:
        self.db = db
        # The project's settings plus this run's default queue (settings read no such variable).
        (tmp / f"{SETTINGS_MODULE}.py").write_text(
            f"from config.settings import *  # noqa: F403\nCELERY_TASK_DEFAULT_QUEUE = {QUEUE!r}\n"
        )
        python_path = os.pathsep.join(p for p in (str(tmp), os.environ.get("PYTHONPATH")) if p)
        self.vars = {
            **os.environ,
            "PYTHONPATH": python_path,
            "DATABASE_URL": db,
            "CELERY_BROKER_URL": broker,
            "REDIS_URL": broker,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "GITHUB_API_URL": hub.url,
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_WEBHOOK_SECRET": SECRET,
            # With DEBUG off, the server refuses the public development key.
            "DJANGO_SECRET_KEY": "celery-worker-tests-" + "k" * 40,
            "SEEDING_CACHE_DIR": str(tmp / "cache"),
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "LOG_LEVEL": "INFO",
            **extra,
        }

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.vars,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    def sql(self, query: str, *params: Any) -> list[tuple]:
        with psycopg.connect(self.db.replace("postgres://", "postgresql://", 1)) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def one(self, query: str, *params: Any) -> Any:
        return self.sql(query, *params)[0][0]


def start(args: list[str], env: Env, log: Path) -> subprocess.Popen:
    handle = log.open("w")
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=env.vars,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    """Warm shutdown first, then kill the whole process group (workers' children included)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def start_workers(
    env: Env, log: Path, concurrency: int = 4, queue: str = QUEUE
) -> subprocess.Popen:
    worker = start(
        [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "--pool", "prefork", "--concurrency", str(concurrency), "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", queue,
            "-n", f"test-{os.getpid()}-{log.stem}@%h",
        ],
        env,
        log,
    )  # fmt: skip
    wait_for("the Celery worker to be ready", lambda: "ready." in log.read_text() or worker.poll())
    assert worker.poll() is None, log.read_text()[-3000:]
    return worker


@pytest.fixture(scope="module")
def env(worker_db, redis_url, hub, tmp_path_factory) -> Env:
    tmp = tmp_path_factory.mktemp("workers")
    env = Env(worker_db, redis_url, hub, tmp)
    env.manage("migrate", "--noinput")
    # Ids from a random offset: the per-repository Redis keys of two runs never meet.
    env.sql(
        "SELECT setval(pg_get_serial_sequence('metrics_trackedrepository', 'id'), %s)",
        secrets.randbelow(10**9) + 10**6,
    )
    return env


@pytest.fixture(scope="module")
def workers(env, tmp_path_factory) -> Iterator[Path]:
    log = tmp_path_factory.mktemp("logs") / "pat.log"
    worker = start_workers(env, log)
    try:
        yield log
    finally:
        stop(worker)


@pytest.fixture(scope="module")
def producer(redis_url) -> Iterator[Celery]:
    app = Celery("test-producer", broker=redis_url)
    app.conf.task_default_queue = QUEUE
    yield app
    app.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def web(env, tmp_path_factory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("logs") / "web.log"
    server = start(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], env, log
    )
    url = f"http://127.0.0.1:{port}"

    def listening() -> bool:
        try:
            return httpx.post(f"{url}/webhooks/github/", timeout=2).status_code == 401
        except httpx.HTTPError:
            assert server.poll() is None, log.read_text()[-3000:]
            return False

    try:
        wait_for("the web server", listening)
        yield url
    finally:
        stop(server)


# --- helpers ----------------------------------------------------------------------------------


def fakehub_pr_count(hub: FakeHub, names: list[str]) -> int:
    repos = {r["nameWithOwner"]: r for r in control(hub, "GET", "/repos")}
    return sum(int(repos[name]["prs"]) for name in names)


def stored(env: Env, names: list[str]) -> int:
    return env.one("SELECT count(*) FROM metrics_pullrequest WHERE github_repo = ANY(%s)", names)


def synced_since(env: Env, names: list[str], since: float) -> bool:
    done = env.one(
        "SELECT count(*) FROM metrics_trackedrepository WHERE full_name = ANY(%s) "
        "AND status = 'ok' AND last_synced_at >= to_timestamp(%s)",
        names,
        since,
    )
    return done == len(names)


_OPERATION = re.compile(r"^\s*query\s+(\w+)")
PR_PAGE_QUERIES = ("FetchPRsBulk", "FetchPRsUpdated")


def log_lines(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def pr_page_requests(log: Path, start: int, end: int) -> list[tuple[str, str, str | None]]:
    """(repository, query, after cursor) of each PR-page request logged in lines [start, end)."""
    pages = []
    for line in log.read_text().splitlines()[start:end]:
        entry = json.loads(line)
        match = _OPERATION.match(entry.get("query") or "")
        variables = entry.get("variables") or {}
        if match and match.group(1) in PR_PAGE_QUERIES:
            repo = f"{variables.get('owner')}/{variables.get('name')}"
            pages.append((repo, match.group(1), variables.get("after")))
        elif match and match.group(1) == "FetchRepoFirstPages":
            # First pages of several repositories, one alias each ($o0/$n0, $o1/$n1, ...).
            for i in range(len(variables)):
                if f"o{i}" not in variables:
                    break
                repo = f"{variables[f'o{i}']}/{variables[f'n{i}']}"
                pages.append((repo, match.group(1), None))
    return pages


def make_due(env: Env) -> None:
    """What the passing of SYNC_INTERVAL_SECONDS does: every repository is due again."""
    env.sql("UPDATE metrics_trackedrepository SET next_sync_after = now() - interval '1 second'")


def signed(payload: dict, secret: str = SECRET) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    return body, "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- tests ------------------------------------------------------------------------------------


def test_twenty_repositories_on_four_workers_share_one_token_politely(
    env, workers, producer, hub, request_log
):
    env.manage("track_repository", *REPOS, "--team", "acme", "--create-team")
    httpx.post(f"{hub.url}/_fakehub/stats/reset")
    round_one = log_lines(request_log)
    started = time.time()
    producer.send_task("apps.metrics.tasks.sync_all_repositories_task")

    # While the round runs, GitHub changes: a PR renamed, a PR opened.
    wait_for("the first pages to land", lambda: stored(env, REPOS) > 0)
    control(hub, "POST", "/repos/acme/r20/pulls", {"number": 1, "title": "renamed mid-round"})
    control(hub, "POST", "/repos/acme/r01/pulls", {"number": 999, "title": "opened mid-round"})
    wait_for("every repository synced", lambda: synced_since(env, REPOS, started))

    first = stats(hub)
    # Every repository walked once: each PR page (repository, order, cursor) asked for exactly
    # once, one first page per repository. A second walk of a repository (two workers syncing
    # it, a re-queued task starting over) asks for its first page again.
    pages = pr_page_requests(request_log, round_one, log_lines(request_log))
    repeated = sorted({page for page in pages if pages.count(page) > 1})
    assert repeated == []
    first_pages = sorted(repo for repo, _query, after in pages if after is None)
    assert first_pages == sorted(REPOS)
    assert first["max_in_flight_per_token"] == 1
    assert first["requests_while_limited"] == 0
    assert first["statuses"].get("401", 0) == 0

    # The next round picks the changes up, and every PR is stored exactly once.
    make_due(env)
    again = time.time()
    producer.send_task("apps.metrics.tasks.sync_all_repositories_task")
    wait_for("the second round", lambda: synced_since(env, REPOS, again))
    assert stored(env, REPOS) == fakehub_pr_count(hub, REPOS)
    duplicates = env.one(
        "SELECT count(*) FROM (SELECT team_id, github_repo, github_pr_id FROM metrics_pullrequest "
        "GROUP BY 1, 2, 3 HAVING count(*) > 1) d"
    )
    assert duplicates == 0
    titles = dict(
        env.sql(
            "SELECT github_repo || '#' || github_pr_id, title FROM metrics_pullrequest "
            "WHERE (github_repo, github_pr_id) IN (('acme/r20', 1), ('acme/r01', 999))"
        )
    )
    assert titles == {"acme/r20#1": "renamed mid-round", "acme/r01#999": "opened mid-round"}
    final = stats(hub)
    assert final["max_in_flight_per_token"] == 1
    assert final["requests_while_limited"] == 0
    assert TOKEN not in workers.read_text()


def test_a_signed_webhook_triggers_one_sync_and_a_forged_one_is_refused(
    env, workers, web, hub, redis_url
):
    control(hub, "POST", "/repos", {"synthetic": "acme/hooked", "prs": 15, "seed": 3})
    env.manage("track_repository", "acme/hooked", "--team", "hooks", "--create-team")
    tracked_id = env.one("SELECT id FROM metrics_trackedrepository WHERE full_name = 'acme/hooked' "
                         "AND team_id = (SELECT id FROM metrics_team WHERE slug = 'hooks')")  # fmt: skip
    conn = redis.Redis.from_url(redis_url)
    pending_key = f"prharvest:sync-requested:{tracked_id}"
    event = {"action": "edited", "number": 2, "repository": {"full_name": "acme/hooked"}}

    body, _ = signed(event)
    _, forged = signed(event, "not-the-secret")
    refused = httpx.post(
        f"{web}/webhooks/github/",
        content=body,
        headers={"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": forged},
    )
    assert refused.status_code == 401
    assert not conn.exists(pending_key)
    assert env.one("SELECT count(*) FROM metrics_pullrequest WHERE team_id = "
                   "(SELECT id FROM metrics_team WHERE slug = 'hooks')") == 0  # fmt: skip

    control(hub, "POST", "/repos/acme/hooked/pulls", {"number": 2, "title": "changed before hook"})
    queued = []
    for _ in range(3):  # a burst: pull_request + check_suite + check_run of one push
        body, signature = signed(event)
        answer = httpx.post(
            f"{web}/webhooks/github/",
            content=body,
            headers={"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": signature},
        )
        assert answer.status_code == 202
        queued.append(answer.json()["queued"])
    assert queued == [1, 0, 0]
    title = wait_for(
        "the webhook's sync",
        lambda: env.sql(
            "SELECT title FROM metrics_pullrequest p JOIN metrics_team t ON t.id = p.team_id "
            "WHERE t.slug = 'hooks' AND p.github_repo = 'acme/hooked' AND p.github_pr_id = 2"
        ),
    )
    assert title[0][0] == "changed before hook"


def test_a_rate_limited_task_re_queues_itself_until_the_reset(env, workers, producer, hub):
    control(hub, "POST", "/repos", {"synthetic": "acme/limited", "prs": 120, "seed": 7})
    env.manage("track_repository", "acme/limited", "--team", "limits", "--create-team")
    tracked_id = env.one(
        "SELECT id FROM metrics_trackedrepository WHERE full_name = 'acme/limited'"
    )
    control(hub, "POST", "/limits", {"graphql_points": 5, "reset_seconds": 2})
    httpx.post(f"{hub.url}/_fakehub/stats/reset")
    try:
        producer.send_task("apps.metrics.tasks.sync_repository_task", args=[tracked_id])
        wait_for("the rate-limited sync to finish", lambda: stored(env, ["acme/limited"]) == 120)
        wait_for(
            "the status to settle",
            lambda: (
                env.one("SELECT status FROM metrics_trackedrepository WHERE id = %s", tracked_id)
                == "ok"
            ),
        )
    finally:
        control(hub, "POST", "/limits", {"graphql_points": 5000, "reset_seconds": 3600})
    log = workers.read_text()
    assert "rate limited, re-queued in" in log or "Retry in" in log
    assert stats(hub)["requests_while_limited"] == 0
    assert stats(hub)["max_in_flight_per_token"] == 1


def test_installation_tokens_expiring_mid_sync_are_renewed_without_losing_a_page(
    env, hub, app_key, producer, tmp_path
):
    key_file = tmp_path / "app.pem"
    key_file.write_bytes(
        app_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    app_env = Env(
        env.db,
        env.vars["CELERY_BROKER_URL"],
        hub,
        tmp_path,
        GITHUB_TOKEN="",
        GITHUB_APP_ID="4242",
        GITHUB_APP_PRIVATE_KEY_PATH=str(key_file),
        GITHUB_APP_INSTALLATION_ID="99",
    )
    control(hub, "POST", "/repos", {"synthetic": "acme/app", "prs": 150, "seed": 9})
    app_env.manage("track_repository", "acme/app", "--team", "app", "--create-team")
    tracked_id = app_env.one(
        "SELECT id FROM metrics_trackedrepository WHERE full_name = 'acme/app'"
    )
    httpx.post(f"{hub.url}/_fakehub/stats/reset")
    # About 8 requests (6 pages, probe, follow-ups) at 0.4 s each: a walk of 3 s or more,
    # more than twice the 1.5 s life of an installation token here, so one must expire mid-walk.
    hub.latency = 0.4
    log = tmp_path / "app-worker.log"
    # Its own queue: the PAT workers of the other tests must not take this task.
    worker = start_workers(app_env, log, concurrency=2, queue=f"{QUEUE}-app")
    try:
        producer.send_task(
            "apps.metrics.tasks.sync_repository_task", args=[tracked_id], queue=f"{QUEUE}-app"
        )
        wait_for(
            "the App-authenticated sync",
            lambda: (
                app_env.one(
                    "SELECT status FROM metrics_trackedrepository WHERE id = %s", tracked_id
                )
                in ("ok", "failed")
            ),
        )
    finally:
        hub.latency = 0.01
        stop(worker)
    assert (
        app_env.one("SELECT last_error FROM metrics_trackedrepository WHERE id = %s", tracked_id)
        == ""
    )
    assert stored(app_env, ["acme/app"]) == 150
    assert stats(hub)["statuses"].get("201", 0) >= 2  # more than one installation token issued
    assert "ghs_" not in log.read_text()
