"""Page caps of 25, 50 and 100 (and 27, 38), measured with the adaptive page-size search on light and heavy
histories against fakehub's server-time model.

    .venv/bin/python bench/bench_page_size.py [--quick] [--scale 0.05] [--json bench/out/page_size.json]

For each history and cap: one full walk of the repository (`GitHubGraphQLFetcher.iter_pr_pages`
from the newest PR to the oldest, through the real client over HTTP; nothing is written to a
database -- rows per PR are the same whatever the page size), starting at the cap as a
repository's first walk does. fakehub models GitHub's time (fakehub/server_time.py): a query
returning N nodes takes 250 ms + 2 ms x N, and past 10 s it is answered 502 at 10 s, its points
spent. Every wait is scaled by `--scale` (fakehub's server time and latency, the client's
backoff), so the run is quick; the table gives GitHub-time figures, unscaled:

- requests, points: fakehub's own accounting (GraphQL only: the walk sends no REST request);
- server s: the modelled server time of every query, 502s included;
- lost to 502 s: the modelled time of the queries answered 502 (10 s each) plus the client's
  backoff before re-sending them;
- est. wall s: server s + requests x RTT (100 ms, an assumption; fakehub's latency) + the
  client's waits: what the walk would take against GitHub, the client's own CPU aside;
- bench wall s: the scaled run's measured wall time (client CPU included, unscaled).

Histories: "light" is fakehub's synthetic repository (about 15 nodes a PR, like the real
histories in ../shared/data: antiwork-flexile ~13, pallets-flask ~6); "heavy" is the same
generator with every PR inflated to 30-100 files, 10-40 commits, 3-12 reviews and 20-50 check
runs (~140 nodes a PR; nested first pages are not exceeded, so no follow-up request blurs the
comparison). Not a test: nothing here runs under `make test`.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import os  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from apps.integrations.github.client import GitHubGraphQLClient  # noqa: E402
from apps.integrations.github.clock import SystemClock  # noqa: E402
from apps.integrations.github.retry import RetryPolicy  # noqa: E402
from apps.metrics.pipeline.pages import GitHubGraphQLFetcher  # noqa: E402
from bench.common import OUT_DIR, log, write_json  # noqa: E402
from fakehub.server import FakeHub  # noqa: E402
from fakehub.server_time import ServerTime  # noqa: E402
from fakehub.synthetic import generate_repository  # noqa: E402

# The caps asked about, plus the largest pages of 2 and 3 points: GitHub rounds a query's cost
# (1 + 9 connections x n PRs "requests") / 100 to the nearest point, so 27 PRs still cost 2.
CAPS = (25, 27, 38, 50, 100)
RTT_MS = 100.0


def heavy_nodes(full_name: str, prs: int, seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The synthetic generator's repository with every PR inflated (see the module docstring)."""
    meta, nodes = generate_repository(full_name, prs, seed=seed, now=datetime.now(UTC))
    rng = random.Random(seed)
    next_id = 900_000_000
    for node in nodes:
        files = node.get("files") or [{"path": "x", "additions": 1, "deletions": 0}]
        want = rng.randint(30, 100)
        node["files"] = [
            {**files[i % len(files)], "path": f"pkg{i // 10}/{files[i % len(files)]['path']}.{i}"}
            for i in range(want)
        ]
        node["changedFiles"] = want
        commits = node.get("commits") or []
        if commits:
            want = rng.randint(10, 40)
            node["commits"] = [
                {
                    **commits[i % len(commits)],
                    "oid": f"{i:08x}{commits[i % len(commits)]['oid'][8:]}",
                }
                for i in range(want)
            ]
        reviews = node.get("reviews") or []
        if reviews:
            want = rng.randint(3, 12)
            inflated = []
            for i in range(want):
                next_id += 1
                inflated.append({**reviews[i % len(reviews)], "databaseId": next_id})
            node["reviews"] = inflated
        for suite in node.get("checkSuites") or []:
            runs = suite.get("checkRuns") or []
            if runs:
                want = rng.randint(20, 50)
                inflated = []
                for i in range(want):
                    next_id += 1
                    inflated.append({**runs[i % len(runs)], "databaseId": next_id})
                suite["checkRuns"] = inflated
            break
    return meta, nodes


