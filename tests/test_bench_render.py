"""`make bench` rewrites only the tables between its markers; the hand-written reading stays."""

from __future__ import annotations

from bench.render import BEGIN, END, section, splice

META = {
    "date": "2026-01-01 00:00 UTC",
    "command": "make bench",
    "quick": False,
    "durations": {"seed": 60.0},
    "machine": {
        "nproc": "2",
        "affinity": "2",
        "memory": "1 GiB",
        "cpu_model": "test",
        "python": "3.11",
        "os": "Linux",
        "commit": "abc1234",
    },
}
SEED = {
    "bench": "seed",
    "tool": "prharvest",
    "dataset": "synthetic 1,000 PRs",
    "scenario": "full seed (cold)",
    "prs": 1000,
    "requests": 34,
    "graphql_points": 97,
    "rest_points": 1,
    "wall_seconds": 3.0,
    "peak_rss_mb": 85.0,
    "ok": True,
    "note": "",
    "extra": {"operations": {"FetchPRsBulk (3 pt)": 33, "GET /repos/b/s/pulls -> 200": 1}},
}


def test_it_replaces_only_the_generated_section() -> None:
    page = f"# Benchmarks\n\nThe reading.\n\n{BEGIN}\nold tables\n{END}\n\n## Reproduce\n"
    written = splice(page, section([SEED], META, []))
    assert written.startswith("# Benchmarks\n\nThe reading.\n\n" + BEGIN)
    assert written.endswith(END + "\n\n## Reproduce\n")
    assert "old tables" not in written
    assert splice(written, section([SEED], META, [])) == written


def test_a_page_without_markers_gets_the_section_at_its_end() -> None:
    written = splice("# Benchmarks\n\nThe reading.\n", section([SEED], META, []))
    assert written.startswith("# Benchmarks\n\nThe reading.\n\n" + BEGIN)
    assert written.endswith(END + "\n")


def test_the_section_is_tables_with_the_goals_met_or_not() -> None:
    generated = section([SEED], META, [])
    lines = [line for line in generated.splitlines()[1:-1] if line]
    assert all(line.startswith(("## ", "|")) for line in lines)
    assert "| target | measured | met |" in generated
    rate = next(line for line in lines if line.startswith("| requests per 1,000 full-detail"))
    assert rate.endswith("| worst 34.0 (synthetic 1,000 PRs) | **yes** |")
    assert "33 x FetchPRsBulk (3 pt)" in generated


def latency(dataset: str, requests: int, vs_answers: float, vs_answers_after_startup: float):
    return {
        "bench": "latency",
        "tool": "prharvest",
        "dataset": dataset,
        "scenario": "full seed, fakehub latency 500 ms",
        "requests": requests,
        "wall_seconds": requests * 0.55,
        "ok": True,
        "note": "",
        "extra": {
            "latency_sum_seconds": requests * 0.5,
            "overhead_pct": 10.0,
            "answer_sum_seconds": requests * 0.52,
            "overhead_pct_vs_answers": vs_answers,
            "startup_seconds": 1.0,
            "overhead_pct_after_startup": 8.0,
            "overhead_pct_vs_answers_after_startup": vs_answers_after_startup,
        },
    }


def test_the_latency_goal_is_judged_without_and_with_start_up_on_the_longest_seed() -> None:
    rows = [
        latency("synthetic 1,000 PRs", 34, 10.3, 4.2),
        latency("synthetic 5,000 PRs", 164, 5.6, 4.4),
    ]
    generated = section([SEED, *rows], META, [])
    assert (
        "| ... over the requests' answer times, start-up excluded, <= 5 % | +4.2 % | **yes** |"
        in (generated)
    )
    assert (
        "| ... start-up included, synthetic 5,000 PRs, <= 5 % | +5.6 % over 85.28 s | **no** |"
        in (generated)
    )
