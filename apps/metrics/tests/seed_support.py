"""Shared helpers of the seeding tests: a client on fakehub, a seeder, a canonical DB snapshot.

Nothing of ours is replaced: the client, fetcher, walk and writer are the real ones, talking
HTTP to a real fakehub. Time moves through the client's clock seam (InstantClock), shared with
fakehub's clock when a test needs rate-limit windows to pass without real waiting.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from apps.integrations.github.client import GitHubGraphQLClient
from apps.integrations.github.clock import Clock, InstantClock
from apps.integrations.github.retry import RetryPolicy
from apps.metrics.pipeline.pages import GitHubGraphQLFetcher
from apps.metrics.seeding.seeder import RealProjectSeeder, RepoSeedResult

TOKEN = "test-token-seeding"


def fast_retry(seed: int = 0, **changes: Any) -> RetryPolicy:
    """The default policy's shape with short waits (they pass on the test clock anyway)."""
    values: dict[str, Any] = {
        "attempts": 6,
        "base": 0.05,
        "cap": 0.5,
        "secondary_min_wait": 60.0,
        "rng": random.Random(seed),
    }
    values.update(changes)
    return RetryPolicy(**values)


def make_client(
    url: str,
    *,
    clock: Clock | None = None,
    retry: RetryPolicy | None = None,
    on_limit: str = "wait",
    timeout: float = 30.0,
    token: str | Sequence[str] = TOKEN,
    listener: Any = None,
) -> GitHubGraphQLClient:
    return GitHubGraphQLClient(
        token,
        base_url=url,
        timeout=timeout,
        retry=retry or fast_retry(),
        clock=clock or InstantClock(),
        on_limit=on_limit,  # type: ignore[arg-type]
        listener=listener,
    )


def make_fetcher(client: GitHubGraphQLClient, **options: Any) -> GitHubGraphQLFetcher:
    return GitHubGraphQLFetcher(client, **options)


def seed(
    client: GitHubGraphQLClient,
    repos: Sequence[str],
    *,
    team_slug: str = "team",
    cache_dir: Path | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    **seeder_options: Any,
) -> list[RepoSeedResult]:
    """Seed `repos` into `team_slug` through the real seeder; return each repository's result."""
    seeder = RealProjectSeeder(
        make_fetcher(client),
        team_slug=team_slug,
        should_stop=should_stop,
        use_cache=cache_dir is not None,
        cache_dir=cache_dir or Path("/nonexistent"),
        **seeder_options,
    )
    return [seeder.seed_repo(repo) for repo in repos]


# --- canonical snapshots -----------------------------------------------------------------------

_QUERIES: dict[str, str] = {
    "prs": """
        SELECT p.github_repo, p.github_pr_id, p.github_node_id, p.url, p.title, p.body, p.state,
               p.is_draft, a.github_login, mb.github_login, p.pr_created_at, p.pr_updated_at,
               p.merged_at, p.closed_at, p.additions, p.deletions, p.changed_files,
               p.commits_count, p.comments_count, p.head_ref, p.base_ref, p.labels,
               p.milestone_title, p.assignees, p.review_requests, p.linked_issues,
               p.first_review_at, p.cycle_time_hours, p.review_time_hours, p.review_rounds,
               p.commits_after_first_review, p.ci_passed, p.size_bucket, p.is_bot_author
        FROM metrics_pullrequest p JOIN metrics_team t ON t.id = p.team_id
        LEFT JOIN metrics_teammember a ON a.id = p.author_id
        LEFT JOIN metrics_teammember mb ON mb.id = p.merged_by_id
        WHERE t.slug = {ph}""",
    "reviews": """
        SELECT p.github_repo, p.github_pr_id, r.github_review_id, m.github_login, r.state,
               r.body, r.submitted_at
        FROM metrics_prreview r JOIN metrics_pullrequest p ON p.id = r.pull_request_id
        JOIN metrics_team t ON t.id = p.team_id
        LEFT JOIN metrics_teammember m ON m.id = r.reviewer_id
        WHERE t.slug = {ph}""",
    "commits": """
        SELECT p.github_repo, p.github_pr_id, c.sha, m.github_login, c.author_name,
               c.author_email, c.message, c.authored_at, c.committed_at, c.additions, c.deletions
        FROM metrics_commit c JOIN metrics_pullrequest p ON p.id = c.pull_request_id
        JOIN metrics_team t ON t.id = p.team_id
        LEFT JOIN metrics_teammember m ON m.id = c.author_id
        WHERE t.slug = {ph}""",
    "files": """
        SELECT p.github_repo, p.github_pr_id, f.filename, f.status, f.additions, f.deletions,
               f.changes
        FROM metrics_prfile f JOIN metrics_pullrequest p ON p.id = f.pull_request_id
        JOIN metrics_team t ON t.id = p.team_id
        WHERE t.slug = {ph}""",
    "check_runs": """
        SELECT p.github_repo, p.github_pr_id, k.github_check_run_id, k.name, k.status,
               k.conclusion, k.started_at, k.completed_at, k.duration_seconds, k.app_name
        FROM metrics_prcheckrun k JOIN metrics_pullrequest p ON p.id = k.pull_request_id
        JOIN metrics_team t ON t.id = p.team_id
        WHERE t.slug = {ph}""",
    "members": """
        SELECT m.github_login, m.github_id, m.display_name, m.email, m.is_bot
        FROM metrics_teammember m JOIN metrics_team t ON t.id = m.team_id
        WHERE t.slug = {ph}""",
    "tracked": """
        SELECT r.full_name, CASE WHEN r.checkpoint IS NULL THEN 'closed' ELSE 'open' END,
               r.watermark, r.status
        FROM metrics_trackedrepository r JOIN metrics_team t ON t.id = r.team_id
        WHERE t.slug = {ph}""",
}


def _rows(cursor: Any, sql: str, slug: str) -> list[tuple[Any, ...]]:
    cursor.execute(sql, [slug])
    return sorted((tuple(str(v) for v in row) for row in cursor.fetchall()), key=repr)


def snapshot(team_slug: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row of a team, minus database ids and write times: what "exact" compares."""
    from django.db import connection

    with connection.cursor() as cursor:
        return {
            name: _rows(cursor, sql.format(ph="%s"), team_slug) for name, sql in _QUERIES.items()
        }


def snapshot_sqlite(path: Path, team_slug: str) -> dict[str, list[tuple[Any, ...]]]:
    """The same snapshot read from a SQLite file written by a subprocess."""
    db = sqlite3.connect(path)
    try:
        cursor = db.cursor()
        return {
            name: _rows(cursor, sql.format(ph="?"), team_slug) for name, sql in _QUERIES.items()
        }
    finally:
        db.close()
