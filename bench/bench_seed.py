"""Our own figures: what a seed costs in requests, points, time and memory, against fakehub.

    .venv/bin/python bench/bench_seed.py [--quick] [--json bench/out/seed.json]

Every run is the real command a user types, `manage.py seed_real_projects --repo OWNER/NAME
--team-slug ... --max-prs 0 --days-back 0`, in a child process pointed at a fakehub subprocess
(`GITHUB_API_URL`), with its own SQLite file and seeding cache under bench/out/. Requests and
points are fakehub's own accounting (`/_fakehub/stats`, reset before each run); wall time and peak
RSS are the child's own (see bench/common.py).

Scenarios:
- full seed (cold: empty database, no cache) of synthetic repositories of 1,000 / 2,000 / 5,000 /
  20,000 PRs and of the real histories in ../shared/data/ (pallets-flask, antiwork-flexile);
- unchanged re-run (same database and cache, nothing changed in fakehub);
- incremental re-run after k = 1, 10, 100 PRs were edited (control API, `updatedAt` = now) and a
  push (`pushedAt` bumped), on a small and a large repository: the requests must not depend on
  the repository's size;
- production sync (`track_repository` + `sync_repositories`), when those commands exist: a cold
  round, an unchanged round, and rounds after k PRs were edited (no push needed: sync is
  incremental by `updatedAt`);
- the same 1,000-PR seed against fakehub with `--latency-ms 500`: wall time against the sum of
  the latencies (requests x 0.5 s), i.e. our overhead.

`--quick` keeps it to a few minutes: 1,000 / 2,000 / 5,000 PRs, the real histories, k = 1 and 10,
and a 300-PR latency run.

Size: over 400 lines because the scenarios above are one measurement: they share the datasets,
the workspaces, the measured child run and fakehub's request log, and the re-runs build on the
database and cache the full seeds left.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.integrations.github.queries import PAGE_SIZE  # noqa: E402
from bench.common import (  # noqa: E402
    BENCH_TOKEN,
    OUT_DIR,
    REPO_ROOT,
    SHARED_DATA,
    BenchError,
    ChildRun,
    FakehubServer,
    Row,
    log,
    run_child,
    write_json,
)

MANAGE = str(REPO_ROOT / "manage.py")
COMMANDS = REPO_ROOT / "apps" / "metrics" / "management" / "commands"
REAL = ("pallets-flask", "antiwork-flexile", "antiwork-gumroad")
# antiwork/helper has no recorded history in ../shared/data: the project example serves it
# synthetic, as `make demo` does.
HELPER = "antiwork/helper"
HELPER_PRS = 80
LATENCY_MS = 500


@dataclass(frozen=True)
class Dataset:
    """A repository served by fakehub: synthetic (name, PRs, seed) or a folder of ../shared/data."""

    full_name: str
    prs: int
    folder: Path | None = None
    seed: int = 1

    @property
    def label(self) -> str:
        if self.folder is not None:
            return f"{self.folder.name} (real, {self.prs:,} PRs)"
        return f"synthetic {self.prs:,} PRs"

    @property
    def slug(self) -> str:
        return self.full_name.replace("/", "-").lower()

    def fakehub_args(self) -> list[str]:
        if self.folder is not None:
            return ["--data", str(self.folder)]
        return ["--synthetic", f"{self.full_name}:{self.prs}:{self.seed}"]


def synthetic(prs: int) -> Dataset:
    """The synthetic repository of `prs` PRs every bench (ours and the peers') uses."""
    label = f"{prs // 1000}k" if prs % 1000 == 0 else str(prs)
    return Dataset(full_name=f"bench/synthetic-{label}", prs=prs)


def real(folder_name: str) -> Dataset:
    """A real history from ../shared/data/ (its name and size read from its own files)."""
    import json

    folder = SHARED_DATA / folder_name
    repo_file = folder / "repo.json"
    prs_file = folder / "prs.jsonl"
    if not repo_file.exists() or not prs_file.exists():
        raise BenchError(f"the real dataset {folder} is missing (expected beside the repository)")
    full_name = json.loads(repo_file.read_text())["nameWithOwner"]
    with prs_file.open(encoding="utf-8") as handle:
        count = sum(1 for line in handle if line.strip())
    return Dataset(full_name=full_name, prs=count, folder=folder)


class Workspace:
    """One database and one seeding cache for one dataset, kept across its runs."""

    def __init__(self, dataset: Dataset, tag: str = "") -> None:
        self.dataset = dataset
        self.root = OUT_DIR / "seed" / f"{dataset.slug}{tag}"
        self.db = self.root / "db.sqlite3"
        self.cache = self.root / "cache"
        self.team = f"bench-{dataset.slug}{tag}"[:90]

    def reset(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True)

    def env(self, api_url: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("GITHUB_")
            and k not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")
        }
        env.update(
            {
                "GITHUB_API_URL": api_url,
                "GITHUB_TOKEN": BENCH_TOKEN,
                "SQLITE_PATH": str(self.db),
                "SEEDING_CACHE_DIR": str(self.cache),
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "LOG_LEVEL": "WARNING",
                "COLUMNS": "120",
            }
        )
        return env


def manage(ws: Workspace, api_url: str, *args: str, timeout: float = 1800) -> ChildRun:
    return run_child([sys.executable, MANAGE, *args], env=ws.env(api_url), timeout=timeout)


def prepare(ws: Workspace, api_url: str) -> None:
    """A fresh database with the schema (not measured)."""
    ws.reset()
    migrated = manage(ws, api_url, "migrate", "--no-input", "-v", "0")
    if not migrated.ok:
        raise BenchError(f"migrate failed: {migrated.tail(5)}")


def seed_args(ws: Workspace) -> list[str]:
    return [
        "seed_real_projects",
        "--repo",
        ws.dataset.full_name,
        "--team-slug",
        ws.team,
        "--max-prs",
        "0",
        "--days-back",
        "0",
    ]


OPERATION = re.compile(r"\b(?:query|mutation)\s+(\w+)")


def operations(hub: FakehubServer) -> dict[str, int]:
    """Requests since the last mark, by GraphQL operation name or REST path (fakehub's log)."""
    path = getattr(hub, "request_log", None)
    counts: Counter[str] = Counter()
    if path is None or not path.exists():
        return {}
    with path.open(encoding="utf-8") as handle:
        handle.seek(getattr(hub, "log_mark", 0))
        for line in handle:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            query = entry.get("query") or ""
            match = OPERATION.search(query) if query else None
            if match:
                key = f"{match.group(1)} ({entry.get('cost', 0)} pt)"
            else:
                key = f"{entry.get('method', 'GET')} {str(entry.get('path', '?')).split('?')[0]} -> {entry.get('status')}"
            counts[key] += 1
    return dict(counts.most_common())


def mark_log(hub: FakehubServer) -> None:
    path = getattr(hub, "request_log", None)
    hub.log_mark = path.stat().st_size if path is not None and path.exists() else 0  # type: ignore[attr-defined]


def measured(
    hub: FakehubServer,
    ws: Workspace,
    scenario: str,
    args: Sequence[str],
    *,
    bench: str = "seed",
    prs: int | None = None,
    timeout: float = 1800,
) -> Row:
    """Run one command against fakehub with fresh stats; the row carries what it spent."""
    hub.reset_stats()
    mark_log(hub)
    child = manage(ws, hub.url, *args, timeout=timeout)
    stats = hub.stats()
    row = Row(
        bench=bench,
        tool="prharvest",
        dataset=ws.dataset.label,
        scenario=scenario,
        prs=ws.dataset.prs if prs is None else prs,
        wall_seconds=round(child.wall_seconds, 2),
        peak_rss_mb=round(child.peak_rss_mb, 1),
        ok=child.ok,
    ).with_stats(stats)
    row.extra["repo_size"] = ws.dataset.prs
    row.extra["requests_while_limited"] = stats.get("requests_while_limited")
    row.extra["operations"] = operations(hub)
    if not child.ok:
        why = "timed out" if child.timed_out else f"exit {child.returncode}"
        row.note = f"{why}: {child.tail(3)}"
        log(f"  {scenario} FAILED ({why}):\n{child.tail(12)}")
    else:
        log(
            f"  {scenario}: {row.requests} requests, {row.graphql_points} GraphQL points, "
            f"{row.wall_seconds:.1f} s, {row.peak_rss_mb:.0f} MiB"
        )
    return row


def stored_prs(ws: Workspace) -> int | None:
    """How many PRs the workspace's database holds (read directly, after the child exited)."""
    import sqlite3

    if not ws.db.exists():
        return None
    with sqlite3.connect(ws.db) as conn:
        try:
            return conn.execute("SELECT COUNT(*) FROM metrics_pullrequest").fetchone()[0]
        except sqlite3.Error:
            return None


def touch(hub: FakehubServer, dataset: Dataset, k: int, round_no: int, *, push: bool) -> None:
    """Edit k PRs spread over the repository (their `updatedAt` becomes now); optionally push."""
    numbers = _spread(hub, dataset, k)
    for number in numbers:
        hub.upsert_pr(
            dataset.full_name,
            {"number": number, "title": f"Edited in bench round {round_no} (#{number})"},
        )
    if push:
        hub.push(dataset.full_name)


def settle(hub: FakehubServer, overlap_seconds: float = 61.0) -> None:
    """Wait until fakehub's start is further back than the fetcher's overlap (see reruns)."""
    import time

    wait = hub.started_at + overlap_seconds - time.time()
    if wait > 0:
        log(f"  waiting {wait:.0f} s so the data's start is outside the 60 s overlap")
        time.sleep(wait)


def _spread(hub: FakehubServer, dataset: Dataset, k: int) -> list[int]:
    """k existing PR numbers spread evenly over the repository."""
    if dataset.folder is None:
        candidates = list(range(1, dataset.prs + 1))
    else:
        import json

        with (dataset.folder / "prs.jsonl").open(encoding="utf-8") as handle:
            candidates = sorted(json.loads(line)["number"] for line in handle if line.strip())
    step = max(1, len(candidates) // k)
    return candidates[::step][:k]


def antiwork_example(hub: FakehubServer) -> list[Row]:
    """The seed's own README example, `seed_real_projects --project antiwork --max-prs 10`.

    antiwork/gumroad and antiwork/flexile are the recorded histories of ../shared/data; antiwork/
    helper, which has none there, is synthetic. Cold: empty database, no cache.
    """
    dataset = Dataset(full_name="antiwork/example", prs=30)
    ws = Workspace(dataset)
    prepare(ws, hub.url)
    log("project example: seed_real_projects --project antiwork --max-prs 10")
    row = measured(
        hub,
        ws,
        "--project antiwork --max-prs 10 (cold)",
        ["seed_real_projects", "--project", "antiwork", "--max-prs", "10"],
        prs=30,
    )
    row.dataset = f"antiwork: gumroad + flexile (real), helper (synthetic {HELPER_PRS} PRs)"
    row.extra["stored_prs"] = stored_prs(ws)
    # The same seed with each repository's first page asked for alone (--per-repo), side by
    # side with the many-repository query above.
    old_ws = Workspace(dataset, tag="-per-repo")
    prepare(old_ws, hub.url)
    old = measured(
        hub,
        old_ws,
        "--project antiwork --max-prs 10 --per-repo (cold)",
        ["seed_real_projects", "--project", "antiwork", "--max-prs", "10", "--per-repo"],
        prs=30,
    )
    old.dataset = row.dataset
    old.extra["stored_prs"] = stored_prs(old_ws)
    return [row, old]


def has_command(name: str) -> bool:
    return (COMMANDS / f"{name}.py").exists()


# --- the scenarios --------------------------------------------------------------------------


# First-page sizes of the nested connections in a PR page (apps/integrations/github/
# github/queries.py): a PR with more needs a follow-up query (FetchPRConnections).
NESTED_FIRST = {"files": 100, "commits": 100, "reviews": 50}


def overflow(dataset: Dataset) -> dict[str, Any]:
    """For a recorded history: its PRs overflowing a nested first page, and the pages holding them.

    Pages are the seed's own: PAGE_SIZE PRs, newest created first. Only files, commits and reviews
    are counted (the recorded histories carry no check runs).
    """
    if dataset.folder is None:
        return {}
    with (dataset.folder / "prs.jsonl").open(encoding="utf-8") as handle:
        prs = [json.loads(line) for line in handle if line.strip()]
    prs.sort(key=lambda pr: pr["createdAt"], reverse=True)
    heavy = []
    for index, pr in enumerate(prs):
        sizes = {name: len(pr.get(name) or []) for name in NESTED_FIRST}
        if any(sizes[name] > first for name, first in NESTED_FIRST.items()):
            heavy.append({"number": pr["number"], "page": index // PAGE_SIZE + 1, **sizes})
    return {
        "pages_needed": -(-len(prs) // PAGE_SIZE),
        "overflow_prs": heavy,
        "overflow_pages": len({h["page"] for h in heavy}),
    }


def full_seeds(
    hub: FakehubServer, datasets: Sequence[Dataset]
) -> tuple[list[Row], dict[str, Workspace]]:
    rows: list[Row] = []
    spaces: dict[str, Workspace] = {}
    for dataset in datasets:
        ws = Workspace(dataset)
        prepare(ws, hub.url)
        log(f"full seed: {dataset.label}")
        row = measured(hub, ws, "full seed (cold)", seed_args(ws), timeout=3600)
        row.extra["stored_prs"] = stored_prs(ws)
        row.extra.update(overflow(dataset))
        if row.ok and row.extra["stored_prs"] != dataset.prs:
            row.note = f"stored {row.extra['stored_prs']} of {dataset.prs} PRs"
        if row.ok and row.requests:
            row.extra["requests_per_1000_prs"] = round(row.requests * 1000 / dataset.prs, 1)
            row.extra["graphql_points_per_1000_prs"] = round(
                (row.graphql_points or 0) * 1000 / dataset.prs, 1
            )
        rows.append(row)
        spaces[dataset.full_name] = ws
        if dataset.folder is not None:
            # Side by side: each page's follow-ups as requests of their own.
            old_ws = Workspace(dataset, tag="-per-page")
            prepare(old_ws, hub.url)
            old = measured(
                hub,
                old_ws,
                "full seed (cold), --follow-ups-per-page",
                [*seed_args(old_ws), "--follow-ups-per-page"],
                timeout=3600,
            )
            if old.ok and old.requests:
                old.extra["requests_per_1000_prs"] = round(old.requests * 1000 / dataset.prs, 1)
                old.extra["graphql_points_per_1000_prs"] = round(
                    (old.graphql_points or 0) * 1000 / dataset.prs, 1
                )
            rows.append(old)
    return rows, spaces


def reruns(
    hub: FakehubServer, spaces: dict[str, Workspace], datasets: Sequence[Dataset], ks: Sequence[int]
) -> list[Row]:
    """Unchanged re-run, then k-changed re-runs, on each dataset already seeded."""
    rows: list[Row] = []
    for round_no, dataset in enumerate(datasets, start=1):
        ws = spaces.get(dataset.full_name)
        if ws is None:
            continue
        log(f"re-runs: {dataset.label}")
        rows.append(measured(hub, ws, "unchanged re-run", seed_args(ws), prs=0))
        # The first incremental run after a seed re-reads every PR updated within the fetcher's
        # overlap (60 s) of the newest one; a few percent of synthetic PRs (the newest, their life
        # clamped at fakehub's start) share that start as `updatedAt`, so that re-read grows with
        # the repository. It is measured and shown on its own; the
        # k-rounds after it show what a steady incremental round costs.
        settle(hub)
        touch(hub, dataset, 1, round_no * 1000, push=True)
        rows.append(
            measured(hub, ws, "first incremental after the seed (k=1)", seed_args(ws), prs=1)
        )
        for k in ks:
            touch(hub, dataset, k, round_no * 1000 + k, push=True)
            row = measured(hub, ws, f"incremental, k={k} changed", seed_args(ws), prs=k)
            rows.append(row)
    return rows


def sync_rounds(
    hub: FakehubServer,
    datasets: Sequence[Dataset],
    ks: Sequence[int],
    cold_only: Sequence[Dataset] = (),
) -> list[Row]:
    """Production sync: a cold round, an unchanged round, then rounds after k PRs were edited."""
    if not (has_command("track_repository") and has_command("sync_repositories")):
        return [
            Row(
                bench="sync",
                tool="prharvest",
                dataset="-",
                scenario="production sync",
                ok=False,
                note="track_repository / sync_repositories not in the tree yet",
            )
        ]
    rows: list[Row] = []
    for round_no, dataset in enumerate([*cold_only, *datasets], start=1):
        ws = Workspace(dataset, tag="-sync")
        prepare(ws, hub.url)
        tracked = manage(
            ws, hub.url, "track_repository", dataset.full_name, "--team", ws.team, "--create-team"
        )
        if not tracked.ok:
            rows.append(
                Row(
                    bench="sync",
                    tool="prharvest",
                    dataset=dataset.label,
                    scenario="track_repository",
                    ok=False,
                    note=tracked.tail(2),
                )
            )
            continue
        log(f"production sync: {dataset.label}")
        rows.append(
            measured(hub, ws, "sync: cold round", ["sync_repositories"], bench="sync", timeout=3600)
        )
        rows[-1].extra["stored_prs"] = stored_prs(ws)
        if dataset in cold_only:
            continue
        rows.append(
            measured(hub, ws, "sync: unchanged round", ["sync_repositories"], bench="sync", prs=0)
        )
        settle(hub)
        touch(hub, dataset, 1, 500 + round_no * 1000, push=False)
        rows.append(
            measured(
                hub,
                ws,
                "sync: first incremental round (k=1)",
                ["sync_repositories"],
                bench="sync",
                prs=1,
            )
        )
        for k in ks:
            touch(hub, dataset, k, 500 + round_no * 1000 + k, push=False)
            rows.append(
                measured(
                    hub, ws, f"sync: k={k} changed", ["sync_repositories"], bench="sync", prs=k
                )
            )
    return rows


def latency_run(prs: int) -> list[Row]:
    """The same seed against fakehub answering every request after LATENCY_MS.

    Overhead is set against two sums: requests x LATENCY_MS (the emulated latency alone) and
    fakehub's `answer_ms` (each request from arrival to answer: the latency plus fakehub's own
    work on it, which on GitHub is server time). The second is the requests' latencies as the
    client meets them; what is left over is ours: start-up, our work between an answer and the
    next request, and the work after the last page.
    """
    dataset = synthetic(prs)
    ws = Workspace(dataset, tag="-latency")
    with FakehubServer(
        [*dataset.fakehub_args(), "--latency-ms", str(LATENCY_MS)],
        log_path=OUT_DIR / "fakehub-latency.log",
    ) as hub:
        prepare(ws, hub.url)
        # Python + Django start-up, measured alone, so the overhead can be shown without it.
        startup = manage(ws, hub.url, "seed_real_projects", "--list-projects")
        log(f"latency {LATENCY_MS} ms: {dataset.label}")
        row = measured(
            hub, ws, f"full seed, fakehub latency {LATENCY_MS} ms", seed_args(ws), bench="latency"
        )
        answered = hub.stats().get("answer_ms")
    if row.ok and row.requests:
        latency_sum = row.requests * LATENCY_MS / 1000
        row.extra["latency_sum_seconds"] = latency_sum
        row.extra["overhead_pct"] = _pct(row.wall_seconds - latency_sum, latency_sum)
        if isinstance(answered, int | float) and answered > 0:
            answer_sum = answered / 1000
            row.extra["answer_sum_seconds"] = round(answer_sum, 2)
            row.extra["overhead_pct_vs_answers"] = _pct(row.wall_seconds - answer_sum, answer_sum)
        if startup.ok:
            row.extra["startup_seconds"] = round(startup.wall_seconds, 2)
            ours = row.wall_seconds - startup.wall_seconds
            row.extra["overhead_pct_after_startup"] = _pct(ours - latency_sum, latency_sum)
            if "answer_sum_seconds" in row.extra:
                answer_sum = row.extra["answer_sum_seconds"]
                row.extra["overhead_pct_vs_answers_after_startup"] = _pct(
                    ours - answer_sum, answer_sum
                )
        row.note = (
            f"sum of latencies {latency_sum:.1f} s, overhead {row.extra['overhead_pct']:+.1f} %"
        )
        if "overhead_pct_vs_answers" in row.extra:
            row.note += (
                f"; sum of answer times {row.extra['answer_sum_seconds']:.1f} s,"
                f" overhead {row.extra['overhead_pct_vs_answers']:+.1f} %"
            )
    return [row]


def _pct(part: float, whole: float) -> float:
    return round(100 * part / whole, 1)


def run(quick: bool = False) -> list[Row]:
    """Every scenario; returns the rows (failed scenarios are rows with ok=False and a note)."""
    if not has_command("seed_real_projects"):
        return [
            Row(
                bench="seed",
                tool="prharvest",
                dataset="-",
                scenario="full seed",
                ok=False,
                note="seed_real_projects is not in the tree yet",
            )
        ]
    sizes = (1000, 2000, 5000) if quick else (1000, 2000, 5000, 20000)
    datasets = [synthetic(n) for n in sizes] + [real(name) for name in REAL]
    ks = (1, 10) if quick else (1, 10, 100)
    small, large = synthetic(1000), synthetic(sizes[-1])
    rows: list[Row] = []
    args: list[str] = []
    for dataset in datasets:
        args += dataset.fakehub_args()
    args += ["--synthetic", f"{HELPER}:{HELPER_PRS}:5"]
    log(
        f"starting fakehub with {len(datasets)} repositories ({sum(d.prs for d in datasets):,} PRs)"
    )
    request_log = OUT_DIR / "seed-requests.jsonl"
    request_log.unlink(missing_ok=True)
    args += ["--request-log", str(request_log)]
    with FakehubServer(args, log_path=OUT_DIR / "fakehub-seed.log", ready_timeout=900) as hub:
        hub.request_log = request_log  # type: ignore[attr-defined]
        # Far above anything a bench spends: the figures are about cost, not about waiting.
        hub.set_limits(graphql_points=10_000_000, core_requests=10_000_000)
        rows += antiwork_example(hub)
        seeded, spaces = full_seeds(hub, datasets)
        rows += seeded
        rows += reruns(hub, spaces, [small, large], ks)
        rows += sync_rounds(hub, [small, large], ks, cold_only=[synthetic(2000)])
    rows += latency_run(300 if quick else 1000)
    if not quick:
        # A longer seed: start-up is paid once, so its share of the overhead shrinks.
        rows += latency_run(5000)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller repositories, fewer rounds")
    parser.add_argument("--json", type=Path, default=OUT_DIR / "seed.json", help="results file")
    args = parser.parse_args(argv)
    try:
        rows = run(quick=args.quick)
    except BenchError as exc:
        print(f"bench_seed: {exc}", file=sys.stderr)
        return 1
    write_json(args.json, [row.to_dict() for row in rows])
    for row in rows:
        print(format_row(row))
    return 0 if all(row.ok for row in rows) else 1


def format_row(row: Row) -> str:
    def num(value: Any, width: int = 7) -> str:
        return f"{value:>{width},}" if isinstance(value, int) else f"{'-':>{width}}"

    wall = f"{row.wall_seconds:8.1f}s" if row.wall_seconds is not None else "        -"
    rss = f"{row.peak_rss_mb:7.0f}MiB" if row.peak_rss_mb is not None else "        -"
    return (
        f"{row.dataset[:34]:34} {row.scenario[:34]:34} req{num(row.requests)} "
        f"gql-pts{num(row.graphql_points)} rest-pts{num(row.rest_points)} {wall} {rss} "
        f"{'' if row.ok else 'FAILED '}{row.note}"
    )


if __name__ == "__main__":
    sys.exit(main())
