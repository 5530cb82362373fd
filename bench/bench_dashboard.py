"""Benchmark: server time and query count of the dashboard's team page for a 20,000-PR team.

    .venv/bin/python bench/bench_dashboard.py [--quick] [--json bench/out/dashboard.json]
    .venv/bin/python bench/bench_dashboard.py --single [--prs 20000] [--runs 7]

By default it measures both backends, each in a child process: SQLite (a fresh file in a
temporary directory) and PostgreSQL (a database of its own, `prharvest_bench_dashboard_<pid>`,
created on BENCH_DATABASE_URL's server, default postgres://root@127.0.0.1:5432, and dropped
afterwards), and writes rows for run_all. `--single` measures the backend of the environment
(DATABASE_URL, else a temporary SQLite file), migrates it, writes a uniquely named team and
deletes it afterwards.
Rows are bulk-inserted (apps.dashboard.synthetic), then each page is requested through Django's
full request stack (middleware, session, login, template rendering) in-process: the time is the
server's, without a network. Targets: the team page under 500 ms and under 20 queries; the
team lead's pages (stages, needs attention, people, a person, repositories, labels, CI) within
their query budgets (apps.dashboard.views_lead.QUERY_BUDGETS).
`--single` prints figures and writes them to bench/out/bench_dashboard_<backend>.json.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="fewer timed runs per page")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "dashboard.json")
    parser.add_argument("--single", action="store_true", help="only the environment's backend")
    args = parser.parse_args(argv)
    if args.prs < 1 or args.runs < 1:
        print("bench_dashboard: --prs and --runs must be at least 1", file=sys.stderr)
        return 2
    if not args.single:
        return both_backends(args.prs, 3 if args.quick else args.runs, args.json)
    return single(args)


PG_DEFAULT = "postgres://root@127.0.0.1:5432/postgres"


def both_backends(prs: int, runs: int, out: Path) -> int:
    """Run --single for SQLite then for a scratch PostgreSQL database; write rows for run_all."""
    sys.path.insert(0, str(ROOT))
    from bench.common import Row, log, run_child, write_json

    rows: list[Row] = []
    base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_PATH")}
    pg_name = f"prharvest_bench_dashboard_{os.getpid()}"
    pg_base = os.environ.get("BENCH_DATABASE_URL") or PG_DEFAULT
    for backend in ("sqlite", "postgresql"):
        env = dict(base_env)
        if backend == "postgresql":
            try:
                env["DATABASE_URL"] = _scratch_pg(pg_base, pg_name)
            except Exception as exc:  # the page shows what failed; the SQLite rows still count
                rows.append(
                    Row(bench="dashboard", tool="prharvest", dataset=f"{prs:,} PRs, {backend}",
                        scenario="team page (12 weeks)", ok=False,
                        note=f"no PostgreSQL: {str(exc).splitlines()[0][:150]}")
                )  # fmt: skip
                continue
        log(f"dashboard: {backend}, {prs:,} PRs")
        child = run_child(
            [sys.executable, str(Path(__file__).resolve()), "--single", "--prs", str(prs),
             "--runs", str(runs)], env=env, timeout=3600,
        )  # fmt: skip
        if backend == "postgresql":
            _drop_pg(pg_base, pg_name)
        print(child.stdout, end="")
        found = ROOT / "bench" / "out" / f"bench_dashboard_{backend}.json"
        if not child.ok and child.returncode != 1 or not found.exists():
            rows.append(
                Row(bench="dashboard", tool="prharvest", dataset=f"{prs:,} PRs, {backend}",
                    scenario="team page (12 weeks)", ok=False, note=child.tail(2))
            )  # fmt: skip
            continue
        result = json.loads(found.read_text())
        found.unlink()
        for page, figures in result["pages"].items():
            rows.append(
                Row(
                    bench="dashboard",
                    tool="prharvest",
                    dataset=f"{result['prs']:,} PRs, {backend}",
                    scenario=page,
                    prs=result["prs"],
                    wall_seconds=round(figures["median_ms"] / 1000, 3),
                    peak_rss_mb=round(child.peak_rss_mb, 1),
                    extra={**figures, "backend": backend, "runs": runs,
                           "reviews": result["reviews"],
                           "check_runs": result.get("check_runs")},
                )
            )  # fmt: skip
    write_json(out, [row.to_dict() for row in rows])
    return 0 if all(row.ok for row in rows) else 1


def _scratch_pg(base: str, name: str) -> str:
    import psycopg

    admin = psycopg.conninfo.make_conninfo(base, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(base)
    user = info.get("user") or "root"
    return f"postgres://{user}@{info.get('host') or '127.0.0.1'}:{info.get('port') or 5432}/{name}"


def _drop_pg(base: str, name: str) -> None:
    import psycopg

    admin = psycopg.conninfo.make_conninfo(base, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def single(args: argparse.Namespace) -> int:
    """Measure the environment's backend; write bench/out/bench_dashboard_<backend>.json."""

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
    from apps.dashboard.views_lead import QUERY_BUDGETS
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
        "PR list CSV (12 weeks)": f"/teams/{slug}/prs/?format=csv",
    }
    # The team lead's pages, each with its query budget (apps.dashboard.views_lead).
    lead_pages = {
        "stages (12 weeks)": (f"/teams/{slug}/stages/", "stages"),
        "stages (label filter)": (f"/teams/{slug}/stages/?label=bug", "stages"),
        "needs attention": (f"/teams/{slug}/attention/", "attention"),
        "people": (f"/teams/{slug}/people/", "people"),
        "person page": (f"/teams/{slug}/people/alice/", "person"),
        "repository comparison": (f"/teams/{slug}/repos/", "repos"),
        "labels": (f"/teams/{slug}/labels/", "labels"),
        "CI durations and flaky": (f"/teams/{slug}/ci/", "ci"),
    }
    pages.update({name: url for name, (url, _) in lead_pages.items()})
    results = {}
    try:
        print(
            f"bench_dashboard: {backend}, team of {made.prs} PRs, {made.reviews} reviews and "
            f"{made.check_runs} check runs (bulk insert {insert_s:.1f} s)"
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
    over = [
        f"{name} ({results[name]['queries']} > {QUERY_BUDGETS[key]})"
        for name, (_, key) in lead_pages.items()
        if results[name]["queries"] > QUERY_BUDGETS[key]
    ]
    print(
        "bench_dashboard: team lead's pages "
        + (f"OVER their query budgets: {', '.join(over)}" if over else "within their query budgets")
    )
    ok = ok and not over
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"bench_dashboard_{backend}.json").write_text(
        json.dumps(
            {
                "backend": backend,
                "prs": made.prs,
                "reviews": made.reviews,
                "check_runs": made.check_runs,
                "pages": results,
            },
            indent=2,
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
