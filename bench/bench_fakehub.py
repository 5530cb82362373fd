"""fakehub's own figures: 25-PR full-detail page latency with 10,000 PRs loaded; dataset load time.

    .venv/bin/python bench/bench_fakehub.py [--quick] [--json bench/out/fakehub.json]
        [--prs 10000] [--requests 200] [--load-prs 5000]

The server runs as a subprocess (`python -m fakehub serve --synthetic ...`), as users run it;
one keep-alive httpx client walks the PR list 25 at a time (UPDATED_AT DESC, full detail: the
query of fakehub/tests/conftest.py) and times each request from send to parsed body. The load
figure times `FakeHub.load_data` on a generated dataset of --load-prs PRs written to a temp dir
(and on the real histories of ../shared/data). Targets: a page under 50 ms, a 5,000-PR
load under 5 s. Not a test: prints figures and rows, asserts nothing.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.common import OUT_DIR, SHARED_DATA, Row, write_json  # noqa: E402
from fakehub.datasets import write_dataset_dir  # noqa: E402
from fakehub.server import FakeHub  # noqa: E402
from fakehub.synthetic import generate_repository  # noqa: E402
from fakehub.testing import start_fakehub_process  # noqa: E402
from fakehub.tests.conftest import PR_PAGE  # noqa: E402

WARM_UP = 5  # the first pages warm the document cache and the views; not counted


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def bench_page_latency(prs: int, requests: int) -> Row:
    """Time `requests` full-detail pages of 25 PRs from a server holding `prs` PRs."""
    started = time.monotonic()
    process, url = start_fakehub_process(["--synthetic", f"acme/bench:{prs}:1"])
    startup = time.monotonic() - started
    print(f"server up with {prs:,} PRs in {startup:.2f} s (generation included)")
    try:
        timings: list[float] = []
        costs: set[int] = set()
        with httpx.Client(
            base_url=url, headers={"Authorization": "bearer bench"}, timeout=60
        ) as http:
            after = None
            variables = {"owner": "acme", "name": "bench", "order": "UPDATED_AT"}
            for index in range(requests + WARM_UP):
                began = time.perf_counter()
                response = http.post(
                    "/graphql", json={"query": PR_PAGE, "variables": {**variables, "after": after}}
                )
                body = response.json()
                elapsed = time.perf_counter() - began
                if "errors" in body:
                    raise SystemExit(f"bench query failed: {body['errors'][0]['message']}")
                page = body["data"]["repository"]["pullRequests"]
                costs.add(body["data"]["rateLimit"]["cost"])
                after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
                if index >= WARM_UP:
                    timings.append(elapsed * 1000)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    median = statistics.median(timings)
    p95 = percentile(timings, 95)
    print(
        f"25-PR full-detail page, {prs:,} PRs loaded, {len(timings)} requests: "
        f"median {median:.1f} ms, p95 {p95:.1f} ms, max {max(timings):.1f} ms; "
        f"cost {sorted(costs)} point(s) per page"
    )
    return Row(
        bench="fakehub",
        tool="fakehub",
        dataset=f"synthetic {prs:,} PRs",
        scenario="25-PR full-detail page",
        prs=prs,
        requests=len(timings),
        extra={
            "median_ms": round(median, 1),
            "p95_ms": round(p95, 1),
            "max_ms": round(max(timings), 1),
            "cost_points": sorted(costs),
            "startup_seconds": round(startup, 2),
        },
    )


def _load_row(label: str, prs: int, seconds: float, size_mb: float | None) -> Row:
    print(f"dataset load: {label} in {seconds:.2f} s")
    return Row(
        bench="fakehub",
        tool="fakehub",
        dataset=label,
        scenario="dataset load",
        prs=prs,
        wall_seconds=round(seconds, 2),
        extra={"prs_jsonl_mb": round(size_mb, 1) if size_mb is not None else None},
    )


def bench_load(prs: int) -> list[Row]:
    """Time `FakeHub.load_data` on a generated folder of `prs` PRs, then on each real history."""
    meta, nodes = generate_repository("acme/load", prs, seed=3)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = write_dataset_dir(Path(scratch) / "acme-load", meta, nodes)
        size_mb = (folder / "prs.jsonl").stat().st_size / 1e6
        hub = FakeHub()
        began = time.perf_counter()
        hub.load_data(folder)
        rows.append(_load_row(f"synthetic {prs:,} PRs", prs, time.perf_counter() - began, size_mb))
    for folder in sorted(p for p in SHARED_DATA.glob("*") if (p / "prs.jsonl").exists()):
        with (folder / "prs.jsonl").open(encoding="utf-8") as handle:
            count = sum(1 for line in handle if line.strip())
        hub = FakeHub()
        began = time.perf_counter()
        hub.load_data(folder)
        rows.append(
            _load_row(
                f"{folder.name} (real, {count:,} PRs)",
                count,
                time.perf_counter() - began,
                (folder / "prs.jsonl").stat().st_size / 1e6,
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--load-prs", type=int, default=5_000)
    parser.add_argument("--quick", action="store_true", help="fewer timed pages")
    parser.add_argument("--json", type=Path, default=OUT_DIR / "fakehub.json", help="results file")
    args = parser.parse_args(argv)
    if min(args.prs, args.requests, args.load_prs) < 1:
        print("bench_fakehub: --prs, --requests and --load-prs must be at least 1", file=sys.stderr)
        return 2
    rows = [bench_page_latency(args.prs, 50 if args.quick else args.requests)]
    rows += bench_load(args.load_prs)
    write_json(args.json, [row.to_dict() for row in rows])
    return 0


if __name__ == "__main__":
    sys.exit(main())
