"""The worst input, as a user meets it: real `manage.py` processes and a real server.

- every command with the database, Redis or the broker down, or a setting out of range: one
  line on stderr and a non-zero exit, never a traceback;
- safe defaults: DEBUG off unless asked for, no server on the public development key with
  DEBUG off, `check --deploy` clean with the README's production settings, no password on the
  debug 500 page;
- a webhook while the broker is down: 503 with Retry-After.

Down = a closed port (nothing listens there), as after a crash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
TIMEOUT = 120


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh shell: none of the test run's GitHub, database or Redis
    variables (each test says what it wants)."""
    drop = ("GITHUB_", "DATABASE_URL", "REDIS_URL", "CELERY_", "DJANGO_", "SQLITE_PATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(extra)
    return env


def manage(
    *args: str, env: dict[str, str], cwd: Path = ROOT, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """A failure told in one line on stderr (no traceback), naming what to check."""
    assert result.returncode != 0, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# --- infrastructure down ----------------------------------------------------------------------

COMMANDS = [
    ("sync_repositories",),
    ("track_repository", "acme/rocket", "--team", "acme", "--create-team"),
    ("pr_metrics", "--team", "acme"),
    ("recompute_metrics",),
    ("seed_real_projects", "--repo", "acme/rocket", "--github-token", "t", "--no-cache"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_every_command_says_in_one_line_that_the_database_is_down(command):
    url = f"postgres://root:db-pass-9@127.0.0.1:{closed_port()}/prharvest"
    result = manage(*command, env=base_env(DATABASE_URL=url, GITHUB_API_URL="http://127.0.0.1:1"))
    line = assert_one_line(result, "database", "Connection refused")
    assert result.returncode == 1
    assert "db-pass-9" not in line


@pytest.fixture
def sqlite_db(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite file tracking acme/rocket, as the README's first commands leave it."""
    env = base_env(SQLITE_PATH=str(tmp_path / "db.sqlite3"))
    assert manage("migrate", "-v", "0", env=env).returncode == 0
    tracked = manage("track_repository", "acme/rocket", "--team", "acme", "--create-team", env=env)
    assert tracked.returncode == 0, tracked.stderr
    return env


def test_sync_says_in_one_line_that_redis_is_down(sqlite_db):
    env = {**sqlite_db, "GITHUB_TOKEN": "t", "REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0"}
    result = manage("sync_repositories", env=env)
    assert_one_line(result, "Redis unavailable", "REDIS_URL")
    assert result.returncode == 1


def test_sync_says_in_one_line_that_the_broker_it_shares_with_redis_is_down(sqlite_db):
    broker = f"redis://:broker-pass-3@127.0.0.1:{closed_port()}/0"
    env = {**sqlite_db, "GITHUB_TOKEN": "t", "CELERY_BROKER_URL": broker}
    line = assert_one_line(manage("sync_repositories", env=env), "Redis unavailable")
    assert "broker-pass-3" not in line


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("inf", "must be a finite number"),
        ("nan", "must be a finite number"),
        ("-5", "must be greater than 0"),
        ("0", "must be greater than 0"),
        ("1e308", "must be at most 3600"),
        ("soon", "must be a number"),
    ],
)
def test_an_out_of_range_timeout_is_one_line_and_exit_2_for_every_command(value, says):
    for command in (("sync_repositories",), ("pr_metrics", "--team", "acme")):
        result = manage(*command, env=base_env(GITHUB_TIMEOUT_SECONDS=value))
        assert_one_line(result, "configuration error: GITHUB_TIMEOUT_SECONDS", says)
        assert result.returncode == 2


# --- safe defaults ----------------------------------------------------------------------------


def test_debug_is_off_unless_asked_for():
    code = "from django.conf import settings; print(settings.DEBUG)"
    default = manage("shell", "-c", code, env=base_env())
    assert default.stdout.strip().splitlines()[-1] == "False"
    asked = manage("shell", "-c", code, env=base_env(DJANGO_DEBUG="true"))
    assert asked.stdout.strip().splitlines()[-1] == "True"


def test_the_server_refuses_the_public_development_key_when_debug_is_off():
    result = manage("runserver", "--noreload", f"127.0.0.1:{closed_port()}", env=base_env())
    assert_one_line(result, "public development SECRET_KEY", "DJANGO_SECRET_KEY")
    assert result.returncode == 2


# The README's "Production settings", with a random key: check --deploy finds nothing.
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_ALLOWED_HOSTS": "prharvest.example.com",
    "DJANGO_SECURE_SSL_REDIRECT": "true",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "DJANGO_SECURE_HSTS_PRELOAD": "true",
    "DJANGO_SESSION_COOKIE_SECURE": "true",
    "DJANGO_CSRF_COOKIE_SECURE": "true",
}


def test_check_deploy_is_clean_with_the_production_settings_of_the_readme():
    env = base_env(**PRODUCTION, DJANGO_SECRET_KEY=secrets.token_urlsafe(50))
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    readme = (ROOT / "README.md").read_text()
    for name in PRODUCTION:
        assert f"\n{name}={PRODUCTION[name]}" in readme, f"{name} is not in the README"


def test_check_deploy_flags_the_public_development_key():
    result = manage("check", "--deploy", env=base_env(**PRODUCTION))
    assert result.returncode != 0
    assert "prharvest.E001" in result.stderr


def free_port() -> int:
    return closed_port()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator:
    """Start `manage.py runserver` with an environment; yields a starter returning the URL."""
    started: list[subprocess.Popen[str]] = []

    def start(env: dict[str, str], cwd: Path = ROOT) -> str:
        port = free_port()
        log = open(tmp_path / f"server-{port}.log", "w")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "runserver",
                "--noreload",
                f"127.0.0.1:{port}",
            ],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"runserver exited: {(tmp_path / f'server-{port}.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return f"http://127.0.0.1:{port}"
            except OSError:
                time.sleep(0.1)
        pytest.fail("runserver did not listen within 60 s")

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def test_the_debug_error_page_shows_no_password(serve, tmp_path):
    # An empty SQLite file (not migrated): the session lookup fails, DEBUG draws its 500 page,
    # which lists request.META (runserver passes the environment there) and the settings.
    env = base_env(
        DJANGO_DEBUG="true",
        DATABASE_URL="sqlite://root:db-pass-7@/empty.sqlite3",
        CELERY_BROKER_URL=f"redis://:broker-pass-7@127.0.0.1:{closed_port()}/0",
        GITHUB_TOKEN="ghp_token_pass_7",
    )
    url = serve(env, cwd=tmp_path)
    response = httpx.get(url + "/", cookies={"sessionid": "s" * 32}, timeout=30)
    assert response.status_code == 500
    page = response.text
    assert "DATABASE_URL" in page and "CELERY_BROKER_URL" in page  # both were on the page
    for secret in ("db-pass-7", "broker-pass-7", "ghp_token_pass_7"):
        assert secret not in page


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_webhook_while_the_broker_is_down_answers_503_with_retry_after(serve, sqlite_db):
    secret = "hook-secret-5"
    env = {
        **sqlite_db,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "GITHUB_WEBHOOK_SECRET": secret,
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{closed_port()}/0",
        "REDIS_URL": REDIS_TEST_URL,  # the debounce works; only the broker is down
    }
    url = serve(env)
    body = json.dumps({"action": "opened", "repository": {"full_name": "acme/rocket"}}).encode()
    response = httpx.post(
        url + "/webhooks/github/",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "pull_request",
            "X-Hub-Signature-256": sign(body, secret),
        },
        timeout=60,
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert response.json() == {"error": "the sync queue is unavailable, retry later"}
