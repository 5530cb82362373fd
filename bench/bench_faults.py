"""Resilience figures: a seed under a mixed fault profile, and a seed killed with SIGKILL.

    .venv/bin/python bench/bench_faults.py [--quick] [--only mixed|heavy|kills] [--json FILE]

1. **Faults.** The same cold seed (`manage.py seed_real_projects --repo ...`, a child process)
   twice, in one run: against a fakehub without faults, then against a fakehub serving the same
   synthetic repository with the profile bench/profiles/mixed.json (`--faults`): 5xx answers,
   answers slower than the client's timeout, dropped connections, secondary limits (403 and
   429), partial GraphQL errors, heavy pages answered 502, primary exhaustion with a short reset
   window. Both runs use the same settings (`GITHUB_TIMEOUT_SECONDS`, `--reset-seconds`); the
   figure is the ratio of their wall times, and both databases must hold the same rows.
2. **Heavy pages among other faults.** The same pair of seeds with bench/profiles/
   heavy_mixed.json: every page above 13 PRs answered 502 (`heavy_page_502`), plus 502s, 503s and
   dropped connections at 5 % each of GraphQL requests. The page-size search must converge
   whatever comes between two shrinks; the figure is again the ratio of wall times.
3. **Kills.** A seed against a fakehub subprocess with latency, killed with SIGKILL at seeded
   random points (after a random number of further GraphQL requests plus a random delay, so
   kills land while fetching, while writing and between the two), then re-run to the end. Pages
   re-fetched are counted from fakehub's request log: every page request (`FetchPRsBulk`) whose
   cursor had already been asked for. The database must equal an undisturbed seed's.

The unchanged re-run (points spent when nothing changed) is bench_seed's "unchanged re-run".
Not a test: nothing here runs under `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_seed import (
    MANAGE,
    Workspace,
    mark_log,
    operations,
    prepare,
    seed_args,
    synthetic,
)  # noqa: E402
from bench.common import (  # noqa: E402
    BENCH_DIR,
    OUT_DIR,
    BenchError,
    FakehubServer,
    Row,
    log,
    run_child,
    write_json,
)

PROFILE = BENCH_DIR / "profiles" / "mixed.json"
# Pages above 13 PRs too heavy for GitHub (502), with 502s, 503s and drops at 5 % each between:
# the page-size search must keep converging.
HEAVY_PROFILE = BENCH_DIR / "profiles" / "heavy_mixed.json"
TIMEOUT_SECONDS = 5  # the client's timeout in both fault runs; the profile's slow answers take 6 s
RESET_SECONDS = 20  # fakehub's rate-limit window in both fault runs (primary exhaustion waits it)
KILL_LATENCY_MS = 100
KILL_SEED = 20261128


def snapshot(db: Path, team_slug: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row a seed wrote for one team (the fault suite's own snapshot), from a SQLite file."""
    if "django" not in sys.modules:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        os.environ["SQLITE_PATH"] = str(OUT_DIR / "faults" / "unused.sqlite3")
        import django

        django.setup()
    from apps.metrics.tests.seed_support import snapshot_sqlite

    return snapshot_sqlite(db, team_slug)


def counts(snap: dict[str, list[tuple[Any, ...]]]) -> dict[str, int]:
    return {name: len(rows) for name, rows in snap.items()}


# --- 1. a seed under faults -------------------------------------------------------------------


