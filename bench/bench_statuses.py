"""Does CI reported as commit statuses cost what check runs cost? Requests and points of a seed.

    .venv/bin/python bench/bench_statuses.py [--prs 1000] [--json bench/out/statuses.json]

One synthetic repository (same name, seed and data), served three times by fakehub: its CI as
check runs, as commit statuses only, and as both (`fakehub.synthetic`, `ci=`). Each is fetched
cold the way a seed fetches (the change check, then `GitHubGraphQLFetcher.iter_pr_pages`, no
cache) through the shared client; requests and points are fakehub's own accounting (`/_fakehub/stats`). The goal
is the same figures for all three: statuses ride in the same `statusCheckRollup.contexts`
connection as check runs, so they add no connection, no follow-up and no point.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from apps.integrations.github.client import GitHubGraphQLClient  # noqa: E402
from apps.metrics.pipeline.pages import GitHubGraphQLFetcher  # noqa: E402
from fakehub.control import FakeHubControl  # noqa: E402
from fakehub.server import FakeHub  # noqa: E402

TOKEN = "ghp_bench_statuses"
REPO = "bench/ci-repo"


def measure(ci: str, prs: int) -> dict[str, Any]:
    """Serve REPO with `ci`, fetch it cold once, return fakehub's counts and what came back."""
    hub = FakeHub(tokens=[TOKEN]).start()
    control = FakeHubControl(hub.url)
    try:
        hub.add_synthetic(REPO, prs, seed=1, ci=ci)
        control.reset_stats()
        client = GitHubGraphQLClient(TOKEN, base_url=hub.url)
        fetcher = GitHubGraphQLFetcher(client, log=lambda _m: None)
        started = time.perf_counter()
        fetcher.check_for_changes(REPO)  # a cold seed's change check, then its full walk
        fetched = [pr for page in fetcher.iter_pr_pages(REPO) for pr in page.prs]
        seconds = time.perf_counter() - started
        client.close()
        stats = control.stats()
    finally:
        control.close()
        hub.stop()
    return {
        "ci": ci,
        "prs": len(fetched),
        "requests": stats["requests"],
        "graphql_requests": stats.get("graphql_requests"),
        "rest_requests": stats.get("rest_requests"),
        "points": stats.get("graphql_points"),
        "check_runs": sum(len(pr.check_runs) for pr in fetched),
        "status_contexts": sum(len(pr.status_contexts) for pr in fetched),
        "seconds": round(seconds, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=1000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = [measure(ci, args.prs) for ci in ("checks", "statuses", "both")]
    header = f"{'CI reported as':<16}{'PRs':>6}{'requests':>10}{'points':>8}{'runs':>8}"
    print(header + f"{'statuses':>10}{'seconds':>9}")
    for row in rows:
        print(
            f"{row['ci']:<16}{row['prs']:>6}{row['requests']:>10}{row['points']:>8}"
            f"{row['check_runs']:>8}{row['status_contexts']:>10}{row['seconds']:>9}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    same = len({(r["requests"], r["points"]) for r in rows}) == 1
    print("same requests and points: " + ("yes" if same else "NO"))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
