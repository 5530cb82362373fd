"""The PNG charts of docs/benchmarks.md, drawn with matplotlib from the rows of a run.

    <charts venv>/bin/python bench/charts.py ROWS.json OUT_DIR LISTING.json

Runs inside bench/peers/.venv-charts (run_all.py creates it on first use), so the project never
depends on matplotlib; imports nothing of the project but bench.goals (standard library only).
Writes the list of PNGs it drew to LISTING.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.goals import MAX_RSS_20K_MB  # noqa: E402


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


def main(argv: list[str]) -> int:
    rows_file, out_dir, listing = (Path(p) for p in argv)
    written = draw_charts(json.loads(rows_file.read_text()), out_dir)
    listing.write_text(json.dumps(written))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
