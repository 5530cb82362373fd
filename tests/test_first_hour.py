"""The first hour of a newcomer: `make demo`, then the README's commands as written.

The demo runs for real (fakehub, SQLite, the seed command) in a scratch folder laid out like
the repository (`manage.py` and `.venv` linked in), so the README's relative paths
(`.venv/bin/python manage.py ...`, `demo.sqlite3`) mean there what they mean at the root.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def readme_block(title: str) -> list[str]:
    """The command lines of the first ```sh block under the README heading `title`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def clean_env() -> dict[str, str]:
    """The newcomer's shell: none of the variables the README asks them to set."""
    drop = {"DATABASE_URL", "SQLITE_PATH", "SEEDING_CACHE_DIR", "PRHARVEST_DEMO_DIR"}
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("GITHUB_")}


@pytest.fixture(scope="module")
def demo_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where `make demo` ran: its demo.sqlite3 and .seeding_cache/demo/ are there."""
    where = tmp_path_factory.mktemp("checkout")
    (where / "manage.py").symlink_to(ROOT / "manage.py")
    (where / ".venv").symlink_to(sys.prefix)  # the environment running the tests
    env = clean_env() | {"PRHARVEST_DEMO_DIR": str(where)}
    demo = subprocess.run(
        [sys.executable, "scripts/demo.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert (where / "demo.sqlite3").exists()
    return where


def test_every_readme_command_after_make_demo_works_as_written_on_the_demos_data(
    demo_checkout: Path,
) -> None:
    lines = readme_block("After `make demo`")
    export = lines[0]
    assert export.startswith("export ")
    outputs = []
    for line in lines[1:]:
        if line.startswith(("make serve", "unset ")):
            continue  # the server is checked below; unset only leaves the demo's data
        result = subprocess.run(
            ["bash", "-c", f"{export}\n{line}"],
            cwd=demo_checkout,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, (line, result.stderr)
        outputs.append(result.stdout)
    table, csv_text, json_text = outputs
    assert re.search(r"^antiwork: \d+ PRs merged in 12 week\(s\)", table, re.M)
    weeks, reviewers = csv_text.split("\n\n")
    assert next(csv.DictReader(io.StringIO(weeks)))["week"]
    assert "reviewer,is_bot,reviews" in reviewers
    assert json.loads(json_text)["member"] == "jmuller"


def test_make_serve_serves_the_database_and_cache_the_readme_names(demo_checkout: Path) -> None:
    export = readme_block("After `make demo`")[0]
    recipe = (ROOT / "Makefile").read_text().split("\nserve:", 1)[1].split("\n\n", 1)[0]
    for assignment in export.removeprefix("export ").split():
        assert assignment in recipe, (assignment, recipe)
    assert "-u DATABASE_URL" in recipe  # a configured database never replaces the demo's


def test_the_sync_status_page_after_the_demo_shows_points_remaining_reset_and_the_cache(
    demo_checkout: Path,
) -> None:
    script = (
        "import re, django\n"
        "django.setup()\n"
        "from django.test import Client\n"
        "c = Client()\n"
        "assert c.login(username='demo', password='demo')\n"
        "html = c.get('/sync/').content.decode()\n"
        "print(len(re.findall(r'class=\"num\">\\d{4}</td>', html)))\n"
        "print(html.count('no cache file'))\n"
        "print(len(re.findall(r'\\d+ PRs \\(no PR limit\\)', html)))\n"
        "print(len(re.findall(r'\\(in \\d+', html)))\n"
    )
    export = readme_block("After `make demo`")[0]
    result = subprocess.run(
        ["bash", "-c", f'{export}\n.venv/bin/python -c "$SCRIPT"'],
        cwd=demo_checkout,
        env=clean_env()
        | {"SCRIPT": script, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    points, no_cache, cached, resets = (int(n) for n in result.stdout.split())
    # Three repositories: each with the points left, a cache file and a reset to come.
    assert (points, no_cache, cached, resets) == (3, 0, 3, 3)


def test_celery_beat_keeps_its_schedule_in_an_ignored_state_folder() -> None:
    from config.celery import app

    schedule = Path(app.conf.beat_schedule_filename)
    assert schedule.parent == ROOT / ".state"
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(schedule) + ".db"], cwd=ROOT, capture_output=True
    )
    assert ignored.returncode == 0