def fault_run(
    prs: int, profile_path: Path = PROFILE, label: str = "mixed fault profile"
) -> list[Row]:
    """Wall time of a cold seed without faults, then under the mixed profile; same server.

    One fakehub serves both runs (synthetic data is dated from the server's start, so a second
    server would serve other timestamps); the profile is loaded through the control API after
    the clean run, and the faulty run uses a token of its own (its own budget and window).
    """
    dataset = synthetic(prs)
    profile = json.loads(profile_path.read_text())
    faulty_label = label
    # The clean run of each pair is its own row: named after the profile beside the mixed one's.
    clean_label = "no faults" if profile_path == PROFILE else f"no faults, beside {label}"
    rows: list[Row] = []
    spaces: dict[str, Workspace] = {}
    request_log = OUT_DIR / "faults-requests.jsonl"
    request_log.unlink(missing_ok=True)
    args = [*dataset.fakehub_args(), "--reset-seconds", str(RESET_SECONDS)]
    args += ["--request-log", str(request_log)]
    with FakehubServer(args, log_path=OUT_DIR / "fakehub-faults.log") as hub:
        hub.request_log = request_log  # type: ignore[attr-defined]
        for label, token in (
            (clean_label, f"bench-clean-{profile_path.stem}-token-not-a-secret"),
            (faulty_label, f"bench-faults-{profile_path.stem}-token-not-a-secret"),
        ):
            tag = (
                f"-clean-{profile_path.stem}"
                if label == clean_label
                else f"-faults-{profile_path.stem}"
            )
            ws = Workspace(dataset, tag=tag)
            ws.root = OUT_DIR / "faults" / f"{dataset.slug}{tag}"
            ws.db, ws.cache = ws.root / "db.sqlite3", ws.root / "cache"
            prepare(ws, hub.url)
            env = ws.env(hub.url) | {
                "GITHUB_TOKEN": token,
                "GITHUB_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
            }
            if label != clean_label:
                hub.control("POST", "/_fakehub/faults", profile)
            hub.reset_stats()
            mark_log(hub)
            mark = hub.log_mark  # type: ignore[attr-defined]
            log(f"faults: {label}, {dataset.label}")
            child = run_child([sys.executable, MANAGE, *seed_args(ws)], env=env, timeout=1800)
            stats = hub.stats()
            row = Row(
                bench="faults",
                tool="prharvest",
                dataset=dataset.label,
                scenario=f"full seed, {label}",
                prs=prs,
                wall_seconds=round(child.wall_seconds, 2),
                peak_rss_mb=round(child.peak_rss_mb, 1),
                ok=child.ok,
            ).with_stats(stats)
            row.extra.update(
                {
                    "operations": operations(hub),
                    "seconds_after_answer": time_by_answer(request_log, mark),
                    "faults_injected": stats.get("faults_injected", 0),
                    "requests_while_limited": stats.get("requests_while_limited"),
                    "max_in_flight_per_token": stats.get("max_in_flight_per_token"),
                    "timeout_seconds": TIMEOUT_SECONDS,
                    "reset_seconds": RESET_SECONDS,
                }
            )
            if label != clean_label:
                row.extra["profile"] = str(profile_path.relative_to(BENCH_DIR.parent))
                row.extra["fault_kinds"] = sorted({r["fault"] for r in profile["rules"]})
            if not child.ok:
                row.note = f"exit {child.returncode}: {child.tail(3)}"
                log(f"  FAILED:\n{child.tail(12)}")
            else:
                log(
                    f"  {row.wall_seconds:.1f} s, {row.requests} requests, "
                    f"{row.extra['faults_injected']} faults injected"
                )
            rows.append(row)
            spaces[label] = ws
    clean, faulty = rows
    if clean.ok and faulty.ok:
        same = snapshot(spaces[clean_label].db, spaces[clean_label].team) == snapshot(
            spaces[faulty_label].db, spaces[faulty_label].team
        )
        faulty.extra["same_rows_as_clean"] = same
        faulty.extra["ratio"] = round(faulty.wall_seconds / clean.wall_seconds, 2)
        faulty.note = (
            f"{faulty.extra['ratio']:.2f}x the clean seed's wall time; "
            f"{faulty.extra['faults_injected']} faults injected; "
            + ("same rows as the clean seed" if same else "ROWS DIFFER from the clean seed")
        )
        if not same:
            faulty.ok = False
    return rows


