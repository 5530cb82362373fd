"""The peers on the same data: Perceval and MeltanoLabs tap-github against the same fakehub.

    .venv/bin/python bench/bench_peers.py [--quick] [--json bench/out/peers.json]

Each peer runs from its own venv under bench/peers/ (gitignored, created here on first use with
pip from PyPI; never a project dependency), against a fakehub subprocess serving the same
repositories as bench_seed.py (the synthetic 1,000-PR repository, same name and seed, and the real
histories in ../shared/data/). fakehub's `--request-log` gives every request the peer sent, so the
per-endpoint breakdown below is what it really called, not what its docs say.

How each peer is pointed at fakehub:
- Perceval: `perceval github OWNER REPO --category pull_request --enterprise-url URL -t TOKEN
  --no-archive --json-line -o FILE --from-date 1980-01-01` (it appends /api/v3 to the URL).
  `--no-archive` spares it writing every response to its SQLite archive (its default), i.e. its
  fastest path.
- tap-github: config `{"repositories": [...], "api_url_base": URL, "auth_token": TOKEN,
  "start_date": ...}`. It needs a token (its first call is GraphQL, which GitHub, and fakehub,
  refuse without one), and it validates every token with a hard-coded
  `GET https://api.github.com/rate_limit`, which no machine here reaches. So it is started through
  a launcher (written to bench/out/peers/tap_launcher.py) that sends that one URL to fakehub's
  `/rate_limit` and changes nothing else, then calls the tap's own `cli()`. The catalog selects the PR streams a metrics product needs
  (`pull_requests`, `pull_request_commits`, `reviews`, `review_comments`); by default it would
  sync ~45 streams of everything a repository has. Its parent `repositories` stream and its
  GraphQL repository-id lookup still run, as they do for any selection.

fakehub's REST budget is raised far above GitHub's 5,000/h for these runs (Perceval stops with a
RateLimitError at 10 remaining instead of waiting); the hours of a real token's budget they would
need is reported instead.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_seed import Dataset, real, synthetic  # noqa: E402
from bench.common import (  # noqa: E402
    BENCH_TOKEN,
    OUT_DIR,
    PEERS_DIR,
    BenchError,
    FakehubServer,
    Row,
    ensure_venv,
    log,
    run_child,
    write_json,
)

PERCEVAL = "perceval==1.6.1"
TAP_GITHUB = "meltanolabs-tap-github==1.30.1"
TAP_STREAMS = ("pull_requests", "pull_request_commits", "reviews", "review_comments")
REST_BUDGET_PER_HOUR = 5000  # GitHub's REST primary limit for one user token (see docs/scaling.md)

# What each peer collects per PR, from reading its installed source (bench/peers/*/site-packages):
# perceval/backends/core/github.py and tap_github/repository_streams.py.
COVERAGE: dict[str, dict[str, str]] = {
    "Perceval": {
        "PR fields (title, state, dates, additions/deletions, labels, milestone, assignees)": "yes (GET /pulls/{n})",
        "reviews": "yes (GET /pulls/{n}/reviews)",
        "commits": "SHAs only (GET /pulls/{n}/commits, kept as a list of hashes)",
        "files changed": "no",
        "check runs / CI": "no",
        "requested reviewers": "yes (GET /pulls/{n}/requested_reviewers)",
        "review comments": "yes (GET /pulls/{n}/comments, + reactions when any)",
        "user profiles + orgs": "yes (GET /users/{login}, /users/{login}/orgs, once per login)",
    },
    "tap-github": {
        "PR fields (title, state, dates, additions/deletions, labels, milestone, assignees)": (
            "list fields only: GET /pulls omits additions, deletions, changed_files, commits"
        ),
        "reviews": "yes (GET /pulls/{n}/reviews)",
        "commits": "yes, without line counts (GET /pulls/{n}/commits)",
        "files changed": (
            "no (only raw diff text through pull_request_diffs, or one GET /commits/{sha} per commit "
            "through pull_request_commit_diffs; neither selected)"
        ),
        "check runs / CI": "no (workflow_runs covers GitHub Actions runs per repository, not a PR's checks)",
        "requested reviewers": "yes (in the PR list item)",
        "review comments": "yes (GET /repos/{o}/{r}/pulls/comments, repository-wide)",
        "user profiles + orgs": "no",
    },
    "prharvest": {
        "PR fields (title, state, dates, additions/deletions, labels, milestone, assignees)": "yes",
        "reviews": "yes",
        "commits": "yes, with line counts and authors",
        "files changed": "yes (path, status, additions, deletions)",
        "check runs / CI": "yes (the last commit's check runs, in the same query)",
        "requested reviewers": "yes",
        "review comments": "no (the conversation comment count only)",
        "user profiles + orgs": "login, id, name (no orgs)",
    },
}


def peer_env(home: Path) -> dict[str, str]:
    """The environment of a peer: no GITHUB_* variable (tap-github reads GITHUB_TOKEN*), own HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    home.mkdir(parents=True, exist_ok=True)
    env["HOME"] = str(home)
    env["LOGLEVEL"] = "WARNING"
    return env


