"""Run every bench, print one table, write docs/benchmarks.md and its charts (`make bench`).

Size: over 400 lines because it also writes the prose of docs/benchmarks.md; issue 10 asks for
tables only, with the reading written by hand.

    .venv/bin/python bench/run_all.py [--quick] [--only seed|write|peers|fakehub|sync|dashboard|faults ...]
        [--render-only]

Each bench runs as its own child (bench_seed.py, bench_write.py, bench_peers.py,
bench_fakehub.py, bench_sync.py, bench_dashboard.py, bench_faults.py) and leaves its rows in
bench/out/*.json; this script then renders them. `--only` re-runs some benches and
renders with the others' last results; `--render-only` runs nothing. Charts are PNGs drawn with
matplotlib from a separate venv (bench/peers/.venv-charts, created on first use), so the project
itself never depends on matplotlib. Nothing here runs under `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
OUT = BENCH_DIR / "out"
DOC = REPO_ROOT / "docs" / "benchmarks.md"
CHART_DIR = REPO_ROOT / "docs" / "bench"
BENCHES = ("seed", "write", "peers", "fakehub", "sync", "org", "dashboard", "faults")
MATPLOTLIB = "matplotlib==3.11.2"

# Targets from the project's goals (issue 7).
MAX_REQUESTS_PER_1000 = 42
MAX_POINTS_PER_1000 = 100
MIN_FEWER_THAN_PERCEVAL = 70
MIN_WRITE_RATIO = 10
MAX_RSS_20K_MB = 250
MAX_RSS_GROWTH = 1.5
MAX_OVERHEAD_PCT = 5
# Issue 2 (fakehub), issue 3 (the README example), issue 4 (kills), issue 6 (dashboard).
MAX_PAGE_MS = 50
MAX_LOAD_5K_SECONDS = 5
MAX_ORG_UNCHANGED = 25  # requests and points of an unchanged round over 1,000 repositories
MAX_EXAMPLE_REQUESTS = 4  # three probes, then the first pages in one many-repository query
ORIGINAL_EXAMPLE_REQUESTS = 27
MAX_REFETCHED_PER_KILL = 1
MAX_DASHBOARD_MS = 500
MAX_DASHBOARD_QUERIES = 20
# A per-1,000 rate means little for a repository of a page or two (1 page + 1 probe for 10 PRs
# is 200 per 1,000): the rate targets take every full seed of at least this many PRs.
MIN_PRS_FOR_RATE = 100


# --- running --------------------------------------------------------------------------------


def run_benches(names: list[str], quick: bool) -> dict[str, float]:
    """Run each bench as a child with inherited output; return its wall seconds."""
    durations: dict[str, float] = {}
    for name in names:
        argv = [
            sys.executable,
            str(BENCH_DIR / f"bench_{name}.py"),
            "--json",
            str(OUT / f"{name}.json"),
        ]
        if quick:
            argv.append("--quick")
        print(f"== bench_{name} ==", file=sys.stderr, flush=True)
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=REPO_ROOT, check=False)
        durations[name] = round(time.perf_counter() - started, 1)
        if done.returncode != 0:
            print(
                f"bench_{name} reported failures (exit {done.returncode}); rendering what it measured",
                file=sys.stderr,
            )
    return durations


def load_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in BENCHES:
        path = OUT / f"{name}.json"
        if path.exists():
            rows += json.loads(path.read_text())
    return rows


# --- figures and targets --------------------------------------------------------------------


def pick(rows: list[dict[str, Any]], **match: Any) -> list[dict[str, Any]]:
    return [r for r in rows if all(r.get(k) == v for k, v in match.items())]


def first(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    found = pick(rows, **match)
    return found[0] if found else None


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def verdict(ok: bool | None, miss: str = "") -> str:
    if ok is None:
        return "not measured"
    return "**met**" if ok else f"**missed**{(' ' + miss) if miss else ''}"


def targets(rows: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) for every goal of issue 7."""
    out: list[tuple[str, str, str]] = []
    seeds = [r for r in pick(rows, bench="seed", scenario="full seed (cold)") if r.get("ok")]
    rated = [r for r in seeds if r.get("requests") and r["prs"] >= MIN_PRS_FOR_RATE]
    if rated:
        per_k = {r["dataset"]: r["requests"] * 1000 / r["prs"] for r in rated}
        pts_k = {r["dataset"]: (r.get("graphql_points") or 0) * 1000 / r["prs"] for r in rated}
        for label, limit, values in (
            ("requests per 1,000 full-detail PRs", MAX_REQUESTS_PER_1000, per_k),
            ("GraphQL points per 1,000 PRs", MAX_POINTS_PER_1000, pts_k),
        ):
            worst_name = max(values, key=lambda name: values[name])
            worst = values[worst_name]
            shown = f"worst {fmt(worst)} ({worst_name}); " + "; ".join(
                f"{name}: {fmt(v)}" for name, v in values.items() if name != worst_name
            )
            out.append(
                (
                    f"{label} <= {limit} (every dataset of >= {MIN_PRS_FOR_RATE} PRs, worst counts)",
                    shown,
                    verdict(worst <= limit, f"by {worst - limit:.1f} ({worst_name})"),
                )
            )
    else:
        out.append((f"requests per 1,000 PRs <= {MAX_REQUESTS_PER_1000}", "-", verdict(None)))
    example = first(rows, bench="seed", scenario="--project antiwork --max-prs 10 (cold)")
    if example and example.get("ok"):
        out.append(
            (
                f"`seed_real_projects --project antiwork --max-prs 10` <= {MAX_EXAMPLE_REQUESTS}"
                f" requests (the original system: {ORIGINAL_EXAMPLE_REQUESTS})",
                f"{example['requests']} requests, {example['graphql_points']} GraphQL points,"
                f" {fmt(example['extra'].get('stored_prs'))} PRs stored",
                verdict(example["requests"] <= MAX_EXAMPLE_REQUESTS),
            )
        )
    else:
        out.append(
            (
                f"--project antiwork --max-prs 10 <= {MAX_EXAMPLE_REQUESTS} requests",
                "-",
                verdict(None),
            )
        )
    unchanged_org = [
        r
        for r in pick(rows, bench="org")
        if r["scenario"].startswith("unchanged round (batched)") and r.get("ok")
    ]
    if unchanged_org:
        r = unchanged_org[0]
        out.append(
            (
                f"unchanged sync round over 1,000 repositories <= {MAX_ORG_UNCHANGED} requests and"
                f" <= {MAX_ORG_UNCHANGED} points (bench_org, batched)",
                f"{r['requests']} requests, {r['graphql_points']} GraphQL points ({r['dataset']})",
                verdict(
                    r["requests"] <= MAX_ORG_UNCHANGED
                    and (r.get("graphql_points") or 0) <= MAX_ORG_UNCHANGED
                ),
            )
        )
    ratios = []
    for peer in pick(rows, bench="peers", tool="Perceval"):
        ours = next((r for r in seeds if r["dataset"] == peer["dataset"]), None)
        if ours and ours.get("requests") and peer.get("requests") and peer.get("ok"):
            ratios.append((peer["dataset"], peer["requests"] / ours["requests"]))
    if ratios:
        worst = min(x for _, x in ratios)
        shown = "; ".join(f"{d}: {x:,.0f}x" for d, x in ratios)
        out.append(
            (
                f">= {MIN_FEWER_THAN_PERCEVAL}x fewer requests than Perceval",
                shown,
                verdict(worst >= MIN_FEWER_THAN_PERCEVAL, f"(worst {worst:.0f}x)"),
            )
        )
    else:
        out.append(
            (f">= {MIN_FEWER_THAN_PERCEVAL}x fewer requests than Perceval", "-", verdict(None))
        )
    unchanged = [
        r
        for r in rows
        if r.get("scenario")
        in ("unchanged re-run", "sync: unchanged round", "incremental round, 0 changed PRs")
        and r.get("ok")
    ]
    if unchanged:
        shown = "; ".join(
            f"{r['scenario']} ({r['dataset']}): {fmt((r.get('graphql_points') or 0) + (r.get('rest_points') or 0))} points"
            f" in {fmt(r.get('requests'))} requests"
            for r in unchanged
        )
        zero = all(
            (r.get("graphql_points") or 0) + (r.get("rest_points") or 0) == 0 for r in unchanged
        )
        out.append(("unchanged re-run: 0 points", shown, verdict(zero)))
        per_repo = [
            (r, (r["requests"] or 0) / (r["extra"].get("repos") or 1))
            for r in unchanged
            if r.get("requests") is not None
        ]
        worst_row, worst = max(per_repo, key=lambda item: item[1])
        out.append(
            (
                "unchanged re-run: <= 1 request per repository",
                f"worst {worst:g} ({worst_row['scenario']}, {worst_row['dataset']})",
                verdict(worst <= 1),
            )
        )
    else:
        out.append(("unchanged re-run: 0 points", "-", verdict(None)))
    for bench in ("seed", "sync"):
        incremental = [
            r
            for r in pick(rows, bench=bench)
            if r.get("ok") and ("incremental, k=" in r["scenario"] or "sync: k=" in r["scenario"])
        ]
        by_k: dict[str, dict[int, int]] = {}
        for r in incremental:
            by_k.setdefault(r["scenario"], {})[r["extra"].get("repo_size", 0)] = (
                r.get("requests") or 0
            )
        if by_k and all(len(v) >= 2 for v in by_k.values()):
            same = all(len(set(v.values())) == 1 for v in by_k.values())
            shown = "; ".join(
                f"{k}: "
                + ", ".join(f"{req} req at {size:,} PRs" for size, req in sorted(v.items()))
                for k, v in by_k.items()
            )
            out.append(
                (
                    f"incremental requests independent of repository size ({bench})",
                    shown,
                    verdict(same),
                )
            )
    writes = [r for r in pick(rows, bench="write", tool="prharvest writer") if r.get("ok")]
    if writes:
        shown = "; ".join(f"{r['scenario']}: {r['extra']['ratio']:.1f}x" for r in writes)
        worst = min(r["extra"]["ratio"] for r in writes)
        out.append(
            (
                f"write throughput >= {MIN_WRITE_RATIO}x the per-row baseline",
                shown,
                verdict(worst >= MIN_WRITE_RATIO),
            )
        )
    else:
        out.append((f"write throughput >= {MIN_WRITE_RATIO}x per-row", "-", verdict(None)))
    syncs = [r for r in pick(rows, bench="sync", scenario="sync: cold round") if r.get("ok")]
    for label, runs in (("seed", seeds), ("sync", syncs)):
        small = next((r for r in runs if r["dataset"] == "synthetic 2,000 PRs"), None)
        large = next((r for r in runs if r["dataset"] == "synthetic 20,000 PRs"), None)
        if not (small and large):
            out.append(
                (f"peak memory at 20,000 PRs <= {MAX_RSS_20K_MB} MB ({label})", "-", verdict(None))
            )
            continue
        growth = large["peak_rss_mb"] / small["peak_rss_mb"]
        out.append(
            (
                f"peak memory at 20,000 PRs <= {MAX_RSS_20K_MB} MB ({label})",
                f"{fmt(large['peak_rss_mb'])} MiB",
                verdict(
                    large["peak_rss_mb"] <= MAX_RSS_20K_MB,
                    f"by {large['peak_rss_mb'] - MAX_RSS_20K_MB:.0f} MiB",
                ),
            )
        )
        out.append(
            (
                f"... and <= {MAX_RSS_GROWTH}x the 2,000-PR run ({label})",
                f"{fmt(small['peak_rss_mb'])} -> {fmt(large['peak_rss_mb'])} MiB ({growth:.2f}x)",
                verdict(growth <= MAX_RSS_GROWTH),
            )
        )
    latency = next(
        (r for r in pick(rows, bench="latency") if r.get("ok") and "overhead_pct" in r["extra"]),
        None,
    )
    if latency:
        pct = latency["extra"]["overhead_pct"]
        after = latency["extra"].get("overhead_pct_after_startup")
        shown = f"{pct:+.1f} % over {latency['extra']['latency_sum_seconds']:.1f} s of latency"
        if after is not None:
            shown += f" ({after:+.1f} % without the {latency['extra']['startup_seconds']:.1f} s start-up)"
        out.append(
            (
                f"overhead over emulated latency <= {MAX_OVERHEAD_PCT} %",
                shown,
                verdict(pct <= MAX_OVERHEAD_PCT),
            )
        )
    else:
        out.append((f"overhead over emulated latency <= {MAX_OVERHEAD_PCT} %", "-", verdict(None)))
    page = first(rows, bench="fakehub", scenario="25-PR full-detail page")
    if page and page.get("ok"):
        e = page["extra"]
        out.append(
            (
                f"fakehub: a 25-PR full-detail page with 10,000 PRs loaded < {MAX_PAGE_MS} ms (p95 counts)",
                f"median {e['median_ms']:.1f} ms, p95 {e['p95_ms']:.1f} ms, max {e['max_ms']:.1f} ms"
                f" over {page['requests']} pages ({page['dataset']})",
                verdict(e["p95_ms"] < MAX_PAGE_MS),
            )
        )
    else:
        out.append((f"fakehub: 25-PR page < {MAX_PAGE_MS} ms", "-", verdict(None)))
    loads = [
        r
        for r in pick(rows, bench="fakehub", scenario="dataset load")
        if r.get("ok") and r["prs"] >= 5000
    ]
    if loads:
        worst = max(loads, key=lambda r: r["wall_seconds"])
        out.append(
            (
                f"fakehub: a 5,000-PR dataset loads in < {MAX_LOAD_5K_SECONDS} s",
                f"{worst['wall_seconds']:.2f} s ({worst['dataset']},"
                f" {fmt(worst['extra'].get('prs_jsonl_mb'))} MB of prs.jsonl)",
                verdict(worst["wall_seconds"] < MAX_LOAD_5K_SECONDS),
            )
        )
    else:
        out.append((f"fakehub: 5,000-PR load < {MAX_LOAD_5K_SECONDS} s", "-", verdict(None)))
    faulty = first(rows, bench="faults", scenario="full seed, mixed fault profile")
    if faulty and faulty.get("ok"):
        e = faulty["extra"]
        exact = (
            e.get("same_rows_as_clean")
            and e.get("requests_while_limited") == 0
            and e.get("max_in_flight_per_token") == 1
        )
        out.append(
            (
                "a seed under faults ends with the undisturbed rows, never sends while limited,"
                " one request in flight per token",
                f"same rows: {fmt(e.get('same_rows_as_clean'))}; requests while limited"
                f" {e.get('requests_while_limited')}; max in flight {e.get('max_in_flight_per_token')};"
                f" {e.get('faults_injected')} faults injected",
                verdict(bool(exact)),
            )
        )
    elif faulty:
        out.append(("a seed under faults ends exact", faulty.get("note") or "-", verdict(False)))
    kill = next(
        (r for r in pick(rows, bench="faults") if "SIGKILL" in r["scenario"]),
        None,
    )
    if kill and kill["extra"].get("kills"):
        e = kill["extra"]
        out.append(
            (
                f"pages re-fetched per SIGKILL <= {MAX_REFETCHED_PER_KILL}, ending exact",
                f"{e['pages_refetched']} over {e['kills']} kills ({e['refetched_per_kill']:g} per kill),"
                f" worst kill counted in the total; same rows: {fmt(e.get('same_rows_as_clean'))}",
                verdict(
                    e["refetched_per_kill"] <= MAX_REFETCHED_PER_KILL
                    and bool(e.get("same_rows_as_clean"))
                ),
            )
        )
    else:
        out.append((f"pages re-fetched per kill <= {MAX_REFETCHED_PER_KILL}", "-", verdict(None)))
    team_pages = [
        r for r in pick(rows, bench="dashboard", scenario="team page (12 weeks)") if r.get("ok")
    ]
    if team_pages:
        slowest = max(team_pages, key=lambda r: r["extra"]["median_ms"])
        most = max(team_pages, key=lambda r: r["extra"]["queries"])
        shown = "; ".join(
            f"{r['extra']['backend']}: {r['extra']['median_ms']:.0f} ms, {r['extra']['queries']} queries"
            for r in team_pages
        )
        out.append(
            (
                f"dashboard team page, 20,000 PRs: < {MAX_DASHBOARD_MS} ms (worst backend)",
                shown,
                verdict(slowest["extra"]["median_ms"] < MAX_DASHBOARD_MS),
            )
        )
        out.append(
            (
                f"... and < {MAX_DASHBOARD_QUERIES} queries (worst backend)",
                f"{most['extra']['queries']} ({most['extra']['backend']})",
                verdict(most["extra"]["queries"] < MAX_DASHBOARD_QUERIES),
            )
        )
    else:
        out.append((f"dashboard team page < {MAX_DASHBOARD_MS} ms", "-", verdict(None)))
    return out


