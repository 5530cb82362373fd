"""Write throughput: full PRs into SQLite and PostgreSQL, our writer against a naive per-row save.

    .venv/bin/python bench/bench_write.py [--quick] [--prs N] [--json bench/out/write.json]

Both sides write the same in-memory `FetchedPRFull` values (each with reviews, commits, files and
check runs), in the same process, into the same empty database, for two different teams:

- "writer": `apps.metrics.pipeline.writer.save_pull_requests`, called a page (25 PRs) at a time, as
  seeding and sync call it;
- "per-row ORM": what a first version usually does: `get_or_create` per member,
  `update_or_create` per PR and per child row, each its own statement, autocommit, with the same
  per-PR metrics computed (`metrics_for_fetched`) so both store the same columns.

The figure is PRs per second and the ratio writer / per-row. PostgreSQL runs against a scratch
database `prharvest_bench` created and dropped on the server named by `BENCH_POSTGRES_URL`
(default postgres://root@127.0.0.1:5432/test, used only to issue CREATE/DROP DATABASE).

Size: over 400 lines because the bench is one comparison: the PRs both sides write, the naive
per-row writer measured against ours, and the fresh child process per database (SQLite and a
scratch PostgreSQL) that runs each side; kept together so the two sides stay in step.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import OUT_DIR, BenchError, Row, log, run_child, write_json  # noqa: E402

PAGE = 25
DEFAULT_POSTGRES = "postgres://root@127.0.0.1:5432/test"
SCRATCH_DB = "prharvest_bench"


# --- the PRs both sides write ---------------------------------------------------------------


def make_prs(count: int, *, seed: int = 7, repo: str = "bench/write") -> list[Any]:
    """`count` deterministic FetchedPRFull values with reviews, commits, files and check runs."""
    from apps.metrics.pipeline.fetched import (
        FetchedCheckRun,
        FetchedCommit,
        FetchedFile,
        FetchedPRFull,
        FetchedReview,
        FetchedUser,
    )

    rng = random.Random(seed)
    people = [FetchedUser(login=f"dev{i}", github_id=1000 + i, name=f"Dev {i}") for i in range(40)]
    bots = [FetchedUser(login="dependabot[bot]", github_id=49699333, is_bot=True)]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    review_states = ("approved", "changes_requested", "commented", "commented")
    prs = []
    for number in range(1, count + 1):
        created = start + timedelta(hours=number)
        author = bots[0] if number % 17 == 0 else rng.choice(people)
        reviews = tuple(
            FetchedReview(
                github_review_id=number * 100 + i,
                reviewer=rng.choice(people),
                state=review_states[(number + i) % len(review_states)],
                body="looks good" if i % 2 else "",
                submitted_at=created + timedelta(hours=2 + i),
            )
            for i in range(3)
        )
        commits = tuple(
            FetchedCommit(
                sha=f"{number:08x}{i:032x}",
                author=author if i % 3 else None,
                author_name=author.login,
                author_email=f"{author.login}@example.com",
                message=f"change {i} of #{number}",
                authored_at=created + timedelta(minutes=10 * i),
                committed_at=created + timedelta(minutes=10 * i + 1),
                additions=rng.randint(1, 80),
                deletions=rng.randint(0, 40),
            )
            for i in range(5)
        )
        files = tuple(
            FetchedFile(
                filename=f"src/module_{number % 50}/file_{i}.py",
                status=("modified", "added", "removed", "renamed")[i % 4],
                additions=rng.randint(0, 60),
                deletions=rng.randint(0, 30),
            )
            for i in range(12)
        )
        check_runs = tuple(
            FetchedCheckRun(
                github_check_run_id=number * 10 + i,
                name=("lint", "test", "build", "types")[i],
                status="completed",
                conclusion="success" if (number + i) % 9 else "failure",
                started_at=created + timedelta(minutes=5),
                completed_at=created + timedelta(minutes=5 + 3 * (i + 1)),
                app_name="GitHub Actions",
            )
            for i in range(4)
        )
        merged = number % 5 != 0
        prs.append(
            FetchedPRFull(
                repo_full_name=repo,
                number=number,
                node_id=f"PR_bench{number}",
                title=f"Change number {number}",
                body="A body. " * (number % 7),
                state="merged" if merged else "open",
                is_draft=False,
                author=author,
                url=f"https://github.com/{repo}/pull/{number}",
                created_at=created,
                updated_at=created + timedelta(days=1),
                merged_at=created + timedelta(days=1) if merged else None,
                closed_at=created + timedelta(days=1) if merged else None,
                merged_by=people[0] if merged else None,
                additions=sum(f.additions for f in files),
                deletions=sum(f.deletions for f in files),
                changed_files=len(files),
                commits_count=len(commits),
                comments_count=number % 4,
                head_ref=f"feature/{number}",
                base_ref="main",
                labels=("bench", "size/m") if number % 2 else (),
                assignees=(people[number % 40],),
                review_requests=(people[(number + 1) % 40].login,),
                linked_issues=(number + 5000,) if number % 3 == 0 else (),
                reviews=reviews,
                commits=commits,
                files=files,
                check_runs=check_runs,
            )
        )
    return prs


def rows_per_pr(pr: Any) -> int:
    return 1 + len(pr.reviews) + len(pr.commits) + len(pr.files) + len(pr.check_runs)


# --- the naive baseline ---------------------------------------------------------------------


def save_naively(team: Any, prs: list[Any]) -> None:
    """Per-row ORM writes: one get_or_create / update_or_create per member, PR and child row."""
    from apps.metrics.models import Commit, PRCheckRun, PRFile, PRReview, PullRequest, TeamMember
    from apps.metrics.pr_metrics import metrics_for_fetched

    def member(user: Any) -> Any:
        if user is None:
            return None
        obj, _ = TeamMember.objects.get_or_create(
            team=team,
            github_login=user.login,
            defaults={
                "github_id": user.github_id,
                "display_name": user.name or "",
                "is_bot": user.is_bot,
            },
        )
        return obj

    for pr in prs:
        metrics = metrics_for_fetched(pr).as_fields()
        row, _ = PullRequest.objects.update_or_create(
            team=team,
            github_repo=pr.repo_full_name,
            github_pr_id=pr.number,
            defaults={
                "github_node_id": pr.node_id,
                "url": pr.url,
                "title": pr.title,
                "body": pr.body,
                "state": pr.state,
                "is_draft": pr.is_draft,
                "author": member(pr.author),
                "merged_by": member(pr.merged_by),
                "pr_created_at": pr.created_at,
                "pr_updated_at": pr.updated_at,
                "merged_at": pr.merged_at,
                "closed_at": pr.closed_at,
                "additions": pr.additions,
                "deletions": pr.deletions,
                "changed_files": pr.changed_files,
                "commits_count": pr.commits_count,
                "comments_count": pr.comments_count,
                "head_ref": pr.head_ref,
                "base_ref": pr.base_ref,
                "labels": list(pr.labels),
                "milestone_title": pr.milestone_title,
                "assignees": [member(a).github_login for a in pr.assignees],
                "review_requests": list(pr.review_requests),
                "linked_issues": list(pr.linked_issues),
                **metrics,
            },
        )
        for review in pr.reviews:
            PRReview.objects.update_or_create(
                pull_request=row,
                github_review_id=review.github_review_id,
                defaults={
                    "reviewer": member(review.reviewer),
                    "state": review.state,
                    "body": review.body,
                    "submitted_at": review.submitted_at,
                },
            )
        for commit in pr.commits:
            Commit.objects.update_or_create(
                pull_request=row,
                sha=commit.sha,
                defaults={
                    "author": member(commit.author),
                    "author_name": commit.author_name,
                    "author_email": commit.author_email,
                    "message": commit.message,
                    "authored_at": commit.authored_at,
                    "committed_at": commit.committed_at,
                    "additions": commit.additions,
                    "deletions": commit.deletions,
                },
            )
        for changed in pr.files:
            PRFile.objects.update_or_create(
                pull_request=row,
                filename=changed.filename,
                defaults={
                    "status": changed.status,
                    "additions": changed.additions,
                    "deletions": changed.deletions,
                    "changes": changed.changes,
                },
            )
        for run in pr.check_runs:
            PRCheckRun.objects.update_or_create(
                pull_request=row,
                github_check_run_id=run.github_check_run_id,
                defaults={
                    "name": run.name,
                    "status": run.status,
                    "conclusion": run.conclusion,
                    "started_at": run.started_at,
                    "completed_at": run.completed_at,
                    "duration_seconds": run.duration_seconds,
                    "app_name": run.app_name,
                },
            )


# --- child: one database, both sides --------------------------------------------------------


def child_main(prs_count: int, out: Path) -> int:
    """Run in a fresh process whose environment names the database: migrate, write, report."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from apps.metrics.models import PullRequest, Team
    from apps.metrics.pipeline.writer import save_pull_requests

    call_command("migrate", verbosity=0, interactive=False)
    prs = make_prs(prs_count)
    child_rows = sum(rows_per_pr(pr) for pr in prs)
    results: dict[str, Any] = {"vendor": connection.vendor, "prs": len(prs), "rows": child_rows}

    naive_team = Team.objects.create(name="naive", slug="bench-naive")
    started = time.perf_counter()
    save_naively(naive_team, prs)
    results["naive_seconds"] = time.perf_counter() - started

    writer_team = Team.objects.create(name="writer", slug="bench-writer")
    started = time.perf_counter()
    for i in range(0, len(prs), PAGE):
        save_pull_requests(writer_team, prs[i : i + PAGE])
    results["writer_seconds"] = time.perf_counter() - started

    started = time.perf_counter()
    for i in range(0, len(prs), PAGE):
        save_pull_requests(writer_team, prs[i : i + PAGE])
    results["writer_rewrite_seconds"] = time.perf_counter() - started

    for team, key in ((naive_team, "naive_prs_stored"), (writer_team, "writer_prs_stored")):
        results[key] = PullRequest.objects.filter(team=team).count()
    if connection.vendor == "postgresql":
        # Bytes on disk per stored PR (tables + indexes + TOAST), for docs/scaling.md.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'r' AND n.nspname = 'public' AND c.relname LIKE 'metrics_%%'"
            )
            total = cursor.fetchone()[0]
        stored = PullRequest.objects.count()
        results["bytes_per_pr"] = int(total / stored) if stored else None
    write_json(out, results)
    return 0