def time_by_answer(log_path: Path, start: int) -> dict[str, float]:
    """Seconds from each request's arrival to the next one's, summed by the first one's answer.

    From fakehub's request log (from byte `start` on): where a run's wall time went, measured
    at the server. Status 0 is a dropped connection, 499 a request the client gave up on (its
    timeout); a GraphQL 200 that charged nothing is a primary rate-limit answer (an executed query
    costs at least 1 point). The time after a limit answer is the wait before the next request.
    """
    entries: list[tuple[datetime, str]] = []
    with log_path.open(encoding="utf-8") as handle:
        handle.seek(start)
        for line in handle:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            status = entry.get("status")
            if status == 200 and entry.get("query") and not entry.get("cost"):
                # Every executed query costs at least 1 point: one charging 0 was not executed.
                key = "primary limit (200 RATE_LIMITED)"
            else:
                key = {0: "dropped (no answer)", 499: "timed out (client gave up)"}.get(
                    status, str(status)
                )
            entries.append((datetime.fromisoformat(entry["time"]), key))
    # Lines are written when answered; a slow answer's line comes after later requests' lines.
    entries.sort(key=lambda item: item[0])
    spent: dict[str, float] = {}
    for (when, key), (after, _) in zip(entries, entries[1:], strict=False):
        spent[key] = spent.get(key, 0.0) + (after - when).total_seconds()
    return {k: round(v, 1) for k, v in sorted(spent.items(), key=lambda item: -item[1])}


# --- 2. a seed killed with SIGKILL --------------------------------------------------------------


def page_requests(log_path: Path, start: int) -> tuple[int, int, int]:
    """(answered page requests, distinct cursors, abandoned ones) of `FetchPRsBulk` from `start`.

    A page request whose client went away before the answer (its process killed) is logged with
    status 499: never answered, so not a page fetched, but a request spent again.
    """
    cursors: Counter[str] = Counter()
    abandoned = 0
    with log_path.open(encoding="utf-8") as handle:
        handle.seek(start)
        for line in handle:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if "FetchPRsBulk" not in (entry.get("query") or ""):
                continue
            if entry.get("status") == 499:
                abandoned += 1
            if entry.get("status") != 200:
                continue
            variables = entry.get("variables") or {}
            cursors[json.dumps([variables.get("after"), variables.get("first")])] += 1
    return sum(cursors.values()), len(cursors), abandoned


