"""`make demo`: the whole pipeline offline, against fakehub, in about a minute; no token, no network.

1. starts fakehub (the project's offline GitHub) on a free port with generated antiwork data;
2. migrates a demo SQLite database (demo.sqlite3 at the repository root, rebuilt each run; the
   seeding cache in .seeding_cache/demo/): the user's own db.sqlite3 and cache are never touched;
3. runs `seed_real_projects --project antiwork` twice: the first run fetches every PR, the
   second finds nothing changed (one `304` per repository, 0 GraphQL points);
4. changes two PRs in fakehub and seeds again: only those are fetched (incremental);
5. prints the team's PR metrics, what fakehub counted, and how to open the dashboard;
   stops fakehub; exits 0.

The README's commands on the demo's data name its database and cache the way the last lines
printed here do (`export SQLITE_PATH=demo.sqlite3 SEEDING_CACHE_DIR=.seeding_cache/demo`), and
`make serve` serves them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# Where the demo's files go: the repository root (tests point it at a scratch folder).
DEMO_DIR = Path(os.environ.get("PRHARVEST_DEMO_DIR") or ROOT)
DEMO_DB = DEMO_DIR / "demo.sqlite3"
DEMO_CACHE = DEMO_DIR / ".seeding_cache" / "demo"
# How the README's commands (and `make serve`) reach the demo's data: relative to the root.
DEMO_EXPORT = f"export SQLITE_PATH={DEMO_DB.name} SEEDING_CACHE_DIR=.seeding_cache/demo"
SYNTHETIC = ["antiwork/gumroad:120", "antiwork/flexile:200", "antiwork/helper:80"]
DUMMY_TOKEN = "demo-token-not-a-secret"  # fakehub accepts any token by default


def say(text: str = "") -> None:
    print(text, flush=True)


def start_fakehub() -> tuple[subprocess.Popen[str], str]:
    args = [PYTHON, "-m", "fakehub", "serve", "--port", "0"]
    for repo in SYNTHETIC:
        args += ["--synthetic", repo]
    process = subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    prefix = "fakehub listening on "
    if not line.startswith(prefix):
        process.kill()
        _, err = process.communicate(timeout=30)
        raise RuntimeError(f"fakehub did not start: {(line + ' ' + err).strip()}")
    return process, line[len(prefix) :]


def demo_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env.pop("DATABASE_URL", None)  # the demo never touches a configured database
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SQLITE_PATH": str(DEMO_DB),
            "SEEDING_CACHE_DIR": str(DEMO_CACHE),
            "GITHUB_API_URL": url,
            "GITHUB_TOKEN": DUMMY_TOKEN,
        }
    )
    return env


def manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"`manage.py {' '.join(args)}` failed (exit {result.returncode})")


def fakehub_stats(url: str) -> dict[str, object]:
    with urllib.request.urlopen(f"{url}/_fakehub/stats", timeout=10) as response:
        return json.loads(response.read())


def reset_stats(url: str) -> None:
    request = urllib.request.Request(f"{url}/_fakehub/stats/reset", data=b"", method="POST")
    urllib.request.urlopen(request, timeout=10).close()


def touch_pr(url: str, repo: str, node: dict[str, object]) -> None:
    """Change one PR in fakehub, as a push or a label on GitHub would (updatedAt moves)."""
    request = urllib.request.Request(
        f"{url}/_fakehub/repos/{repo}/pulls",
        data=json.dumps(node).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()


def print_stats(url: str, title: str) -> None:
    stats = fakehub_stats(url)
    say(
        f"fakehub counted ({title}): {stats['requests']} requests "
        f"({stats['graphql_requests']} GraphQL, {stats['rest_requests']} REST, "
        f"{stats['not_modified']} answered 304), {stats['graphql_points']} GraphQL points, "
        f"{stats['requests_while_limited']} sent while limited, "
        f"max {stats['max_in_flight_per_token']} in flight per token"
    )


def main() -> int:
    say("== prharvest demo: offline, against fakehub ==")
    say("The data is SYNTHETIC: fakehub generates deterministic PRs for antiwork/gumroad (120),")
    say("antiwork/flexile (200) and antiwork/helper (80). No GitHub token, no network.")
    DEMO_DB.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(f"{DEMO_DB}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(DEMO_CACHE, ignore_errors=True)

    process, url = start_fakehub()
    try:
        say(f"fakehub listening on {url}")
        env = demo_env(url)
        say(f"\n-- migrate the demo database ({DEMO_DB.name}) --")
        manage(env, "migrate", "--no-input", "-v", "0")

        say("\n-- seed 1: python manage.py seed_real_projects --project antiwork --")
        manage(env, "seed_real_projects", "--project", "antiwork")
        print_stats(url, "first seed")

        reset_stats(url)
        say("\n-- seed 2, nothing changed: the cache answers (one 304 per repository) --")
        manage(env, "seed_real_projects", "--project", "antiwork")
        print_stats(url, "second seed")

        say("\n-- PR metrics: python manage.py pr_metrics --team antiwork --weeks 4 --")
        manage(env, "pr_metrics", "--team", "antiwork", "--weeks", "4")

        reset_stats(url)
        say(
            "\n-- seed 3: two PRs change on GitHub (a new title, a new label): only PRs updated since the last run (and within a 60 s overlap) are fetched --"
        )
        touch_pr(url, "antiwork/gumroad", {"number": 7, "title": "Demo: retitled while we watched"})
        touch_pr(url, "antiwork/flexile", {"number": 12, "labels": [{"name": "demo"}]})
        manage(env, "seed_real_projects", "--project", "antiwork")
        print_stats(url, "third seed")

        say("\n-- dashboard --")
        manage(env, "ensure_demo_user", "--quiet")
        say("Start it with:  make serve")
        say("then open http://127.0.0.1:8000/teams/antiwork/ and log in as demo / demo")
        say("(a demo-only account on the demo database; the data is synthetic). The sync status")
        say("page (http://127.0.0.1:8000/sync/) shows the budget and cache the seeds left.")
        say(
            "The team lead's pages are linked under the team's name: stages, needs attention, "
            "people, repositories, labels, CI."
        )
    except (RuntimeError, OSError) as exc:
        say(f"demo failed: {exc}")
        return 1
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    say("\nfakehub stopped. Demo done. The demo's data is demo.sqlite3 and .seeding_cache/demo/;")
    say("the README's commands reach it after (in this shell, from the repository root):")
    say(f"    {DEMO_EXPORT}")
    say("    .venv/bin/python manage.py pr_metrics --team antiwork --weeks 12")
    say("Your own data (db.sqlite3) again: unset SQLITE_PATH SEEDING_CACHE_DIR")
    return 0


if __name__ == "__main__":
    sys.exit(main())