def walk(hub: FakeHub, repo: str, cap: int, scale: float, token: str) -> dict[str, Any]:
    """One full walk at this cap; the figures of the table's row."""
    policy = RetryPolicy(base=1.0 * scale, cap=60.0 * scale, transport_floor=0.5 * scale)
    client = GitHubGraphQLClient(token, base_url=hub.url, retry=policy, clock=SystemClock())
    fetcher = GitHubGraphQLFetcher(client, max_page_size=cap)
    before = hub.accounting.snapshot()
    started = time.perf_counter()
    sizes: list[int] = []
    prs = 0
    for page in fetcher.iter_pr_pages(repo, page_size=cap):
        sizes.append(page.page_size)
        prs += len(page.prs)
    wall = time.perf_counter() - started
    after = hub.accounting.snapshot()
    client.close()

    def spent(name: str) -> int:
        return int(after[name]) - int(before[name])

    limit = hub.server_time.limit_seconds if hub.server_time else 0.0
    timeouts = spent("server_timeouts")
    waits = client.stats.waited_seconds / scale
    server = spent("server_time_ms") / 1000
    requests = spent("graphql_requests")
    return {
        "repo": repo,
        "cap": cap,
        "prs": prs,
        "requests": requests,
        "points": spent("graphql_points"),
        "timeouts": timeouts,
        "server_s": round(server, 1),
        "lost_to_502_s": round(timeouts * limit + waits, 1),
        "est_wall_s": round(server + requests * RTT_MS / 1000 + waits, 1),
        "bench_wall_s": round(wall, 2),
        "sizes": sizes,
        "settled_size": sizes[-1] if sizes else None,
        "largest_size": max(sizes) if sizes else None,
    }


def run(quick: bool, scale: float) -> list[dict[str, Any]]:
    light_prs, heavy_prs = (500, 250) if quick else (1000, 500)
    model = ServerTime(scale=scale)
    hub = FakeHub(server_time=model, latency_ms=RTT_MS * scale).start()
    try:
        hub.add_synthetic("bench/light", light_prs, 11)
        meta, nodes = heavy_nodes("bench/heavy", heavy_prs, 12)
        hub.store.add_repository(meta, nodes)
        rows = []
        for label, repo in (("light", "bench/light"), ("heavy", "bench/heavy")):
            for cap in CAPS:
                log(f"page size: {label} history, cap {cap}")
                row = walk(hub, repo, cap, scale, token=f"bench-{label}-{cap}-not-a-secret")
                row["history"] = label
                rows.append(row)
        return rows
    finally:
        hub.stop()


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'history':8} {'cap':>4} {'PRs':>5} {'requests':>8} {'points':>6} {'502s':>5} "
        f"{'req/1k':>6} {'pts/1k':>6} {'server s':>8} {'lost to 502 s':>13} {'est. wall s':>11} "
        f"{'bench wall s':>12} {'settled':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['history']:8} {r['cap']:>4} {r['prs']:>5} {r['requests']:>8} {r['points']:>6} "
            f"{r['timeouts']:>5} {r['requests'] * 1000 / r['prs']:>6.1f} "
            f"{r['points'] * 1000 / r['prs']:>6.1f} {r['server_s']:>8} {r['lost_to_502_s']:>13} "
            f"{r['est_wall_s']:>11} {r['bench_wall_s']:>12} {r['settled_size']:>7}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller histories")
    parser.add_argument("--scale", type=float, default=0.05, help="real seconds per GitHub second")
    parser.add_argument("--json", type=Path, default=OUT_DIR / "page_size.json", help="results")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error("--scale must be in (0, 1]")
    rows = run(args.quick, args.scale)
    write_json(args.json, rows)
    print(table(rows))
    print(
        f"assumed: server time 250 ms + 2 ms/node, GitHub's limit 10 s (502 at the limit, points "
        f"spent), RTT {RTT_MS:.0f} ms; waits scaled by {args.scale}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
