"""fakehub's own figures: 25-PR full-detail page latency with 10,000 PRs loaded; dataset load time.

    .venv/bin/python bench/bench_fakehub.py [--prs 10000] [--requests 200] [--load-prs 5000]

The server runs as a subprocess (`python -m fakehub serve --synthetic ...`), as users run it;
one keep-alive httpx client walks the PR list 25 at a time (UPDATED_AT DESC, full detail: the
query of fakehub/tests/conftest.py) and times each request from send to parsed body. The load
figure times `FakeHub.load_data` on a generated dataset of --load-prs PRs written to a temp dir.
Not a test: prints figures, asserts nothing.
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

from fakehub.datasets import write_dataset_dir  # noqa: E402
from fakehub.reference import shared_dir  # noqa: E402
from fakehub.server import FakeHub  # noqa: E402
from fakehub.synthetic import generate_repository  # noqa: E402
from fakehub.testing import start_fakehub_process  # noqa: E402
from fakehub.tests.conftest import PR_PAGE  # noqa: E402


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def bench_page_latency(prs: int, requests: int) -> None:
    started = time.monotonic()
    process, url = start_fakehub_process(["--synthetic", f"acme/bench:{prs}:1"])
    print(f"server up with {prs:,} PRs in {time.monotonic() - started:.2f} s (generation included)")
    try:
        timings: list[float] = []
        costs: set[int] = set()
        with httpx.Client(
            base_url=url, headers={"Authorization": "bearer bench"}, timeout=60
        ) as http:
            after = None
            variables = {"owner": "acme", "name": "bench", "order": "UPDATED_AT"}
            for index in range(requests + 5):
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
                if index >= 5:  # the first pages warm the document cache and the views
                    timings.append(elapsed * 1000)
        print(
            f"25-PR full-detail page, {prs:,} PRs loaded, {len(timings)} requests: "
            f"median {statistics.median(timings):.1f} ms, p95 {percentile(timings, 95):.1f} ms, "
            f"max {max(timings):.1f} ms; cost {sorted(costs)} point(s) per page"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


def bench_load(prs: int) -> None:
    meta, nodes = generate_repository("acme/load", prs, seed=3)
    with tempfile.TemporaryDirectory() as scratch:
        folder = write_dataset_dir(Path(scratch) / "acme-load", meta, nodes)
        size_mb = (folder / "prs.jsonl").stat().st_size / 1e6
        hub = FakeHub()
        began = time.perf_counter()
        hub.load_data(folder)
        elapsed = time.perf_counter() - began
    print(f"dataset load: {prs:,} PRs ({size_mb:.1f} MB prs.jsonl) in {elapsed:.2f} s")
    flask = shared_dir() / "data" / "pallets-flask"
    if flask.is_dir():
        hub = FakeHub()
        began = time.perf_counter()
        hub.load_data(flask)
        print(f"dataset load: pallets-flask (1,515 PRs) in {time.perf_counter() - began:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--load-prs", type=int, default=5_000)
    args = parser.parse_args()
    bench_page_latency(args.prs, args.requests)
    bench_load(args.load_prs)


if __name__ == "__main__":
    main()
