"""A token never reaches the cache, the database, the command's output or GitHub's request log.

The seeds run as a user runs them (`manage.py seed_real_projects` in a subprocess, a SQLite file,
fakehub over HTTP) with distinctive tokens, then every place they could leak to is scanned as
bytes: each cache file (partial pages included), every value of every table and the database
files themselves, stdout and stderr, and fakehub's request log.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from fakehub.control import FakeHubControl
from fakehub.server import FakeHub

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "ghp_TOKENMARKER123"
SECOND = "ghp_SECONDMARKER456"
BAD = "ghp_BADTOKENMARKER789"
MARKERS = (TOKEN, SECOND, BAD)


def migrate(db: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["SQLITE_PATH"] = str(db)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
    )


def run_seed(
    args: list[str], *, db: Path, url: str, env_extra: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("GITHUB_") and k != "DATABASE_URL"
    }
    env.update(
        {
            "SQLITE_PATH": str(db),
            "GITHUB_API_URL": url,
            "SEEDING_CACHE_DIR": str(db.parent / "cache"),
            **env_extra,
        }
    )
    return subprocess.run(
        [sys.executable, "manage.py", "seed_real_projects", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def leaks_in_files(paths: list[Path]) -> list[str]:
    """Each file of `paths` holding a token marker (as bytes), as "name: marker"."""
    found = []
    for path in sorted(p for p in paths if p.is_file()):
        data = path.read_bytes()
        found += [f"{path.name}: {m}" for m in MARKERS if m.encode() in data]
    return found


def leaks_in_tables(db: Path) -> list[str]:
    """Every value of every table holding a token marker, as "table.column: marker"."""
    found = []
    connection = sqlite3.connect(db)
    try:
        tables = [
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                    found += [f"{table}.{column}: {m}" for m in MARKERS if m in text]
    finally:
        connection.close()
    return found


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """Seeds through every path that handles a token; what they printed, where they wrote."""
    folder = tmp_path_factory.mktemp("secrets")
    log = folder / "requests.jsonl"
    server = FakeHub(
        synthetic=[("acme/rocket", 40, 1), ("acme/sled", 12, 2)],
        tokens=[TOKEN, SECOND],
        request_log=str(log),
    ).start()
    hub = FakeHubControl(server.url)
    db = folder / "db" / "db.sqlite3"
    db.parent.mkdir()
    migrate(db)
    outputs: list[str] = []
    results = []

    def seed(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
        result = run_seed(args, db=db, url=server.url, env_extra=env)
        outputs.append(result.stdout + result.stderr)
        results.append(result)
        return result

    try:
        seed(["--repo", "acme/rocket"], GITHUB_TOKEN=TOKEN)  # full walk, cache written
        hub.upsert_pr("acme/rocket", {"number": 3, "title": "changed"})
        seed(["--repo", "acme/rocket"], GITHUB_TOKEN=TOKEN)  # incremental, cache merged
        seed(["--repo", "acme/rocket", "--github-token", TOKEN])  # unchanged: a 304
        seed(
            ["--repo", "acme/sled", "--rest-check-runs", "--no-cache"],
            GITHUB_SEEDING_TOKENS=f"{TOKEN},{SECOND}",
        )
        seed(["--repo", "acme/missing"], GITHUB_TOKEN=TOKEN)  # an error line
        seed(["--repo", "acme/sled"], GITHUB_TOKEN=BAD)  # 401
    finally:
        server.stop()
    return {"db": db, "log": log, "outputs": outputs, "results": results}


def test_the_seeds_ran_and_the_bad_token_was_refused(seeded):
    codes = [r.returncode for r in seeded["results"]]
    assert codes == [0, 0, 0, 0, 1, 1], [r.stderr for r in seeded["results"]]
    assert "unchanged" in seeded["results"][2].stdout


def test_no_token_reaches_a_cache_file(seeded):
    cache = seeded["db"].parent / "cache"
    assert any(cache.iterdir())
    assert leaks_in_files(list(cache.rglob("*"))) == []


def test_no_token_reaches_any_value_of_any_table_or_the_database_files(seeded):
    assert leaks_in_tables(seeded["db"]) == []
    db = seeded["db"]
    assert leaks_in_files(list(db.parent.glob(f"{db.name}*"))) == []  # freed pages, journals


def test_no_token_reaches_the_commands_output(seeded):
    for output in seeded["outputs"]:
        assert output.strip()
        assert [m for m in MARKERS if m in output] == []


def test_no_token_reaches_fakehubs_request_log(seeded):
    text = seeded["log"].read_text()
    assert text.count("\n") > 10  # the log holds the seeds' requests
    assert [m for m in MARKERS if m in text] == []


def test_a_refused_token_is_not_in_its_one_line_error(seeded):
    refused = seeded["results"][-1]
    lines = [line for line in refused.stderr.splitlines() if line.strip()]

    assert len(lines) == 1 and "401" in lines[0]
    assert BAD not in refused.stderr + refused.stdout
    assert "BADTOKENMARKER" not in lines[0]