def kill_run(prs: int, kills: int) -> list[Row]:
    """An undisturbed seed, then a seed killed `kills` times and re-run; pages fetched twice."""
    dataset = synthetic(prs)
    request_log = OUT_DIR / "faults-kill-requests.jsonl"
    request_log.unlink(missing_ok=True)
    rng = random.Random(KILL_SEED)
    args = [*dataset.fakehub_args(), "--latency-ms", str(KILL_LATENCY_MS)]
    with FakehubServer(
        [*args, "--request-log", str(request_log)], log_path=OUT_DIR / "fakehub-faults.log"
    ) as hub:
        clean = Workspace(dataset, tag="-kill-clean")
        clean.root = OUT_DIR / "faults" / f"{dataset.slug}-kill-clean"
        clean.db, clean.cache = clean.root / "db.sqlite3", clean.root / "cache"
        prepare(clean, hub.url)
        hub.reset_stats()
        log(f"kills: undisturbed seed of {dataset.label}, latency {KILL_LATENCY_MS} ms")
        undisturbed = run_child(
            [sys.executable, MANAGE, *seed_args(clean)], env=clean.env(hub.url), timeout=1800
        )
        clean_pages = hub.stats()["graphql_requests"]
        if not undisturbed.ok:
            raise BenchError(f"the undisturbed seed failed: {undisturbed.tail(3)}")

        ws = Workspace(dataset, tag="-killed")
        ws.root = OUT_DIR / "faults" / f"{dataset.slug}-killed"
        ws.db, ws.cache = ws.root / "db.sqlite3", ws.root / "cache"
        prepare(ws, hub.url)
        hub.reset_stats()
        mark = request_log.stat().st_size
        env = ws.env(hub.url)
        done_kills = 0
        points: list[str] = []
        started = time.perf_counter()
        for _ in range(kills):
            before = hub.stats()["graphql_requests"]
            process = subprocess.Popen(
                [sys.executable, MANAGE, *seed_args(ws)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            target = before + rng.randint(1, 4)
            delay = rng.uniform(0.0, 0.25)
            deadline = time.monotonic() + 120
            while hub.stats()["graphql_requests"] < target and process.poll() is None:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.005)
            time.sleep(delay)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                done_kills += 1
                points.append(f"after request {target - before} + {delay * 1000:.0f} ms")
            process.wait(timeout=60)
        final = run_child([sys.executable, MANAGE, *seed_args(ws)], env=env, timeout=1800)
        wall = time.perf_counter() - started
        stats = hub.stats()
        pages, distinct, abandoned = page_requests(request_log, mark)
    refetched = pages - distinct
    same = final.ok and snapshot(ws.db, ws.team) == snapshot(clean.db, clean.team)
    row = Row(
        bench="faults",
        tool="prharvest",
        dataset=dataset.label,
        scenario=f"seed killed with SIGKILL {done_kills} times, then re-run",
        prs=prs,
        wall_seconds=round(wall, 2),
        ok=final.ok and same and done_kills > 0,
    ).with_stats(stats)
    row.extra.update(
        {
            "kills": done_kills,
            "kill_points": points,
            "page_requests": pages,
            "distinct_pages": distinct,
            "pages_refetched": refetched,
            "page_requests_abandoned": abandoned,
            "refetched_per_kill": round(refetched / done_kills, 2) if done_kills else None,
            "undisturbed_graphql_requests": clean_pages,
            "extra_graphql_requests": stats["graphql_requests"] - clean_pages,
            "same_rows_as_clean": same,
            "max_in_flight_per_token": stats.get("max_in_flight_per_token"),
            "latency_ms": KILL_LATENCY_MS,
            "kill_seed": KILL_SEED,
        }
    )
    row.note = (
        f"{refetched} page(s) re-fetched over {done_kills} kills"
        f" ({row.extra['refetched_per_kill']} per kill); "
        + ("same rows as an undisturbed seed" if same else "ROWS DIFFER or the re-run failed")
    )
    if not final.ok:
        row.note += f"; re-run exit {final.returncode}: {final.tail(2)}"
    log(f"  {row.note}")
    return [row]


def run(quick: bool, only: str | None = None) -> list[Row]:
    rows: list[Row] = []
    parts = {
        "mixed": lambda: fault_run(1000 if quick else 2000),
        "heavy": lambda: fault_run(
            1000 if quick else 2000, HEAVY_PROFILE, "heavy pages with 502/503/drops"
        ),
        "kills": lambda: kill_run(300 if quick else 500, 4 if quick else 8),
    }
    for name, part in parts.items():
        if only is not None and name != only:
            continue
        try:
            rows += part()
        except BenchError as exc:
            rows.append(
                Row(
                    bench="faults",
                    tool="prharvest",
                    dataset="-",
                    scenario="-",
                    ok=False,
                    note=str(exc),
                )
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller repositories, fewer kills")
    parser.add_argument("--json", type=Path, default=OUT_DIR / "faults.json", help="results file")
    parser.add_argument("--only", choices=("mixed", "heavy", "kills"), help="run one part")
    args = parser.parse_args(argv)
    rows = run(args.quick, args.only)
    write_json(args.json, [row.to_dict() for row in rows])
    for row in rows:
        print(f"{row.scenario}: {row.wall_seconds} s, {row.requests} requests. {row.note}")
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
