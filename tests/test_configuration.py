"""A malformed setting stops every command with one line naming the variable, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_manage(env_updates: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(env_updates)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GITHUB_TIMEOUT_SECONDS", "abc"),
        ("GITHUB_TIMEOUT_SECONDS", "-5"),
        ("LOG_LEVEL", "bogus"),
        ("DATABASE_URL", "notaurl"),
        ("DATABASE_URL", "mysqlx://secret-password@db/name"),
        ("DB_CONN_MAX_AGE", "-1"),
        ("DJANGO_DEBUG", "maybe"),
        ("SYNC_INTERVAL_SECONDS", "often"),
    ],
)
def test_a_malformed_setting_is_one_line_naming_it(variable: str, value: str) -> None:
    result = run_manage({variable: value}, "check")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr
    assert "secret-password" not in result.stderr  # a URL's password is never echoed


def test_good_settings_pass_the_checks() -> None:
    result = run_manage({"LOG_LEVEL": "info", "GITHUB_TIMEOUT_SECONDS": "30"}, "check")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
