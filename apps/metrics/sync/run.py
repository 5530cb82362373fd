"""Production sync of one tracked repository: the seeding pipeline, kept current.

`sync_repository(tracked, client=None)` shares everything with seeding: the GitHub client (and
through it the per-token lock and budget), the resumable walk (full by creation date the first
time, then incremental by `updatedAt` down to the watermark) and the writer (`save_page`: rows
and checkpoint in one transaction). Around the walk it holds the repository's lock
(`sync/locks.py`), follows a rename, re-polls recent PRs whose CI was still running
(`sync/ci_repoll.py`) and records how the sync ended on the repository's row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from apps.integrations.github.client import GitHubGraphQLClient
from apps.integrations.github.errors import GitHubError, RateLimited
from apps.metrics.models import TrackedRepository
from apps.metrics.pipeline.pages import ChangeCheck, GitHubGraphQLFetcher, PRPage
from apps.metrics.pipeline.sanitise import clean_text
from apps.metrics.pipeline.walk import new_walk, open_walk, walk_repository
from apps.metrics.pipeline.writer import SaveStats, clean_error
from apps.metrics.sync.ci_repoll import repoll_pending_ci
from apps.metrics.sync.github import build_client
from apps.metrics.sync.locks import repository_lock

__all__ = ["FAILURE_RETRY", "SyncResult", "rejected_note", "sync_repository"]

logger = logging.getLogger(__name__)

# After a failure, come back after this long (a rate limit comes back at its reset instead).
FAILURE_RETRY = timedelta(minutes=5)


# Failures of the infrastructure rather than of one repository's data: a sync round stops.
_INFRASTRUCTURE_ERRORS = (OperationalError, InterfaceError, redis.RedisError)


@dataclass(slots=True)
class SyncResult:
    """What one sync of one repository did (and what it cost on GitHub)."""

    repository: str
    mode: str = ""  # "full" | "incremental" | "unchanged"
    status: str = ""
    pages: int = 0
    prs_saved: int = 0
    repolled: int = 0
    requests: int = 0
    points: int = 0
    stats: SaveStats = field(default_factory=SaveStats)
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stats"] = asdict(self.stats)
        return data


def sync_repository(
    tracked: TrackedRepository,
    client: GitHubGraphQLClient | None = None,
    *,
    full: bool = False,
    repoll: bool = True,
    change: ChangeCheck | None = None,
    first_page: Any = None,
) -> SyncResult:
    """Bring `tracked` up to date with GitHub; return what it did and cost.

    Takes the repository's lock (RepositoryBusy when another sync holds it), resumes an open
    walk or starts one (full the first time, incremental by `updatedAt` after; nothing when the
    change check answers 304), then re-polls recent PRs whose CI was still running. RateLimited
    propagates (state saved: the next call resumes); other GitHub errors are recorded on the
    row and returned in `SyncResult.error`. `change` / `first_page`: what a many-repository
    query already found (apps/metrics/sync/round.py), used instead of the probe / first page.
    """
    own_client = client is None
    client = client or build_client()
    result = SyncResult(repository=tracked.full_name)
    requests0, points0 = client.stats.requests, client.stats.points_used
    try:
        with repository_lock(tracked) as beat:
            tracked.refresh_from_db()
            try:
                _sync_locked(
                    client,
                    tracked,
                    result,
                    beat,
                    full=full,
                    repoll=repoll,
                    change=change,
                    first_page=first_page,
                )
            except RateLimited as exc:
                _record(tracked, client, status=TrackedRepository.Status.RATE_LIMITED, error=exc)
                raise
            except GitHubError as exc:
                _record(tracked, client, status=TrackedRepository.Status.FAILED, error=exc)
                result.error = str(exc)
            except _INFRASTRUCTURE_ERRORS:
                raise  # the database or Redis is down: no other repository can sync either
            except Exception as exc:
                # Anything else is about this repository's data: record it, let the round go on.
                logger.debug("%s: sync failed", tracked.full_name, exc_info=True)
                reason = f"sync failed: {clean_error(exc)}"
                _record(tracked, client, status=TrackedRepository.Status.FAILED, error=reason)
                result.error = reason
            else:
                _record(
                    tracked,
                    client,
                    status=TrackedRepository.Status.OK,
                    note=rejected_note(result.stats),
                )
            result.status = tracked.status
    finally:
        result.requests = client.stats.requests - requests0
        result.points = int(client.stats.points_used - points0)
        if own_client:
            client.close()
    return result


def _sync_locked(
    client: GitHubGraphQLClient,
    tracked: TrackedRepository,
    result: SyncResult,
    beat: Callable[[], None],
    *,
    full: bool,
    repoll: bool,
    change: ChangeCheck | None = None,
    first_page: Any = None,
) -> None:
    fetcher = GitHubGraphQLFetcher(client)
    plan = None if full else open_walk(tracked)
    if plan is None:
        known = tracked.watermark is not None and not full
        change = change or fetcher.check_for_changes(
            tracked.full_name,
            etag=(tracked.etag or None) if known else None,
            pushed_at=tracked.pushed_at if known else None,
        )
        if change.renamed_to and not _follow_rename(tracked, change.renamed_to, result):
            return  # the team tracks the new name too: that row syncs it
        if known and not change.changed:
            result.mode = "unchanged"
        elif known and _nothing_newer(change, tracked.watermark):
            # A 200 (the ETag was unknown, e.g. after a round of many-repository queries) whose
            # newest PR is no newer than the watermark: nothing changed; its ETag makes the
            # next probe a free 304.
            tracked.record_sync(etag=change.etag or "")
            result.mode = "unchanged"
        else:
            plan = new_walk(tracked, change, full=full)
    seen: set[int] = set()
    if plan is not None:
        result.mode = plan.mode

        def on_page(page: PRPage, stats: SaveStats) -> None:
            seen.update(pr.number for pr in page.prs)
            beat()

        walked = walk_repository(fetcher, tracked, plan, on_page=on_page, first_page=first_page)
        result.pages = walked.pages
        result.prs_saved = walked.prs
        result.stats = walked.stats
    if repoll:
        result.repolled, stats = repoll_pending_ci(client, tracked, exclude=seen, on_batch=beat)
        result.stats = result.stats + stats


def _follow_rename(tracked: TrackedRepository, new: str, result: SyncResult) -> bool:
    """Move `tracked` (rows, seeding cache) to GitHub's new name; False when it was merged into
    another tracked row of the team (and deleted)."""
    from apps.metrics.pipeline.renames import follow_rename
    from apps.metrics.seeding.cache import team_cache_dir

    cache_dir = team_cache_dir(settings.SEEDING_CACHE_DIR, tracked.team.slug)
    moved = follow_rename(
        tracked.team, tracked.full_name, new, cache_dir=cache_dir, tracked=tracked
    )
    if moved is None or moved.pk != tracked.pk:
        result.mode = "renamed"
        return False
    result.repository = tracked.full_name
    return True


def rejected_note(stats: SaveStats) -> str:
    """The last error of a sync that stored all but a few PRs ("" when none was refused)."""
    if not stats.rejected:
        return ""
    n = len(stats.rejected)
    return f"{n} PR{'s' if n != 1 else ''} not stored: " + "; ".join(stats.rejected[:3])


def _nothing_newer(change: ChangeCheck, watermark: datetime | None) -> bool:
    """Whether a probe answered 200 about no PR updated after `watermark`."""
    return (
        change.via == "probe"
        and change.etag is not None
        and change.top_updated_at is not None
        and watermark is not None
        and change.top_updated_at <= watermark
    )


def _record(
    tracked: TrackedRepository,
    client: GitHubGraphQLClient,
    *,
    status: str,
    error: Exception | str | None = None,
    note: str = "",
) -> None:
    """Store how the sync ended: status, error, when to come back, GitHub's budget."""
    now = timezone.now()
    updates: dict[str, Any] = {"status": status, "updated_at": now}
    state = client.rate_limits.get("graphql")
    if state is not None:
        updates["rate_limit_remaining"] = state.remaining
        updates["rate_limit_reset_at"] = datetime.fromtimestamp(state.reset_at, UTC)
    if isinstance(error, RateLimited):
        reset = error.reset_at or (now.timestamp() + error.retry_after)
        updates["rate_limit_reset_at"] = datetime.fromtimestamp(reset, UTC)
        updates["rate_limit_remaining"] = 0
        updates["next_sync_after"] = datetime.fromtimestamp(reset, UTC)
        updates["last_error"] = clean_text(str(error), 1000)
    elif error is not None:
        updates["next_sync_after"] = now + FAILURE_RETRY
        updates["last_error"] = clean_text(str(error), 1000)
    else:
        updates["last_synced_at"] = now
        updates["last_error"] = clean_text(note, 1000)
        updates["next_sync_after"] = now + timedelta(seconds=settings.SYNC_INTERVAL_SECONDS)
    tracked.record_sync(**updates)
