"""Benchmark: server time and query count of the dashboard's team page for a 20,000-PR team.

    .venv/bin/python bench/bench_dashboard.py [--prs 20000] [--runs 7]
    DATABASE_URL=postgres://root@127.0.0.1:5432/test .venv/bin/python bench/bench_dashboard.py

Without DATABASE_URL it uses a fresh SQLite file in a temporary directory (migrated here). With
DATABASE_URL it migrates that database, writes a uniquely named team, and deletes it afterwards.
Rows are bulk-inserted (apps.dashboard.synthetic), then each page is requested through Django's
full request stack (middleware, session, login, template rendering) in-process: the time is the
server's, without a network. Targets: under 500 ms and under 20 queries.
Prints figures and writes them to bench/out/bench_dashboard.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 500.0
TARGET_QUERIES = 20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if args.prs < 1 or args.runs < 1:
        print("bench_dashboard: --prs and --runs must be at least 1", file=sys.stderr)
        return 2

    tmp = None
    if not os.environ.get("DATABASE_URL"):
        tmp = tempfile.TemporaryDirectory(prefix="bench-dashboard-")
        os.environ["SQLITE_PATH"] = str(Path(tmp.name) / "bench.sqlite3")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

    import django

    django.setup()

    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.dashboard.synthetic import create_synthetic_team
    from apps.metrics.models import Team

    call_command("migrate", verbosity=0)
    slug = f"bench-dashboard-{os.getpid()}"
    backend = connection.vendor
    started = time.perf_counter()
    made = create_synthetic_team(slug, args.prs, seed=42)
    insert_s = time.perf_counter() - started
    user, _ = User.objects.get_or_create(username=f"{slug}-viewer")
    client = Client()
    client.force_login(user)

    pages = {
        "team page (12 weeks)": f"/teams/{slug}/",
        "team page (52 weeks)": f"/teams/{slug}/?weeks=52",
        "team page (one repo)": f"/teams/{slug}/?repo=acme/api",
        "PR list (sorted by cycle time)": f"/teams/{slug}/prs/?sort=-cycle",
        "sync status": f"/sync/?team={slug}",
    }
    results = {}
    try:
        print(
            f"bench_dashboard: {backend}, team of {made.prs} PRs and {made.reviews} reviews "
            f"(bulk insert {insert_s:.1f} s)"
        )
        for name, url in pages.items():
            client.get(url)  # warm-up: template compilation, connection
            times, queries = [], 0
            for _ in range(args.runs):
                with CaptureQueriesContext(connection) as captured:
                    t0 = time.perf_counter()
                    response = client.get(url)
                    times.append((time.perf_counter() - t0) * 1000)
                if response.status_code != 200:
                    print(
                        f"bench_dashboard: {url} answered {response.status_code}", file=sys.stderr
                    )
                    return 1
                queries = len(captured)
            results[name] = {
                "url": url,
                "median_ms": round(statistics.median(times), 1),
                "min_ms": round(min(times), 1),
                "max_ms": round(max(times), 1),
                "queries": queries,
            }
            print(
                f"  {name:32} median {statistics.median(times):7.1f} ms   min {min(times):7.1f} ms   "
                f"max {max(times):7.1f} ms   {queries:2d} queries"
            )
    finally:
        Team.objects.filter(slug=slug).delete()
        user.delete()
        if tmp is not None:
            connection.close()
            tmp.cleanup()

    team = results["team page (12 weeks)"]
    ok = team["median_ms"] < TARGET_MS and team["queries"] < TARGET_QUERIES
    verdict = "meets" if ok else "MISSES"
    print(
        f"bench_dashboard: team page {team['median_ms']:.1f} ms median, {team['queries']} queries "
        f"for {made.prs} PRs on {backend}: {verdict} the target (< {TARGET_MS:.0f} ms, "
        f"< {TARGET_QUERIES} queries)"
    )
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"bench_dashboard_{backend}.json").write_text(
        json.dumps(
            {"backend": backend, "prs": made.prs, "reviews": made.reviews, "pages": results},
            indent=2,
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