def endpoint_of(path: str, logins: set[str] | None = None) -> str:
    """A request path as its endpoint template (numbers -> {n}, user logins -> {login})."""
    path = path.split("?", 1)[0]
    path = re.sub(r"^/api/v3", "", path)
    path = re.sub(r"^/users/[^/]+", "/users/{login}", path)
    path = re.sub(r"^/repos/[^/]+/[^/]+", "/repos/{o}/{r}", path)
    path = re.sub(r"/\d+(?=/|$)", "/{n}", path)
    path = re.sub(r"/commits/[0-9a-f]{7,40}", "/commits/{sha}", path)
    return path


class RequestLog:
    """fakehub's --request-log file, read from where the previous run stopped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def endpoints(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        if not self.path.exists():
            return counts
        with self.path.open(encoding="utf-8") as handle:
            handle.seek(self.offset)
            for line in handle:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                method = entry.get("method", "GET")
                counts[f"{method} {endpoint_of(str(entry.get('path', '?')))}"] += 1
        return counts


def _row(
    tool: str, dataset: Dataset, child: Any, stats: dict[str, Any], endpoints: Counter[str]
) -> Row:
    row = Row(
        bench="peers",
        tool=tool,
        dataset=dataset.label,
        scenario="full fetch of pull requests",
        prs=dataset.prs,
        wall_seconds=round(child.wall_seconds, 2),
        peak_rss_mb=round(child.peak_rss_mb, 1),
        ok=child.ok,
    ).with_stats(stats)
    row.extra["endpoints"] = dict(endpoints.most_common())
    row.extra["repo_size"] = dataset.prs
    if row.requests:
        row.extra["requests_per_1000_prs"] = round(row.requests * 1000 / dataset.prs, 1)
        row.extra["hours_of_one_token"] = round(
            (row.rest_points or row.requests) / REST_BUDGET_PER_HOUR, 2
        )
    if not child.ok:
        why = "timed out" if child.timed_out else f"exit {child.returncode}"
        row.note = f"{why}: {child.tail(3)}"
        log(f"  {tool} FAILED ({why}):\n{child.tail(15)}")
    else:
        log(
            f"  {tool}: {row.requests} requests, {row.wall_seconds:.1f} s, {row.peak_rss_mb:.0f} MiB"
        )
    return row


def run_perceval(
    python: Path, hub: FakehubServer, reqlog: RequestLog, dataset: Dataset, timeout: float
) -> Row:
    owner, name = dataset.full_name.split("/")
    out = OUT_DIR / "peers" / f"perceval-{dataset.slug}.jsonl"
    perceval = python.parent / "perceval"
    argv = [
        str(perceval),
        "github",
        owner,
        name,
        "--category",
        "pull_request",
        "--enterprise-url",
        hub.url,
        "-t",
        BENCH_TOKEN,
        "--no-archive",
        "--json-line",
        "-o",
        str(out),
        "--from-date",
        "1980-01-01",
    ]
    hub.reset_stats()
    reqlog.mark()
    child = run_child(argv, env=peer_env(OUT_DIR / "peers" / "home"), timeout=timeout)
    row = _row("Perceval", dataset, child, hub.stats(), reqlog.endpoints())
    row.extra.update(_perceval_items(out))
    return row


def _perceval_items(path: Path) -> dict[str, Any]:
    """What Perceval wrote: PR items, and how many carry reviews / commit hashes."""
    items = with_reviews = with_commits = 0
    if path.exists():
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                data = json.loads(line).get("data", {})
                items += 1
                with_reviews += bool(data.get("reviews_data"))
                with_commits += bool(data.get("commits_data"))
    return {
        "items": items,
        "items_with_reviews": with_reviews,
        "items_with_commit_hashes": with_commits,
    }


def tap_catalog(python: Path, config: Path, env: dict[str, str]) -> Path:
    """Discover the tap's catalog and select only the PR streams."""
    tap = python.parent / "tap-github"
    discovered = OUT_DIR / "peers" / "tap-catalog-discovered.json"
    child = run_child(
        [str(tap), "--config", str(config), "--discover"],
        env=env,
        stdout_path=discovered,
        timeout=300,
    )
    if not child.ok:
        raise BenchError(f"tap-github --discover failed: {child.tail(3)}")
    catalog = json.loads(discovered.read_text())
    for stream in catalog["streams"]:
        chosen = stream["tap_stream_id"] in TAP_STREAMS
        for entry in stream.get("metadata", []):
            if entry.get("breadcrumb") == []:
                entry["metadata"]["selected"] = chosen
    selected = OUT_DIR / "peers" / "tap-catalog-selected.json"
    selected.write_text(json.dumps(catalog))
    return selected


