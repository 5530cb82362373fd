"""An organisation of many repositories synced by Celery workers: cold, unchanged, 1 % changed.

    .venv/bin/python bench/bench_org.py [--repos 1000] [--workers 2] [--latency-ms 50]
                                        [--modes batched,per-repo] [--json OUT.json]

fakehub (in process) serves `--repos` synthetic repositories (most of 5-50 PRs, drawn with a
fixed seed, and two of 1,000 and 2,000 PRs), tracked in one team and synced by a real Celery
worker (prefork, `--workers` processes) on Redis and PostgreSQL with one GitHub App installation
(JWT -> installation token, as production). Three rounds, each started by
`sync_all_repositories_task` and timed until every repository's status is final:

- cold: every repository walked in full;
- unchanged: nothing changed in fakehub;
- 1 % changed: one PR edited in 1 % of the repositories.

Each mode runs on a fresh database: `batched` (SYNC_BATCH on: several repositories to a GraphQL
query, apps/metrics/sync/round.py) and `per-repo` (SYNC_BATCH off: one task, one probe and its
own pages per repository), so the two paths are side by side in one run. Figures: requests and
points (fakehub's accounting), wall time, database rows written per second (PR rows and their
children, counted in PostgreSQL), peak RSS of each worker process (the kernel's VmHWM), and how
long fakehub takes to load the repositories.

Redis: REDIS_BENCH_URL (default redis://127.0.0.1:6379/13), on a queue of this run whose keys
are deleted afterwards. PostgreSQL: BENCH_DATABASE_URL's server (default root@127.0.0.1:5432),
where the database BENCH_ORG_DB (default `prharvest_bench_org`) is dropped and created for each
mode. `--quick`: 200 repositories.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.common import OUT_DIR, Row, log, write_json  # noqa: E402
from bench.workers import (  # noqa: E402
    SYNC_ALL_TASK,
    celery_worker,
    clean_redis,
    create_database,
    producer,
    track,
    worker_env,
)
from fakehub.server import FakeHub  # noqa: E402

REDIS_URL = os.environ.get("REDIS_BENCH_URL", "redis://127.0.0.1:6379/13")
DB_NAME = os.environ.get("BENCH_ORG_DB", "prharvest_bench_org")
RUN = secrets.token_hex(4)
QUEUE = f"prharvest-bench-org-{RUN}"
SETTINGS_MODULE = f"bench_org_settings_{RUN}"
APP_ID = "4242"
INSTALLATION_ID = "99"
BIG = (1000, 2000)  # the few large repositories
CHILD_TABLES = (
    "metrics_pullrequest",
    "metrics_prreview",
    "metrics_commit",
    "metrics_prfile",
    "metrics_prcheckrun",
)


def sizes(repos: int) -> list[tuple[str, int, int]]:
    """(name, PRs, seed) of each repository: most of 5-50 PRs, the last ones large."""
    rng = random.Random(20261203)
    out = [(f"org/r{i:04d}", rng.randint(5, 50), i + 1) for i in range(repos - len(BIG))]
    out += [(f"org/big{i}", n, 9000 + i) for i, n in enumerate(BIG)]
    return out


def app_key() -> tuple[bytes, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


def _peak_rss_mb(worker: subprocess.Popen[bytes]) -> list[float]:
    """VmHWM (peak resident set) of each process of the worker's group, in MiB."""
    peaks = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            if os.getpgid(int(entry.name)) != worker.pid:
                continue
        except (OSError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(round(int(line.split()[1]) / 1024, 1))
    return sorted(peaks)


def run_mode(
    mode: str, repos: list[tuple[str, int, int]], workers: int, latency_ms: int
) -> list[Row]:

    private, public = app_key()
    began = time.perf_counter()
    hub = FakeHub(
        synthetic=repos,
        latency_ms=latency_ms,
        app_public_key=public,
        graphql_points=10_000_000,
        core_requests=10_000_000,
    ).start()
    load_seconds = time.perf_counter() - began
    log(f"{mode}: fakehub loaded {len(repos)} repositories in {load_seconds:.1f} s")
    scratch = Path(tempfile.mkdtemp(prefix="bench_org_"))
    key_file = scratch / "app.pem"
    key_file.write_bytes(private)
    db = create_database(DB_NAME)
    env = worker_env(
        scratch=scratch,
        settings_module=SETTINGS_MODULE,
        queue=QUEUE,
        database_url=db,
        redis_url=REDIS_URL,
        api_url=hub.url,
        github={
            "GITHUB_TOKEN": "",
            "GITHUB_APP_ID": APP_ID,
            "GITHUB_APP_PRIVATE_KEY_PATH": str(key_file),
            "GITHUB_APP_INSTALLATION_ID": INSTALLATION_ID,
        },
    )
    env["SYNC_BATCH"] = "true" if mode == "batched" else "false"
    names = [name for name, _prs, _seed in repos]
    total_prs = sum(prs for _name, prs, _seed in repos)
    dataset = f"{len(repos):,} repos ({total_prs:,} PRs), latency {latency_ms} ms"
    rows: list[Row] = []
    try:
        track(env, names, team="org")
        with celery_worker(
            env,
            queue=QUEUE,
            concurrency=workers,
            node=f"bench-org-{RUN}-{mode}@%h",
            log_path=scratch / "worker.log",
            stop_timeout=30,
        ) as worker:
            _rounds(hub, db, worker, mode, repos, workers, latency_ms, load_seconds, rows)
    except Exception as exc:  # a bench reports what failed and renders the rest
        rows.append(
            Row(
                bench="org",
                tool="prharvest",
                dataset=dataset,
                scenario=f"rounds ({mode})",
                ok=False,
                note=str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__,
            )
        )
    finally:
        clean_redis(
            REDIS_URL,
            QUEUE,
            hub.url,
            patterns=("prharvest:repo-sync:*", "prharvest:sync-requested:*"),
        )
        hub.stop()
    return rows


def _rounds(
    hub: FakeHub,
    db: str,
    worker: subprocess.Popen[bytes],
    mode: str,
    repos: list[tuple[str, int, int]],
    workers: int,
    latency_ms: int,
    load_seconds: float,
    rows: list[Row],
) -> None:
    """The cold, unchanged and 1 %-changed rounds, each enqueued and timed to its end; each
    round's row is added to `rows` as soon as it is measured, so a later failure keeps it."""
    import psycopg

    sender = producer("bench-org-producer", REDIS_URL, QUEUE)
    names = [name for name, _prs, _seed in repos]
    total_prs = sum(prs for _name, prs, _seed in repos)
    dataset = f"{len(repos):,} repos ({total_prs:,} PRs), latency {latency_ms} ms"

    def counts() -> int:
        with psycopg.connect(db) as conn:
            return sum(
                conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in CHILD_TABLES
            )

    def one_round(scenario: str, changed: int) -> Row:
        with psycopg.connect(db) as conn:
            conn.execute("UPDATE metrics_trackedrepository SET next_sync_after = NULL")
            conn.commit()
        rows_before = counts()
        with psycopg.connect(db) as conn:
            last_id = conn.execute(
                "SELECT coalesce(max(id), 0) FROM metrics_pullrequest"
            ).fetchone()[0]
        httpx.post(f"{hub.url}/_fakehub/stats/reset")
        started_at = time.time()
        started = time.monotonic()
        sender.send_task(SYNC_ALL_TASK, queue=QUEUE)
        with psycopg.connect(db) as conn:
            while True:
                done = conn.execute(
                    "SELECT count(*) FROM metrics_trackedrepository WHERE status IN "
                    "('ok', 'failed') AND updated_at >= to_timestamp(%s)",
                    (started_at,),
                ).fetchone()[0]
                conn.commit()
                if done == len(repos):
                    break
                if time.monotonic() - started > 3600:
                    raise RuntimeError(f"{scenario}: not finished in an hour ({done} done)")
                time.sleep(0.2)
            elapsed = time.monotonic() - started
            # A walk marks its repository done just before its task records the round's end
            # (next_sync_after): let those last writes land before the next round resets it.
            time.sleep(2)
            failed = conn.execute(
                "SELECT count(*) FROM metrics_trackedrepository WHERE status = 'failed'"
            ).fetchone()[0]
            stored = conn.execute("SELECT count(*) FROM metrics_pullrequest").fetchone()[0]
        # New rows, plus PR rows written again (a changed PR is updated in place, which no
        # count of rows shows; its synced_at moves with every write).
        with psycopg.connect(db) as conn:
            rewritten = conn.execute(
                "SELECT count(*) FROM metrics_pullrequest WHERE synced_at >= to_timestamp(%s)"
                " AND id <= %s",
                (started_at, last_id),
            ).fetchone()[0]
        written = counts() - rows_before + rewritten
        stats = httpx.get(f"{hub.url}/_fakehub/stats").json()
        peaks = _peak_rss_mb(worker)
        row = Row(
            bench="org",
            tool="prharvest",
            dataset=dataset,
            scenario=f"{scenario} ({mode})",
            prs=stored,
            wall_seconds=round(elapsed, 1),
            peak_rss_mb=max(peaks) if peaks else None,
            extra={
                "mode": mode,
                "workers": workers,
                "changed_repos": changed,
                "rows_written": written,
                "rows_per_second": round(written / elapsed, 1) if elapsed else None,
                "peak_rss_mb_per_process": peaks,
                "fakehub_load_seconds": round(load_seconds, 2),
                "max_in_flight_per_token": stats.get("max_in_flight_per_token"),
                "requests_while_limited": stats.get("requests_while_limited"),
                "latency_sum_seconds": round(stats["requests"] * latency_ms / 1000, 1),
            },
        ).with_stats(stats)
        if failed:
            row.ok = False
            row.note = f"{failed} repositories failed"
        if scenario == "cold round" and stored != total_prs:
            row.ok = False
            row.note = f"stored {stored} of {total_prs} PRs"
        log(
            f"  {row.scenario}: {row.requests} requests, {row.graphql_points} GraphQL points, "
            f"{row.wall_seconds} s, {written:,} rows ({row.extra['rows_per_second']}/s), "
            f"peak RSS {peaks} MiB {row.note}"
        )
        return row

    rows.append(one_round("cold round", len(repos)))
    rows.append(one_round("unchanged round", 0))
    step = 100
    touched = names[::step][: max(1, len(names) // 100)]
    for i, name in enumerate(touched):
        httpx.post(
            f"{hub.url}/_fakehub/repos/{name}/pulls",
            json={"number": 1, "title": f"bench org change {i}"},
        ).raise_for_status()
    rows.append(one_round("1 % of repositories changed", len(touched)))
    sender.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--modes", default="batched,per-repo")
    parser.add_argument("--json", type=Path, default=OUT_DIR / "org.json")
    parser.add_argument("--quick", action="store_true", help="200 repositories")
    args = parser.parse_args(argv)
    if args.quick:
        args.repos = min(args.repos, 200)
    if args.repos <= len(BIG):
        print(f"bench_org: --repos must be more than {len(BIG)}", file=sys.stderr)
        return 2
    repos = sizes(args.repos)
    rows: list[Row] = []
    for mode in args.modes.split(","):
        if mode not in ("batched", "per-repo"):
            print(f"bench_org: unknown mode {mode!r} (batched, per-repo)", file=sys.stderr)
            return 2
        rows += run_mode(mode, repos, args.workers, args.latency_ms)
        write_json(args.json, [row.to_dict() for row in rows])
    for row in rows:
        print(
            f"{row.scenario:42} req {row.requests!s:>6} pts {row.graphql_points!s:>6} "
            f"{row.wall_seconds!s:>7}s rows/s {row.extra.get('rows_per_second')!s:>8} "
            f"RSS {row.extra.get('peak_rss_mb_per_process')} {row.note}"
        )
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