# --- parent ---------------------------------------------------------------------------------


def _postgres_scratch(admin_url: str, create: bool) -> str:
    """Create (or drop) the scratch database; return its URL."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)")
        if create:
            conn.execute(f"CREATE DATABASE {SCRATCH_DB}")
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{SCRATCH_DB}"


def run(quick: bool = False, prs: int | None = None) -> list[Row]:
    """Run the write bench on SQLite and PostgreSQL; return one row per database and side."""
    count = prs or (200 if quick else 1000)
    rows: list[Row] = []
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    admin_url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    for backend in ("sqlite", "postgresql"):
        out = OUT_DIR / f"write-{backend}.json"
        out.unlink(missing_ok=True)
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        if backend == "sqlite":
            db = OUT_DIR / "write.sqlite3"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            env["SQLITE_PATH"] = str(db)
        else:
            try:
                env["DATABASE_URL"] = _postgres_scratch(admin_url, create=True)
            except Exception as exc:  # a bench reports, it does not crash
                rows.append(
                    _failed(backend, count, f"PostgreSQL unavailable: {exc}".splitlines()[0])
                )
                continue
        log(f"write bench: {count} PRs into {backend}")
        child = run_child(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--child",
                "--prs",
                str(count),
                "--out",
                str(out),
            ],
            env=env,
            timeout=1800,
        )
        if backend == "postgresql":
            # Leaving the scratch database behind would be harmless: never fail the bench on it.
            with contextlib.suppress(Exception):
                _postgres_scratch(admin_url, create=False)
        if not child.ok or not out.exists():
            rows.append(_failed(backend, count, f"child failed: {child.tail(4)}"))
            continue
        import json

        result = json.loads(out.read_text())
        per_pr = result["rows"] / result["prs"]
        naive_rate = result["prs"] / result["naive_seconds"]
        writer_rate = result["prs"] / result["writer_seconds"]
        ratio = writer_rate / naive_rate
        common = {"prs": result["prs"], "dataset": f"{result['prs']} PRs x {per_pr:.0f} rows"}
        rows.append(
            Row(
                bench="write",
                tool="per-row ORM (baseline)",
                scenario=backend,
                wall_seconds=result["naive_seconds"],
                extra={"prs_per_second": naive_rate, "rows": result["rows"]},
                **common,
            )
        )
        rows.append(
            Row(
                bench="write",
                tool="prharvest writer",
                scenario=backend,
                wall_seconds=result["writer_seconds"],
                note=f"{ratio:.1f}x the per-row baseline",
                extra={
                    "prs_per_second": writer_rate,
                    "ratio": ratio,
                    "rewrite_seconds": result["writer_rewrite_seconds"],
                    "rows": result["rows"],
                    "stored": result["writer_prs_stored"],
                    "bytes_per_pr": result.get("bytes_per_pr"),
                },
                **common,
            )
        )
    return rows


def _failed(backend: str, count: int, why: str) -> Row:
    return Row(
        bench="write",
        tool="prharvest writer",
        dataset=f"{count} PRs",
        scenario=backend,
        ok=False,
        note=why,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 PRs instead of 1,000")
    parser.add_argument("--prs", type=int, default=None, help="PRs to write (overrides --quick)")
    parser.add_argument("--json", type=Path, default=OUT_DIR / "write.json", help="results file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.prs is not None and args.prs < 1:
        print("bench_write: --prs must be at least 1", file=sys.stderr)
        return 2
    if args.child:
        return child_main(args.prs or 1000, args.out)
    try:
        rows = run(quick=args.quick, prs=args.prs)
    except BenchError as exc:
        print(f"bench_write: {exc}", file=sys.stderr)
        return 1
    write_json(args.json, [row.to_dict() for row in rows])
    for row in rows:
        rate = row.extra.get("prs_per_second")
        shown = f"{rate:8.1f} PRs/s" if rate else "   failed   "
        print(f"{row.scenario:11} {row.tool:24} {shown}  {row.note}")
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
