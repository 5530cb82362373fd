"""CI re-poll: re-fetch recent PRs whose checks had not finished when last fetched.

A check run finishing (or a commit status changing) does not bump a PR's `updatedAt`, so the
incremental walk alone would never see CI finish. Each PR backs off on its own: it is due again
after as long as it had gone unchanged when last looked at (`synced_at - pr_updated_at`), at
least REPOLL_MIN_INTERVAL and at most REPOLL_MAX_INTERVAL, so its re-polls come 5, 10, 20,
40 ... minutes apart and a round with nothing changed and nothing due costs no GraphQL point.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet

from apps.integrations.github.client import GitHubGraphQLClient
from apps.metrics.models import PRCheckRun, PRStatusContext, PullRequest, TrackedRepository
from apps.metrics.pipeline.pages import split_repo
from apps.metrics.pipeline.refused import refused_updates
from apps.metrics.pipeline.sanitise import map_pr_node
from apps.metrics.pipeline.writer import SaveStats, save_pull_requests

__all__ = [
    "REPOLL_BATCH",
    "REPOLL_LIMIT",
    "REPOLL_MAX_INTERVAL",
    "REPOLL_MIN_INTERVAL",
    "REPOLL_WINDOW",
    "ci_repoll_due",
    "due_ci_numbers",
    "fetch_prs_by_number",
    "repoll_pending_ci",
]

# PRs updated in this window whose check runs were not all completed, at most REPOLL_LIMIT a
# round (the newest first), REPOLL_BATCH a request.
REPOLL_WINDOW = timedelta(days=3)
REPOLL_LIMIT = 100
REPOLL_BATCH = 10
# Per-PR backoff: the wait doubles from the first to the cap (see ci_repoll_due).
REPOLL_MIN_INTERVAL = timedelta(minutes=5)
REPOLL_MAX_INTERVAL = timedelta(hours=2)


def _prs_with_ci_running(tracked: TrackedRepository, *, since: datetime) -> QuerySet[PullRequest]:
    """The repository's PRs updated since `since` with a check run not completed or a commit
    status still pending (a status changing does not bump `updatedAt` either)."""
    mine = {
        "pull_request__team_id": tracked.team_id,
        "pull_request__github_repo": tracked.full_name,
        "pull_request__pr_updated_at__gte": since,
    }
    pending = PRCheckRun.objects.filter(**mine).exclude(status="completed")
    waiting = PRStatusContext.objects.filter(**mine, state__in=("pending", "expected"))
    return PullRequest.objects.filter(
        Q(pk__in=pending.values("pull_request_id")) | Q(pk__in=waiting.values("pull_request_id"))
    )


def ci_repoll_due(updated_at: datetime, synced_at: datetime | None, now: datetime) -> bool:
    """Whether a PR whose CI was still running is due for a re-poll at `now`.

    `synced_at` is when its data was last fetched (by a walk or a re-poll). The wait after that
    is how long the PR had then gone without an update, clamped to [REPOLL_MIN_INTERVAL,
    REPOLL_MAX_INTERVAL]: CI that just started is looked at again soon, CI that has been
    running for hours less and less often (each re-poll doubles the wait until the cap).
    """
    looked = max(synced_at or updated_at, updated_at)
    wait = min(REPOLL_MAX_INTERVAL, max(REPOLL_MIN_INTERVAL, looked - updated_at))
    return now >= looked + wait


def due_ci_numbers(
    tracked: TrackedRepository,
    now: datetime,
    *,
    exclude: set[int] | frozenset[int] = frozenset(),
) -> list[int]:
    """Numbers of recent PRs with CI still running whose re-poll is due at `now` (newest
    update first, at most REPOLL_LIMIT)."""
    # Nothing fetched less than the minimum wait ago can be due: leave it in the database.
    candidates = (
        _prs_with_ci_running(tracked, since=now - REPOLL_WINDOW)
        .filter(Q(synced_at__isnull=True) | Q(synced_at__lte=now - REPOLL_MIN_INTERVAL))
        .exclude(github_pr_id__in=exclude)
        .order_by("-pr_updated_at")
        .values_list("github_pr_id", "pr_updated_at", "synced_at")
    )
    due = [number for number, updated, synced in candidates if ci_repoll_due(updated, synced, now)]
    return due[:REPOLL_LIMIT]


def fetch_prs_by_number(
    client: GitHubGraphQLClient, repo: str, numbers: list[int], node_ids: dict[int, str]
) -> list[dict[str, Any]]:
    """Complete PR nodes for `numbers`: by node id in one `nodes(ids:)` request (plus the
    follow-ups of overflowing connections), the single-PR query for those without a node id or
    whose id no longer resolves."""
    owner, name = split_repo(repo)
    by_id = {node_ids[n]: n for n in numbers if node_ids.get(n)}
    nodes = client.fetch_prs_by_node_ids(list(by_id), batch=max(1, len(by_id)), repo=repo)
    got = {by_id[node["id"]] for node in nodes if node.get("id") in by_id}
    for number in numbers:
        if number not in got:
            node = client.fetch_single_pr(owner, name, number)
            if node is not None:
                nodes.append(node)
    return nodes


def repoll_pending_ci(
    client: GitHubGraphQLClient,
    tracked: TrackedRepository,
    *,
    exclude: set[int] | frozenset[int] = frozenset(),
    on_batch: Callable[[], None] | None = None,
    now: datetime | None = None,
) -> tuple[int, SaveStats]:
    """Re-fetch recent PRs whose CI had not finished and whose re-poll is due, REPOLL_BATCH a
    request; save them and note when they were looked at (the next wait grows from it).

    `now` defaults to the client's clock (the seam tests move time through).
    """
    if now is None:
        now = datetime.fromtimestamp(client.clock.now(), UTC)
    numbers = due_ci_numbers(tracked, now, exclude=exclude)
    stats = SaveStats()
    if not numbers:
        return 0, stats
    node_ids = dict(
        PullRequest.objects.filter(
            team_id=tracked.team_id, github_repo=tracked.full_name, github_pr_id__in=numbers
        ).values_list("github_pr_id", "github_node_id")
    )
    done = 0
    for start in range(0, len(numbers), REPOLL_BATCH):
        batch = numbers[start : start + REPOLL_BATCH]
        nodes = fetch_prs_by_number(client, tracked.full_name, batch, node_ids)
        # Rows are keyed by the name the team tracks, whatever case GitHub answers in.
        prs = [
            pr for pr in (map_pr_node(node, tracked.full_name) for node in nodes) if pr is not None
        ]
        stats = stats + save_pull_requests(tracked.team, prs)
        refused = refused_updates(tracked, prs)
        if refused:
            tracked.record_sync(**refused)
        # The writer stamps `synced_at` with the wall clock; the backoff reads the client's.
        PullRequest.objects.filter(
            team_id=tracked.team_id,
            github_repo=tracked.full_name,
            github_pr_id__in=[pr.number for pr in prs],
        ).update(synced_at=now)
        done += len(prs)
        if on_batch is not None:
            on_batch()
    return done, stats
