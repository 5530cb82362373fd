"""Run every bench, print its rows and goals, and write docs/benchmarks.md's tables (`make bench`).

    .venv/bin/python bench/run_all.py [--quick] [--only seed|write|peers|fakehub|sync|org|page_size|dashboard|faults ...]
        [--render-only]

Each bench runs as its own child (bench/bench_<name>.py) and leaves its rows in
bench/out/<name>.json; this script then renders them (bench/render.py) into the page's
generated section, between its markers, leaving the hand-written reading around it as it is.
`--only` re-runs some benches and renders with the others' last results; `--render-only` runs
nothing. Charts are PNGs drawn by bench/charts.py with matplotlib from a separate venv
(bench/peers/.venv-charts, created on first use), so the project itself never depends on
matplotlib. Nothing here runs under `make test`.
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
sys.path.insert(0, str(REPO_ROOT))

from bench.common import PEERS_DIR, BenchError, ensure_venv, machine, write_json  # noqa: E402
from bench.goals import fmt, targets, untargeted  # noqa: E402
from bench.render import section, splice  # noqa: E402

OUT = BENCH_DIR / "out"
DOC = REPO_ROOT / "docs" / "benchmarks.md"
CHART_DIR = REPO_ROOT / "docs" / "bench"
BENCHES = ("seed", "write", "peers", "fakehub", "sync", "org", "page_size", "dashboard", "faults")
MATPLOTLIB = "matplotlib==3.11.2"


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
    """Every bench's last rows; a row that does not name its bench is given the file's name."""
    rows: list[dict[str, Any]] = []
    for name in BENCHES:
        path = OUT / f"{name}.json"
        if path.exists():
            rows += [{"bench": name, **row} for row in json.loads(path.read_text())]
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    """Every row and goal on stdout, one line each, for the terminal that ran `make bench`."""
    print(
        f"{'bench':8} {'tool':22} {'data':34} {'scenario':36} {'req':>7} {'gql':>6} {'rest':>7} {'wall s':>8} {'MiB':>6}"
    )
    for r in rows:
        if "tool" not in r:  # page-size rows have their own table
            continue
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


def charts(rows: list[dict[str, Any]], chart_dir: Path = CHART_DIR) -> list[str]:
    """Draw the charts from the charts venv (created on first use); [] if that is impossible."""
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
        [str(python), str(BENCH_DIR / "charts.py"), str(rows_file), str(chart_dir), str(listing)],
        cwd=REPO_ROOT,
        check=False,
    )
    if done.returncode != 0 or not listing.exists():
        print("charts failed; the page is written without them", file=sys.stderr)
        return []
    return json.loads(listing.read_text())


def write_page(doc: Path, generated: str, chart_dir: Path) -> None:
    """Put the generated section in the page, keeping the hand-written reading around it."""
    # The page links its charts relative to itself.
    if chart_dir != CHART_DIR:
        generated = generated.replace("](bench/", f"]({os.path.relpath(chart_dir, doc.parent)}/")
    doc.parent.mkdir(parents=True, exist_ok=True)
    page = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    doc.write_text(splice(page, generated), encoding="utf-8")


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
    args = parser.parse_args(argv)
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
        # Rendering alone keeps the machine (and commit) the rows were measured on.
        "machine": machine() if names else previous.get("machine") or machine(),
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
    chart_dir = args.charts_dir.resolve()
    drawn = charts(rows, chart_dir)
    doc = args.doc.resolve()
    write_page(doc, section(rows, meta, drawn), chart_dir)
    print(f"\nwrote the generated section of {doc} and {len(drawn)} chart(s) in {chart_dir}/")
    return 0 if all(r.get("ok", True) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