def untargeted(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(figure, measured) for what the issues ask to note without a target."""
    out: list[tuple[str, str]] = []
    for r in pick(rows, bench="sync-rounds"):
        if not r.get("ok") or "changed PRs" not in r["scenario"]:
            continue
        out.append(
            (
                f"sync: {r['scenario']} over {r['dataset']}",
                f"{r['requests']} requests ({r['not_modified']} free 304s),"
                f" {r['graphql_points']} GraphQL points, {r['prs']} PRs saved",
            )
        )
    for r in pick(rows, bench="sync-workers"):
        if r.get("ok"):
            out.append(
                (
                    f"sync: PRs per minute, {r['scenario']}, {r['dataset']}",
                    f"{r['extra']['prs_per_minute']:,.0f} ({r['prs']:,} PRs in {r['wall_seconds']:.1f} s,"
                    f" {r['requests']} requests = {r['extra']['latency_sum_seconds']:.1f} s of latency;"
                    f" max in flight {r['extra']['max_in_flight_per_token']})",
                )
            )
        else:
            out.append((f"sync: {r['scenario']}", "FAILED: " + (r.get("note") or "")))
    faulty = first(rows, bench="faults", scenario="full seed, mixed fault profile")
    clean = first(rows, bench="faults", scenario="full seed, no faults")
    if faulty and clean and faulty["extra"].get("ratio"):
        out.append(
            (
                f"seed wall time under `{faulty['extra'].get('profile')}` vs without faults"
                f" ({faulty['dataset']}, same run)",
                f"{faulty['extra']['ratio']:.2f}x ({faulty['wall_seconds']:.1f} s vs"
                f" {clean['wall_seconds']:.1f} s; {faulty['requests']} vs {clean['requests']} requests)",
            )
        )
    heavy = first(rows, bench="faults", scenario="full seed, heavy pages with 502/503/drops")
    beside = first(
        rows, bench="faults", scenario="full seed, no faults, beside heavy pages with 502/503/drops"
    )
    if heavy and beside and heavy["extra"].get("ratio"):
        out.append(
            (
                f"seed wall time under `{heavy['extra'].get('profile')}` (heavy pages among 502s,"
                f" 503s, drops) vs without faults ({heavy['dataset']}, same run)",
                f"{heavy['extra']['ratio']:.2f}x ({heavy['wall_seconds']:.1f} s vs"
                f" {beside['wall_seconds']:.1f} s; {heavy['requests']} vs {beside['requests']}"
                " requests)",
            )
        )
    return out


# --- rendering ------------------------------------------------------------------------------


def table(headers: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in body]
    return "\n".join(lines)


def run_table(rows: list[dict[str, Any]]) -> str:
    body = []
    for r in rows:
        body.append(
            [
                r["tool"],
                r["dataset"],
                r["scenario"],
                fmt(r.get("requests")),
                fmt(r.get("graphql_points")),
                fmt(r.get("rest_points")),
                fmt(r.get("wall_seconds")),
                fmt(r.get("peak_rss_mb"), 0),
                ("" if r.get("ok") else "FAILED: ") + (r.get("note") or ""),
            ]
        )
    return table(
        [
            "tool",
            "data",
            "scenario",
            "requests",
            "GraphQL pts",
            "REST pts",
            "wall s",
            "peak RSS MiB",
            "note",
        ],
        body,
    )


def ops(row: dict[str, Any] | None) -> str:
    """A row's requests by operation, e.g. "40 FetchPRsBulk (2 pt), 1 GET .../pulls -> 304"."""
    if not row:
        return "-"
    found = row.get("extra", {}).get("operations") or {}
    return ", ".join(f"{count} x {name}" for name, count in found.items()) or "-"


def _profile_value(fault: str, key: str) -> Any:
    """A value of bench/profiles/mixed.json's first rule of that fault ("?" when absent)."""
    profile = BENCH_DIR / "profiles" / "mixed.json"
    if profile.exists():
        for rule in json.loads(profile.read_text()).get("rules", []):
            if rule.get("fault") == fault and key in rule:
                return rule[key]
    return "?"


def findings(rows: list[dict[str, Any]]) -> list[str]:
    """What the figures say, including why a target is missed; each only when its data exists."""
    notes: list[str] = []
    seed = {
        r["dataset"]: r
        for r in pick(rows, bench="seed", scenario="full seed (cold)")
        if r.get("ok")
    }
    k20 = "synthetic 20,000 PRs"
    if "synthetic 1,000 PRs" in seed:
        one = seed["synthetic 1,000 PRs"]
        notes.append(
            f"**Where a full seed's requests go** (synthetic 1,000 PRs): {ops(one)}. Pages of 25"
            " full-detail PRs cost 2 points each; PRs whose reviews, commits, files or check runs overflow"
            " the nested first pages are completed by batched follow-up queries (FetchPRConnections); the"
            " REST `GET /pulls` is the change check, whose ETag makes the next unchanged run a free 304."
        )
    rated = {
        name: r for name, r in seed.items() if r["prs"] >= MIN_PRS_FOR_RATE and r.get("requests")
    }
    for name, r in rated.items():
        rate = r["requests"] * 1000 / r["prs"]
        if rate <= MAX_REQUESTS_PER_1000 or "pages_needed" not in r["extra"]:
            continue
        pages = r["extra"]["pages_needed"]
        floor = (pages + 1) * 1000 / r["prs"]
        heavy = r["extra"].get("overflow_prs") or []
        follow = r["extra"].get("operations", {})
        follow_ups = sum(v for k, v in follow.items() if k.startswith("FetchPRConnections"))
        shown = ", ".join(
            f"#{h['number']} (page {h['page']}: {h['files']} files, {h['commits']} commits)"
            for h in heavy
        )
        notes.append(
            f"**{name}: {rate:.1f} requests per 1,000 PRs, over the {MAX_REQUESTS_PER_1000} target.**"
            f" {r['prs']:,} PRs need {pages} pages of 25 plus the change-check probe at the very least:"
            f" {pages + 1} requests, already {floor:.1f} per 1,000 (a last page of"
            f" {r['prs'] - (pages - 1) * 25} PRs costs a whole request). On top of that,"
            f" {follow_ups} follow-up queries (FetchPRConnections): {len(heavy)} PRs overflow a nested"
            f" first page (100 files or commits, 50 reviews) on {r['extra'].get('overflow_pages')}"
            f" different pages ({shown}); each such page needs one follow-up round, and a PR with more"
            " than 200 files needs a second one. A follow-up is batched per page, not per PR, so the"
            " cost is bounded by the pages holding heavy PRs; the figure is the data's, and the target"
            " is missed on this history."
        )
    small = [r for name, r in seed.items() if r["prs"] < MIN_PRS_FOR_RATE]
    if small:
        shown = "; ".join(f"{r['dataset']}: {r['requests']} requests ({ops(r)})" for r in small)
        notes.append(
            f"**Small histories.** {shown}. A repository of less than a page is one page plus the"
            " change-check probe whatever the target, so its per-1,000 rate (200 for 10 PRs) says"
            f" nothing about the cost per PR: rate targets take the datasets of at least"
            f" {MIN_PRS_FOR_RATE} PRs. antiwork-gumroad (10 recorded PRs in ../shared/data) is in the"
            " dataset list all the same: it is a full seed of its own above, part of the"
            " `--project antiwork --max-prs 10` example, and loaded by bench_fakehub."
        )
    if k20 in seed and seed[k20]["peak_rss_mb"] > MAX_RSS_20K_MB:
        two = seed.get("synthetic 2,000 PRs")
        notes.append(
            f"**Memory (seed): missed.** A cold seed of 20,000 PRs peaks at"
            f" {fmt(seed[k20]['peak_rss_mb'], 0)} MiB"
            + (f" against {fmt(two['peak_rss_mb'], 0)} MiB at 2,000" if two else "")
            + f", over the {MAX_RSS_20K_MB} MB target by"
            f" {seed[k20]['peak_rss_mb'] - MAX_RSS_20K_MB:.0f} MiB."
        )
    latency = next(
        (r for r in pick(rows, bench="latency") if r.get("ok") and "overhead_pct" in r["extra"]),
        None,
    )
    if latency:
        local = first(rows, bench="seed", scenario="full seed (cold)", dataset=latency["dataset"])
        extra_s = latency["wall_seconds"] - latency["extra"]["latency_sum_seconds"]
        e = latency["extra"]
        text = (
            f"**Overhead over latency: {e['overhead_pct']:+.1f} %** ({extra_s:.1f} s over"
            f" {e['latency_sum_seconds']:.1f} s of emulated latency for {latency['requests']} requests)."
        )
        if "startup_seconds" in e:
            text += (
                f" Python and Django start-up alone (`seed_real_projects --list-projects`, measured in"
                f" the same run) take {e['startup_seconds']:.1f} s, {100 * e['startup_seconds'] / e['latency_sum_seconds']:.1f} %"
                f" of the latency sum; without it the overhead is {e['overhead_pct_after_startup']:+.1f} %."
            )
        if local:
            text += (
                f" The same seed without latency takes {local['wall_seconds']:.1f} s in all. The walk"
                " fetches page n+1 while page n is mapped and written (one request in flight, GitHub's"
                " rule), so what remains is the work no request can hide: start-up, the change-check"
                " probe before the first page, the first page's wait, and the follow-up queries and"
                " cache save after the last page."
            )
        if e["overhead_pct"] > MAX_OVERHEAD_PCT:
            text += f" The {MAX_OVERHEAD_PCT} % target is missed by {e['overhead_pct'] - MAX_OVERHEAD_PCT:.1f} points."
        notes.append(text)
    for peer in pick(rows, bench="peers", tool="Perceval"):
        ours = seed.get(peer["dataset"])
        if not (ours and peer.get("ok") and peer.get("requests")):
            continue
        ratio = peer["requests"] / ours["requests"]
        if ratio < MIN_FEWER_THAN_PERCEVAL:
            per_pr = peer["requests"] / peer["prs"]
            notes.append(
                f"**Perceval on {peer['dataset']}: {ratio:.0f}x, under the {MIN_FEWER_THAN_PERCEVAL}x target.**"
                f" This history is reconstructed from git: no reviews, review requests or review comments,"
                f" so Perceval needs only {per_pr:.1f} requests per PR there"
                f" ({', '.join(f'{v:,} {k}' for k, v in list(peer['extra'].get('endpoints', {}).items())[:4])}),"
                f" while we spend {ours['requests']} requests ({ops(ours)}) on {ours['prs']} PRs. On data with"
                " reviews the ratio is higher (see the table)."
            )
    perceval = [r for r in pick(rows, bench="peers", tool="Perceval") if r.get("ok")]
    if perceval and not any(
        k.endswith("/pulls/{n}/comments") for r in perceval for k in r["extra"].get("endpoints", {})
    ):
        notes.append(
            "**The peers' counts are a floor.** fakehub's data carries no review comments (git"
            " histories have none; the synthetic generator makes none), so Perceval never calls"
            " `GET /pulls/{n}/comments` (nor their reactions and authors) here; on GitHub it does for"
            " every PR that has review comments."
        )
    sync_unchanged = [
        r for r in pick(rows, bench="sync", scenario="sync: unchanged round") if r.get("ok")
    ]
    if sync_unchanged and any((r.get("graphql_points") or 0) > 0 for r in sync_unchanged):
        shown = "; ".join(f"{r['dataset']}: {ops(r)}" for r in sync_unchanged)
        notes.append(
            "**Unchanged sync round: not 0 points.** The change check itself is a free 304; the points"
            " are the CI re-poll of PRs whose check runs had not all completed (a check run finishing"
            f" does not change a PR's `updatedAt`): {shown}."
        )
    sync_k = [
        r for r in pick(rows, bench="sync") if r.get("ok") and r["scenario"].startswith("sync: k=")
    ]
    by_size: dict[str, set[int]] = {}
    for r in sync_k:
        by_size.setdefault(r["scenario"], set()).add(r.get("requests") or 0)
    if sync_k and any(len(v) > 1 for v in by_size.values()):
        shown = "; ".join(
            f"{r['scenario']} at {r['extra'].get('repo_size', 0):,} PRs: {ops(r)}"
            for r in sync_k[:1] + sync_k[-1:]
        )
        notes.append(
            "**Incremental sync rounds depend on the repository's size here:**"
            f" {shown}. The walk by `updatedAt` does not; the difference is in the operations above."
        )
    kill = next((r for r in pick(rows, bench="faults") if "SIGKILL" in r["scenario"]), None)
    if kill and kill["extra"].get("kills"):
        e = kill["extra"]
        notes.append(
            f"**Kills.** {e['kills']} SIGKILLs at seeded random points of a seed of"
            f" {kill['dataset']} ({e['latency_ms']} ms latency), then a re-run to the end:"
            f" {e['page_requests']} page requests for {e['distinct_pages']} distinct pages, so"
            f" {e['pages_refetched']} page(s) fetched twice ({e['refetched_per_kill']:g} per kill)."
            f" In all {e['extra_graphql_requests']} GraphQL requests more than the undisturbed seed's"
            f" {e['undisturbed_graphql_requests']}, of which {e.get('page_requests_abandoned', '-')}"
            " page requests were in flight when their process was killed (fakehub logs them 499:"
            " never answered, so no page was fetched twice for them); the database ended equal to the undisturbed"
            f" seed's: {fmt(e.get('same_rows_as_clean'))}."
        )
    faulty = first(rows, bench="faults", scenario="full seed, mixed fault profile")
    clean = first(rows, bench="faults", scenario="full seed, no faults")
    if faulty and clean and faulty["extra"].get("ratio"):
        text = (
            f"**Under faults** ({faulty['dataset']}, `{faulty['extra'].get('profile')}`): the seed"
            f" takes {faulty['extra']['ratio']:.1f}x the clean seed's wall time"
            f" ({faulty['wall_seconds']:.1f} s vs {clean['wall_seconds']:.1f} s) and"
            f" {faulty['requests']} requests instead of {clean['requests']}"
            f" ({faulty['extra'].get('faults_injected')} faults injected); same rows as the clean"
            f" seed: {fmt(faulty['extra'].get('same_rows_as_clean'))}."
        )
        spent = faulty["extra"].get("seconds_after_answer") or {}
        if spent:
            text += (
                " Where the time went, measured at fakehub (seconds from a request's arrival to the next"
                " one's, summed by the first one's answer): "
                + ", ".join(f"{key} {value:.1f} s" for key, value in spent.items())
                + ". The profile's primary exhaustion (after"
                f" {_profile_value('primary_exhaustion', 'after_points')} points in fakehub's"
                f" {faulty['extra'].get('reset_seconds')} s window) makes the client wait for each"
                " reset, an answer slower than the"
                f" {faulty['extra'].get('timeout_seconds')} s timeout costs the timeout, secondary"
                " limits their `retry-after` (growing on repeated hits), 5xx and dropped connections a"
                " jittered backoff; that is waiting GitHub asks for, not local work. A heavy page"
                " answered 502 halves the page size, hence more, smaller pages:"
                f" {ops(faulty)}."
            )
        notes.append(text)
    first_inc = first(
        rows, bench="seed", scenario="first incremental after the seed (k=1)", dataset=k20
    )
    if first_inc:
        notes.append(
            "**The first incremental run after a seed** re-reads the PRs updated within the fetcher's 60 s"
            " overlap of the newest one (the overlap guards against clock skew between GitHub's"
            " servers). fakehub's synthetic updates are spread out, as real histories are, so at"
            f" 20,000 PRs that first run costs {first_inc['requests']} requests"
            f" ({ops(first_inc)}), like the k-rounds after it."
        )
    writes = [r for r in pick(rows, bench="write", tool="prharvest writer") if r.get("ok")]
    pg = next(
        (r for r in writes if r["scenario"] == "postgresql" and r["extra"].get("bytes_per_pr")),
        None,
    )
    if pg:
        notes.append(
            f"**Storage:** {pg['extra']['bytes_per_pr']:,} bytes per PR on PostgreSQL (tables, indexes and"
            f" TOAST, with the bench's {pg['extra']['rows'] // max(pg['prs'], 1)} rows per PR), used in"
            " docs/scaling.md."
        )
    return notes


def sections(rows: list[dict[str, Any]]) -> list[str]:
    """The sections of bench_sync, bench_faults, bench_dashboard and bench_fakehub."""
    parts: list[str] = []
    rounds = pick(rows, bench="sync-rounds")
    workers = pick(rows, bench="sync-workers")
    if rounds or workers:
        parts += [
            "## Sync at scale (`bench/bench_sync.py`)",
            "",
            "Incremental rounds: 20 tracked repositories, `sync_repository` in one process (SQLite),"
            " after a cold round; before each round k PRs are edited through fakehub's control API"
            " (spread over the repositories, no push: sync is incremental by `updatedAt`). Workers: a"
            " real Celery worker (prefork, 1 then 4 processes) on Redis and PostgreSQL, one token,"
            " fakehub answering every request after 500 ms; the clock runs from the enqueued"
            " `sync_all_repositories_task` until every repository's status is final.",
            "",
        ]
        if rounds:
            parts += [run_table(rounds), ""]
        if workers:
            parts += [
                table(
                    ["workers", "data", "PRs", "seconds", "PRs / min", "requests", "latency sum s",
                     "max in flight / token", "requests while limited", "note"],
                    [
                        [
                            r["scenario"],
                            r["dataset"],
                            fmt(r.get("prs")),
                            fmt(r.get("wall_seconds")),
                            fmt(r["extra"].get("prs_per_minute"), 0),
                            fmt(r.get("requests")),
                            fmt(r["extra"].get("latency_sum_seconds")),
                            fmt(r["extra"].get("max_in_flight_per_token")),
                            fmt(r["extra"].get("requests_while_limited")),
                            ("" if r.get("ok") else "FAILED: ") + (r.get("note") or ""),
                        ]
                        for r in workers
                    ],
                ),
                "",
            ]  # fmt: skip
    org = pick(rows, bench="org")
    if org:
        parts += [
            "## An organisation of many repositories (`bench/bench_org.py`)",
            "",
            "fakehub serves synthetic repositories (most of 5-50 PRs, two of 1,000 and 2,000),"
            " tracked in one team and synced by a Celery worker (prefork, 2 processes) on Redis and"
            " PostgreSQL with one GitHub App installation, fakehub answering after 50 ms. Each round"
            " starts with `sync_all_repositories_task` and ends when every repository's status is"
            " final. `batched`: several repositories to a GraphQL query (SYNC_BATCH, the default);"
            " `per-repo`: each repository alone (a REST probe, then its own pages). Rows are the"
            " rows added (PRs and their children); peak RSS is each worker process's VmHWM.",
            "",
            table(
                ["data", "round", "requests", "GraphQL pts", "wall s", "rows added", "rows / s",
                 "peak RSS MiB per process", "fakehub load s", "note"],
                [
                    [
                        r["dataset"],
                        r["scenario"],
                        fmt(r.get("requests")),
                        fmt(r.get("graphql_points")),
                        fmt(r.get("wall_seconds")),
                        fmt(r["extra"].get("rows_written")),
                        fmt(r["extra"].get("rows_per_second"), 0),
                        ", ".join(str(p) for p in r["extra"].get("peak_rss_mb_per_process") or []),
                        fmt(r["extra"].get("fakehub_load_seconds")),
                        ("" if r.get("ok") else "FAILED: ") + (r.get("note") or ""),
                    ]
                    for r in org
                ],
            ),
            "",
        ]  # fmt: skip
    faults = pick(rows, bench="faults")
    if faults:
        profile = BENCH_DIR / "profiles" / "mixed.json"
        parts += [
            "## Faults and kills (`bench/bench_faults.py`)",
            "",
            "The same cold seed twice against one fakehub: without faults, then with the profile"
            " `bench/profiles/mixed.json` loaded (a token of its own; both runs with"
            " `GITHUB_TIMEOUT_SECONDS=5` and fakehub's `--reset-seconds 20`); the databases are"
            " compared row by row. Then a seed against fakehub with 100 ms latency is killed with"
            " SIGKILL at seeded random points (after 1-4 further GraphQL requests plus 0-250 ms) and"
            " re-run to the end; a re-fetched page is a `FetchPRsBulk` asking for a cursor already"
            " asked for (fakehub's request log), and the database is compared with an undisturbed"
            " seed's.",
            "",
            run_table(faults),
            "",
        ]
        if profile.exists():
            rules = json.loads(profile.read_text())["rules"]
            parts += [
                "The profile: "
                + "; ".join("`" + json.dumps(rule, separators=(", ", ": ")) + "`" for rule in rules)
                + ".",
                "",
            ]
        for r in faults:
            if r["extra"].get("operations"):
                parts.append(f"- {r['scenario']}: {ops(r)}")
            if r["extra"].get("kill_points"):
                parts.append(
                    f"- kill points (seed {r['extra'].get('kill_seed')}): "
                    + "; ".join(r["extra"]["kill_points"])
                    + f"; {r['extra']['page_requests']} page requests for"
                    f" {r['extra']['distinct_pages']} distinct pages"
                )
        parts.append("")
    dashboard = pick(rows, bench="dashboard")
    if dashboard:
        parts += [
            "## Dashboard (`bench/bench_dashboard.py`)",
            "",
            "A team of 20,000 PRs bulk-inserted into SQLite and into a PostgreSQL database of its"
            " own; each page is requested through Django's full stack in-process (middleware,"
            " session, login, templates), after one warm-up request; median of the timed runs.",
            "",
            table(
                ["page", "data", "median ms", "min ms", "max ms", "queries", "note"],
                [
                    [
                        r["scenario"],
                        r["dataset"],
                        fmt(r["extra"].get("median_ms")),
                        fmt(r["extra"].get("min_ms")),
                        fmt(r["extra"].get("max_ms")),
                        fmt(r["extra"].get("queries")),
                        ("" if r.get("ok") else "FAILED: ") + (r.get("note") or ""),
                    ]
                    for r in dashboard
                ],
            ),
            "",
        ]
    hub = pick(rows, bench="fakehub")
    if hub:
        body = []
        for r in hub:
            if r["scenario"] == "25-PR full-detail page":
                e = r["extra"]
                shown = (
                    f"median {e['median_ms']:.1f} ms, p95 {e['p95_ms']:.1f} ms, max {e['max_ms']:.1f} ms"
                    f" over {r['requests']} pages, {e['cost_points']} point(s) each"
                )
            else:
                shown = f"{r['wall_seconds']:.2f} s ({fmt(r['extra'].get('prs_jsonl_mb'))} MB prs.jsonl)"
            body.append([r["scenario"], r["dataset"], shown])
        parts += [
            "## fakehub itself (`bench/bench_fakehub.py`)",
            "",
            "A `python -m fakehub serve` subprocess with 10,000 synthetic PRs, walked 25 full-detail"
            " PRs at a time over one keep-alive connection (5 warm-up pages not counted), timed from"
            " send to parsed body; loads time `FakeHub.load_data` on a generated 5,000-PR folder and"
            " on each recorded history.",
            "",
            table(["what", "data", "measured"], body),
            "",
        ]
    return parts


def render(rows: list[dict[str, Any]], meta: dict[str, Any], charts: list[str]) -> str:
    from bench.bench_peers import COVERAGE

    machine = meta["machine"]
    parts = [
        "# Benchmarks",
        "",
        "Generated by `make bench`; every figure below is a measurement of that run, none is estimated.",
        "",
        f"- **Date:** {meta['date']}",
        f"- **Machine:** {machine['nproc']} CPUs ({machine['affinity']} usable), {machine['memory']} memory, "
        f"{machine['cpu_model']}, Python {machine['python']}, {machine['os']}",
        f"- **Command:** `{meta['command']}`{' (quick mode: smaller repositories, fewer rounds)' if meta['quick'] else ''}",
        f"- **Commit:** {machine['commit']}; benches took {', '.join(f'{k} {v:.0f} s' for k, v in meta['durations'].items()) or '-'}",
        "- **How:** every tool is run as its own process against fakehub (`python -m fakehub serve`) "
        "serving the same repositories; requests and points are fakehub's own accounting "
        "(`/_fakehub/stats`), wall time is the child's, peak RSS is the kernel's `ru_maxrss` for that child.",
        "",
        "## Targets",
        "",
        table(["target", "measured", "verdict"], [list(t) for t in targets(rows)]),
        "",
    ]
    figures = untargeted(rows)
    if figures:
        parts += [
            "## Figures the issues ask for, without a target",
            "",
            table(["figure", "measured"], [list(f) for f in figures]),
            "",
        ]
    notes = findings(rows)
    if notes:
        parts += ["## What the figures say", ""]
        parts += [f"- {note}" for note in notes]
        parts.append("")
    seed_rows = pick(rows, bench="seed")
    if seed_rows:
        parts += [
            "## Our seed (`manage.py seed_real_projects --repo ... --max-prs 0 --days-back 0`)",
            "",
            "Full seeds start from an empty SQLite database and no cache. Re-runs reuse both; the"
            " incremental rounds first edit k PRs through fakehub's control API and push.",
            "",
            run_table(seed_rows),
            "",
        ]
        per_1000 = [
            r
            for r in seed_rows
            if r.get("ok")
            and r["scenario"] == "full seed (cold)"
            and r["extra"].get("requests_per_1000_prs")
        ]
        if per_1000:
            parts += [
                table(
                    ["data", "requests / 1,000 PRs", "GraphQL points / 1,000 PRs", "PRs stored"],
                    [
                        [
                            r["dataset"],
                            fmt(r["extra"]["requests_per_1000_prs"]),
                            fmt(r["extra"]["graphql_points_per_1000_prs"]),
                            fmt(r["extra"].get("stored_prs")),
                        ]
                        for r in per_1000
                    ],
                ),
                "",
            ]
    for bench, title in (
        ("sync", "Production sync (`track_repository` + `sync_repositories`)"),
        ("latency", "Overhead over network latency"),
    ):
        chosen = pick(rows, bench=bench)
        if chosen:
            parts += [f"## {title}", "", run_table(chosen), ""]
    parts += sections(rows)
    writes = pick(rows, bench="write")
    if writes:
        parts += [
            "## Write throughput (`apps/metrics/pipeline/writer.py` against a per-row ORM save, same run)",
            "",
            "Same in-memory PRs (each with 3 reviews, 5 commits, 12 files, 4 check runs), written by both"
            " sides into the same empty database for two teams; the writer is called a page (25 PRs) at a"
            " time as seeding does; the per-row side does one `get_or_create`/`update_or_create` per row and"
            " computes the same per-PR metrics.",
            "",
            table(
                ["database", "side", "PRs", "seconds", "PRs / s", "vs per-row", "re-write s"],
                [
                    [
                        r["scenario"],
                        r["tool"],
                        fmt(r.get("prs")),
                        fmt(r.get("wall_seconds"), 2),
                        fmt(r["extra"].get("prs_per_second")),
                        f"{r['extra']['ratio']:.1f}x" if "ratio" in r["extra"] else "",
                        fmt(r["extra"].get("rewrite_seconds"), 2),
                    ]
                    for r in writes
                    if r.get("ok")
                ]
                + [
                    [r["scenario"], r["tool"], "-", "-", "-", "FAILED: " + r.get("note", ""), "-"]
                    for r in writes
                    if not r.get("ok")
                ],
            ),
            "",
        ]
    peers = pick(rows, bench="peers")
    if peers:
        body = []
        for dataset in dict.fromkeys(r["dataset"] for r in peers):
            ours = first(rows, bench="seed", scenario="full seed (cold)", dataset=dataset)
            line = [r for r in peers if r["dataset"] == dataset]
            for r in ([ours] if ours else []) + line:
                ratio = ""
                if ours and ours.get("requests") and r is not ours and r.get("requests"):
                    ratio = f"{r['requests'] / ours['requests']:,.0f}x ours"
                body.append(
                    [
                        r["tool"],
                        dataset,
                        fmt(r.get("requests")),
                        ratio,
                        fmt(r.get("wall_seconds")),
                        fmt(r.get("peak_rss_mb"), 0),
                        fmt(r["extra"].get("hours_of_one_token"), 2)
                        if r is not ours
                        else fmt(((r.get("graphql_points") or 0) / 5000), 3),
                        ("" if r.get("ok") else "FAILED: ") + (r.get("note") or ""),
                    ]
                )
        parts += [
            "## Side by side: Perceval and tap-github on the same fakehub data",
            "",
            "Perceval 1.6.1 (`perceval github OWNER REPO --category pull_request --enterprise-url URL -t"
            " TOKEN --no-archive --json-line`; it adds `/api/v3`) and MeltanoLabs tap-github 1.30.1"
            " (`api_url_base` = fakehub, `auth_token`, only its PR streams selected: `pull_requests`,"
            " `pull_request_commits`, `reviews`, `review_comments`), each from its own venv under"
            " `bench/peers/`. tap-github validates a token with a hard-coded"
            " `GET https://api.github.com/rate_limit`; the bench starts it through a launcher that sends"
            " that one URL to fakehub instead (the `GET /rate_limit` lines below), nothing else is"
            " changed. fakehub's REST budget is raised for these runs (Perceval stops at 10 remaining"
            " instead of waiting). Our row is the cold full seed above (it also writes the database; the"
            ' peers only print JSON). "Hours of one token" is the budget a real 5,000/h token would need'
            " (REST requests / 5,000; for us GraphQL points / 5,000).",
            "",
            table(
                [
                    "tool",
                    "data",
                    "requests",
                    "vs ours",
                    "wall s",
                    "peak RSS MiB",
                    "hours of one token",
                    "note",
                ],
                body,
            ),
            "",
            "Requests by endpoint, as fakehub's request log recorded them:",
            "",
        ]
        for r in peers:
            endpoints = r["extra"].get("endpoints") or {}
            if endpoints:
                shown = ", ".join(f"`{k}` {v:,}" for k, v in list(endpoints.items())[:12])
                got = ""
                if r["extra"].get("records"):
                    got = "; emitted " + ", ".join(
                        f"{v:,} {k}" for k, v in r["extra"]["records"].items()
                    )
                elif r["extra"].get("items") is not None:
                    got = (
                        f"; emitted {r['extra']['items']:,} PR items,"
                        f" {r['extra'].get('items_with_reviews', 0):,} with reviews"
                    )
                parts.append(f"- {r['tool']}, {r['dataset']}: {shown}{got}")
        parts += ["", "### What each one collects per PR", ""]
        aspects = list(next(iter(COVERAGE.values())).keys())
        parts += [
            table(
                ["", *COVERAGE.keys()], [[a, *(COVERAGE[t][a] for t in COVERAGE)] for a in aspects]
            ),
            "",
        ]
    if charts:
        parts += ["## Charts", ""]
        parts += [f"![{Path(c).stem}](bench/{Path(c).name})" for c in charts]
        parts.append("")
    took = sum(meta.get("durations", {}).values())
    total_minutes = f"this run: {took / 60:.0f} min" if took else "a few minutes"
    parts += [
        "## Reproduce",
        "",
        "```",
        f"make bench                                  # everything ({total_minutes})",
        ".venv/bin/python bench/run_all.py --quick   # a few minutes",
        ".venv/bin/python bench/run_all.py --only write   # one bench, re-rendered with the others' last results",
        "```",
        "",
        "Raw rows: `bench/out/*.json` (gitignored). See docs/scaling.md for what these figures mean at scale.",
        "",
    ]
    return "\n".join(parts)


def print_table(rows: list[dict[str, Any]]) -> None:
    print(
        f"{'bench':8} {'tool':22} {'data':34} {'scenario':36} {'req':>7} {'gql':>6} {'rest':>7} {'wall s':>8} {'MiB':>6}"
    )
    for r in rows:
        print(
            f"{r['bench']:8} {r['tool'][:22]:22} {r['dataset'][:34]:34} {r['scenario'][:36]:36} "
            f"{fmt(r.get('requests')):>7} {fmt(r.get('graphql_points')):>6} {fmt(r.get('rest_points')):>7} "
            f"{fmt(r.get('wall_seconds')):>8} {fmt(r.get('peak_rss_mb'), 0):>6} {'' if r.get('ok') else 'FAILED'}"
        )
    print()
    for target, measured, result in targets(rows):
        print(f"{result.replace('**', ''):14} {target}: {measured}")
    for figure, measured in untargeted(rows):
        print(f"{'figure':14} {figure}: {measured}")


# --- charts (run inside the charts venv: json + matplotlib only) ----------------------------


def draw_charts(rows: list[dict[str, Any]], out_dir: Path) -> list[str]:
    """PNG charts from the rows; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    peers = [r for r in rows if r["bench"] == "peers" and r.get("ok")]
    datasets = list(dict.fromkeys(r["dataset"] for r in peers))
    ours = {
        r["dataset"]: r
        for r in rows
        if r["bench"] == "seed"
        and r["scenario"] == "full seed (cold)"
        and r.get("ok")
        and r["dataset"] in datasets
    }
    tools = ["prharvest", "Perceval", "tap-github"]
    colours = {"prharvest": "#2b7bb9", "Perceval": "#d95f02", "tap-github": "#7570b3"}

    def grouped(metric: str, ylabel: str, name: str, log: bool) -> None:
        if not datasets:
            return
        fig, ax = plt.subplots(figsize=(9, 4.5))
        width = 0.8 / len(tools)
        for i, tool in enumerate(tools):
            values = []
            for d in datasets:
                r = (
                    ours.get(d)
                    if tool == "prharvest"
                    else next((p for p in peers if p["tool"] == tool and p["dataset"] == d), None)
                )
                values.append((r or {}).get(metric) or 0)
            xs = [j + i * width for j in range(len(datasets))]
            bars = ax.bar(xs, values, width, label=tool, color=colours[tool])
            for bar, value in zip(bars, values, strict=True):
                if value:
                    label = f"{value:,.0f}" if value >= 10 else f"{value:.1f}"
                    ax.annotate(
                        label,
                        (bar.get_x() + bar.get_width() / 2, value),
                        ha="center",
                        va="bottom",
                        fontsize=8,
                    )
        ax.set_xticks([j + width for j in range(len(datasets))], datasets, fontsize=8)
        if log:
            ax.set_yscale("log")
        ax.set_ylabel(ylabel)
        ax.legend()
        ax.set_title(f"{ylabel}: full fetch of every PR, same fakehub data")
        fig.tight_layout()
        path = out_dir / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(str(path))

    grouped("requests", "requests (log scale)", "requests-per-tool.png", True)
    grouped("wall_seconds", "wall time (s)", "wall-time-per-tool.png", False)
    grouped("peak_rss_mb", "peak RSS (MiB)", "peak-rss-per-tool.png", False)

    seeds = sorted(
        (
            r
            for r in rows
            if r["bench"] == "seed"
            and r["scenario"] == "full seed (cold)"
            and r.get("ok")
            and r["dataset"].startswith("synthetic")
        ),
        key=lambda r: r["prs"],
    )
    if seeds:
        fig, ax1 = plt.subplots(figsize=(8, 4.5))
        sizes = [r["prs"] for r in seeds]
        ax1.plot(
            sizes,
            [r["peak_rss_mb"] for r in seeds],
            "o-",
            color="#2b7bb9",
            label="seed: peak RSS (MiB)",
        )
        syncs = sorted(
            (
                r
                for r in rows
                if r["bench"] == "sync"
                and r["scenario"] == "sync: cold round"
                and r.get("ok")
                and r["dataset"].startswith("synthetic")
            ),
            key=lambda r: r["prs"],
        )
        if syncs:
            ax1.plot(
                [r["prs"] for r in syncs],
                [r["peak_rss_mb"] for r in syncs],
                "^-",
                color="#1b9e77",
                label="sync, cold round: peak RSS (MiB)",
            )
        ax1.set_xscale("log")
        ax1.set_xlabel("PRs in the repository (synthetic, full detail)")
        ax1.set_ylabel("peak RSS (MiB)")
        ax1.axhline(
            MAX_RSS_20K_MB,
            color="#999",
            linestyle="--",
            linewidth=1,
            label=f"target {MAX_RSS_20K_MB} MB",
        )
        ax1.set_ylim(bottom=0)
        ax2 = ax1.twinx()
        ax2.plot(
            sizes,
            [r["wall_seconds"] for r in seeds],
            "s--",
            color="#d95f02",
            label="seed: wall time (s)",
        )
        ax2.set_ylabel("wall time (s)")
        ax2.set_ylim(bottom=0)
        lines = ax1.get_legend_handles_labels()
        more = ax2.get_legend_handles_labels()
        ax1.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left")
        ax1.set_title("Memory and time against repository size (full detail, cold)")
        fig.tight_layout()
        path = out_dir / "seed-memory-vs-size.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(str(path))

    writes = [r for r in rows if r["bench"] == "write" and r.get("ok")]
    if writes:
        fig, ax = plt.subplots(figsize=(7, 4))
        labels = [f"{r['scenario']}\n{r['tool'].replace(' (baseline)', '')}" for r in writes]
        values = [r["extra"]["prs_per_second"] for r in writes]
        colour = ["#2b7bb9" if "writer" in r["tool"] else "#bbbbbb" for r in writes]
        bars = ax.bar(range(len(writes)), values, color=colour)
        for bar, value in zip(bars, values, strict=True):
            ax.annotate(
                f"{value:,.0f}",
                (bar.get_x() + bar.get_width() / 2, value),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        ax.set_xticks(range(len(writes)), labels, fontsize=8)
        ax.set_ylabel("full PRs written per second")
        ax.set_title("Write throughput: our writer against per-row ORM saves")
        fig.tight_layout()
        path = out_dir / "write-throughput.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(str(path))
    return written


def charts(rows: list[dict[str, Any]], chart_dir: Path = CHART_DIR) -> list[str]:
    """Draw the charts from the charts venv (created on first use); [] if that is impossible."""
    sys.path.insert(0, str(REPO_ROOT))
    from bench.common import PEERS_DIR, BenchError, ensure_venv, write_json

    try:
        python = ensure_venv(PEERS_DIR / ".venv-charts", [MATPLOTLIB])
    except BenchError as exc:
        print(f"charts skipped: {exc}", file=sys.stderr)
        return []
    rows_file = OUT / "all-rows.json"
    write_json(rows_file, rows)
    listing = OUT / "charts.json"
    listing.unlink(missing_ok=True)
    chart_dir.mkdir(parents=True, exist_ok=True)
    for old in chart_dir.glob("*.png"):
        old.unlink()
    done = subprocess.run(
        [
            str(python),
            str(Path(__file__).resolve()),
            "--draw-charts",
            str(rows_file),
            str(chart_dir),
            str(listing),
        ],
        cwd=REPO_ROOT,
        check=False,
    )
    if done.returncode != 0 or not listing.exists():
        print("charts failed; the page is written without them", file=sys.stderr)
        return []
    return json.loads(listing.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smaller data, fewer rounds: a few minutes"
    )
    parser.add_argument(
        "--only", action="append", choices=BENCHES, help="run only this bench (repeatable)"
    )
    parser.add_argument(
        "--render-only", action="store_true", help="run nothing; render the last results"
    )
    parser.add_argument("--doc", type=Path, default=DOC, help="the page to write")
    parser.add_argument("--charts-dir", type=Path, default=CHART_DIR, help="where its PNGs go")
    parser.add_argument(
        "--draw-charts", nargs=3, metavar=("ROWS", "DIR", "LISTING"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.draw_charts:
        rows_file, out_dir, listing = (Path(p) for p in args.draw_charts)
        written = draw_charts(json.loads(rows_file.read_text()), out_dir)
        listing.write_text(json.dumps(written))
        return 0
    sys.path.insert(0, str(REPO_ROOT))
    from bench.common import machine, write_json

    OUT.mkdir(parents=True, exist_ok=True)
    meta_file = OUT / "meta.json"
    previous = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    names = [] if args.render_only else (args.only or list(BENCHES))
    durations = run_benches(names, args.quick)
    command = (
        "make bench"
        if not argv and not sys.argv[1:]
        else "python bench/run_all.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    )
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        if names
        else previous.get("date", "-"),
        "machine": machine(),
        "command": command if names else previous.get("command", command),
        "quick": args.quick if names else previous.get("quick", False),
        "durations": {**previous.get("durations", {}), **durations},
    }
    write_json(meta_file, meta)
    rows = load_rows()
    if not rows:
        print("run_all: no results to render (run without --render-only first)", file=sys.stderr)
        return 1
    print_table(rows)
    drawn = charts(rows, args.charts_dir.resolve())
    doc = args.doc.resolve()
    doc.parent.mkdir(parents=True, exist_ok=True)
    text = render(rows, meta, drawn)
    # The page links its charts relative to itself.
    chart_dir = args.charts_dir.resolve()
    if chart_dir != CHART_DIR:
        text = text.replace("](bench/", f"]({os.path.relpath(chart_dir, doc.parent)}/")
    doc.write_text(text, encoding="utf-8")
    print(f"\nwrote {doc} and {len(drawn)} chart(s) in {chart_dir}/")
    return 0 if all(r.get("ok") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