TAP_LAUNCHER = '''"""Start tap-github with its token check sent to fakehub instead of api.github.com."""
import os
import sys

import requests

API = os.environ["BENCH_TAP_API_URL"]
GITHUB = "https://api.github.com"
_get = requests.get


def _get_to_fakehub(url, *args, **kwargs):
    # tap_github/authenticator.py validates each token with GET {GITHUB}/rate_limit, hard-coded.
    if isinstance(url, str) and url.startswith(GITHUB + "/"):
        url = API + url[len(GITHUB):]
    return _get(url, *args, **kwargs)


requests.get = _get_to_fakehub

from tap_github.tap import cli  # noqa: E402

sys.exit(cli())
'''


def tap_launcher(api_url: str, env: dict[str, str]) -> Path:
    """Write the launcher (see the module docstring) and point it at fakehub through `env`."""
    path = OUT_DIR / "peers" / "tap_launcher.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TAP_LAUNCHER)
    env["BENCH_TAP_API_URL"] = api_url
    return path


def run_tap(
    python: Path, hub: FakehubServer, reqlog: RequestLog, dataset: Dataset, timeout: float
) -> Row:
    env = peer_env(OUT_DIR / "peers" / "home")
    launcher = tap_launcher(hub.url, env)
    config = OUT_DIR / "peers" / f"tap-config-{dataset.slug}.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        json.dumps(
            {
                "repositories": [dataset.full_name],
                "api_url_base": hub.url,
                "auth_token": BENCH_TOKEN,
                "start_date": "1980-01-01T00:00:00Z",
            }
        )
    )
    catalog = tap_catalog(python, config, env)
    out = OUT_DIR / "peers" / f"tap-{dataset.slug}.jsonl"
    hub.reset_stats()
    reqlog.mark()
    child = run_child(
        [str(python), str(launcher), "--config", str(config), "--catalog", str(catalog)],
        env=env,
        stdout_path=out,
        timeout=timeout,
    )
    row = _row("tap-github", dataset, child, hub.stats(), reqlog.endpoints())
    row.extra.update(_tap_records(out))
    return row


def _tap_records(path: Path) -> dict[str, Any]:
    """Singer RECORD messages the tap emitted, per stream."""
    records: Counter[str] = Counter()
    if path.exists():
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if '"type": "RECORD"' not in line and '"type":"RECORD"' not in line:
                    continue
                try:
                    records[json.loads(line)["stream"]] += 1
                except (ValueError, KeyError):
                    continue
    return {"records": dict(records)}


def run(quick: bool = False, datasets: Sequence[Dataset] | None = None) -> list[Row]:
    """Both peers on each dataset; one row per (peer, dataset)."""
    if datasets is None:
        datasets = (
            [synthetic(1000)]
            if quick
            else [synthetic(1000), real("antiwork-flexile"), real("pallets-flask")]
        )
    log("peer venvs (created on first use)")
    perceval_py = ensure_venv(PEERS_DIR / ".venv-perceval", [PERCEVAL])
    tap_py = ensure_venv(PEERS_DIR / ".venv-tap-github", [TAP_GITHUB])
    timeout = 1800.0
    reqlog_path = OUT_DIR / "peers" / "requests.jsonl"
    reqlog_path.parent.mkdir(parents=True, exist_ok=True)
    reqlog_path.unlink(missing_ok=True)
    args = ["--request-log", str(reqlog_path)]
    for dataset in datasets:
        args += dataset.fakehub_args()
    rows: list[Row] = []
    with FakehubServer(args, log_path=OUT_DIR / "fakehub-peers.log", ready_timeout=600) as hub:
        hub.set_limits(graphql_points=10_000_000, core_requests=10_000_000)
        reqlog = RequestLog(reqlog_path)
        for dataset in datasets:
            log(f"peers on {dataset.label}")
            rows.append(run_perceval(perceval_py, hub, reqlog, dataset, timeout))
            rows.append(run_tap(tap_py, hub, reqlog, dataset, timeout))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="the 1,000-PR synthetic repository only"
    )
    parser.add_argument("--json", type=Path, default=OUT_DIR / "peers.json", help="results file")
    args = parser.parse_args(argv)
    try:
        rows = run(quick=args.quick)
    except BenchError as exc:
        print(f"bench_peers: {exc}", file=sys.stderr)
        return 1
    write_json(args.json, [row.to_dict() for row in rows])
    for row in rows:
        print(
            f"{row.tool:11} {row.dataset[:36]:36} requests {row.requests or 0:>7,} "
            f"wall {row.wall_seconds or 0:7.1f}s rss {row.peak_rss_mb or 0:6.0f}MiB "
            f"{'' if row.ok else 'FAILED ' + row.note}"
        )
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
