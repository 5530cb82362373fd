"""A sync round over many tracked repositories, several to a GraphQL query.

`sync_repository()` alone costs each repository a request before any PR is fetched (the REST
probe: a free 304 when nothing changed, but one request after another). A round over many
repositories asks GitHub about them together instead (`GitHubGraphQLClient.fetch_repositories`,
aliases; `apps/integrations/github/repos.py`):

- repositories synced before: a change check of CHECK_BATCH repositories a call (1 point): the
  newest PR `updatedAt` against the stored watermark. Unchanged ones with no CI re-poll due are
  closed in one UPDATE, without a lock or a request; changed ones are synced with what the check
  found (no probe), incremental down to their watermark.
- repositories never synced: their first pages, `page_batch_size(MAX_PAGE_SIZE)` repositories
  a call, with their newest `updatedAt` from the same answer (the watermark their walk finishes
  with); each walk starts from its page's cursor, so a repository of a single page costs no
  request of its own.
- an interrupted walk resumes alone, as `sync_repository` does; a repository whose part of a
  batched answer carried errors (or a batch GitHub could not answer) is synced alone.

The REST probe stays the cheaper choice for one repository (0 points, one request), so a round
of fewer than MIN_BATCH repositories, or with `batch=False`, syncs each alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from apps.integrations.github.client import GitHubGraphQLClient
from apps.integrations.github.errors import GitHubError, RateLimited
from apps.integrations.github.repos import CHECK_BATCH, page_batch_size
from apps.metrics.dates import parse_github_datetime
from apps.metrics.models import PRCheckRun, TrackedRepository
from apps.metrics.pipeline.pages import MAX_PAGE_SIZE, ChangeCheck
from apps.metrics.pipeline.walk import open_walk
from apps.metrics.sync.ci_repoll import REPOLL_WINDOW
from apps.metrics.sync.locks import RepositoryBusy
from apps.metrics.sync.run import SyncResult, sync_repository

logger = logging.getLogger(__name__)

# Fewer repositories than this: each alone. Below it the REST probes' 304s (free, one request
# each) are the cheaper check; from it on one point a call saves at least MIN_BATCH - 1
# requests, and at 1,000 repositories the round's 1,000 serial requests become 10.
MIN_BATCH = 10


@dataclass
class RoundResult:
    """What a round did: one result per repository handled, and what was left for later."""

    results: list[SyncResult] = field(default_factory=list)
    unchanged: int = 0  # closed by the batched change check, without a request of their own
    busy: list[str] = field(default_factory=list)  # another sync held their lock
    remaining: list[int] = field(default_factory=list)  # ids not synced: the budget ran out
    rate_limited: RateLimited | None = None


def _with_ci_running(tracked: Sequence[TrackedRepository]) -> set[tuple[int, str]]:
    """(team id, repository) of those with a recent PR whose CI had not finished: one query."""
    since = timezone.now() - REPOLL_WINDOW
    names = {t.full_name for t in tracked}
    teams = {t.team_id for t in tracked}
    rows = (
        PRCheckRun.objects.filter(
            pull_request__team_id__in=teams,
            pull_request__github_repo__in=names,
            pull_request__pr_updated_at__gte=since,
        )
        .exclude(status="completed")
        .values_list("pull_request__team_id", "pull_request__github_repo")
        .distinct()
    )
    return set(rows)


def sync_round(
    tracked: Sequence[TrackedRepository],
    client: GitHubGraphQLClient,
    *,
    batch: bool = True,
    on_result: Callable[[TrackedRepository, SyncResult], None] | None = None,
) -> RoundResult:
    """Sync `tracked` (active repositories) in one round; see the module docstring.

    `on_result(tracked, result)` is called as each repository is done (to report it as it goes).
    Stops at a spent rate limit (`on_limit="stop"` clients): the repositories not synced yet
    are in `remaining`, the limit in `rate_limited`. Other GitHub errors are recorded on their
    repository (as `sync_repository` does) and the round goes on.
    """
    out = RoundResult()
    todo = list(tracked)
    done: set[int] = set()

    def note(t: TrackedRepository, result: SyncResult) -> None:
        done.add(t.pk)
        out.results.append(result)
        if on_result is not None:
            on_result(t, result)

    def one(t: TrackedRepository, **kwargs: Any) -> None:
        try:
            result = sync_repository(t, client, **kwargs)
        except RepositoryBusy:
            out.busy.append(t.full_name)
            done.add(t.pk)
            return
        note(t, result)

    try:
        if not batch or len(todo) < MIN_BATCH:
            for t in todo:
                one(t)
            return out
        resume = [t for t in todo if open_walk(t) is not None]
        cold = [t for t in todo if t not in resume and t.watermark is None]
        known = [t for t in todo if t not in resume and t.watermark is not None]
        for t in resume:
            one(t)
        for start in range(0, len(known), CHECK_BATCH):
            _check_and_sync(known[start : start + CHECK_BATCH], client, out, one, note)
        size = page_batch_size(MAX_PAGE_SIZE)
        for start in range(0, len(cold), size):
            _first_pages_and_sync(cold[start : start + size], client, one)
    except RateLimited as exc:
        out.rate_limited = exc
        out.remaining = [t.pk for t in todo if t.pk not in done]
    return out


def _check_and_sync(
    chunk: list[TrackedRepository],
    client: GitHubGraphQLClient,
    out: RoundResult,
    one: Callable[..., None],
    note: Callable[[TrackedRepository, SyncResult], None],
) -> None:
    """One change-check call for `chunk`; close the unchanged ones, sync the others."""
    try:
        snapshots = client.fetch_repositories([t.full_name for t in chunk])
    except RateLimited:
        raise
    except GitHubError as exc:
        logger.warning("change check of %d repositories failed (%s); one by one", len(chunk), exc)
        for t in chunk:
            one(t)
        return
    ci_running = _with_ci_running(chunk)
    quiet: list[TrackedRepository] = []
    for t, snap in zip(chunk, snapshots, strict=True):
        if not snap.found or snap.failed:
            one(t)  # asked alone: its own probe says what is wrong, recorded on its row
            continue
        top = parse_github_datetime(snap.top_updated_at)
        pushed = parse_github_datetime(snap.pushed_at)
        assert t.watermark is not None
        if top is None or top <= t.watermark:
            if (t.team_id, t.full_name) in ci_running:
                one(t, change=ChangeCheck(changed=False, pushed_at=pushed, via="graphql"))
            else:
                quiet.append(t)
            continue
        one(
            t, change=ChangeCheck(changed=True, top_updated_at=top, pushed_at=pushed, via="graphql")
        )
    if quiet:
        _close_unchanged(quiet, client)
        out.unchanged += len(quiet)
        for t in quiet:
            note(
                t,
                SyncResult(
                    repository=t.full_name,
                    mode="unchanged",
                    status=TrackedRepository.Status.OK,
                ),
            )


def _close_unchanged(quiet: list[TrackedRepository], client: GitHubGraphQLClient) -> None:
    """What `sync_repository` writes after an unchanged round, for all of `quiet` at once.

    A repository some other sync is walking right now (status running) is left to it.
    """
    now = timezone.now()
    updates: dict[str, Any] = {
        "status": TrackedRepository.Status.OK,
        "updated_at": now,
        "last_synced_at": now,
        "last_error": "",
        "next_sync_after": now + timedelta(seconds=settings.SYNC_INTERVAL_SECONDS),
    }
    state = client.rate_limits.get("graphql")
    if state is not None:
        updates["rate_limit_remaining"] = state.remaining
        updates["rate_limit_reset_at"] = datetime.fromtimestamp(state.reset_at, UTC)
    TrackedRepository.objects.filter(pk__in=[t.pk for t in quiet]).exclude(
        status=TrackedRepository.Status.RUNNING
    ).record_sync(**updates)


def _first_pages_and_sync(
    chunk: list[TrackedRepository], client: GitHubGraphQLClient, one: Callable[..., None]
) -> None:
    """First pages of `chunk` (never synced) in one call, then each walk from its page."""
    try:
        # No retries of the batch itself: a heavy answer (502/504, a timeout) falls back to
        # each repository's own walk, whose page size adapts.
        snapshots = client.fetch_repositories(
            [t.full_name for t in chunk], first=MAX_PAGE_SIZE, retry=False
        )
    except RateLimited:
        raise
    except GitHubError as exc:
        logger.warning("first pages of %d repositories failed (%s); one by one", len(chunk), exc)
        for t in chunk:
            one(t)
        return
    for t, snap in zip(chunk, snapshots, strict=True):
        if not snap.found or snap.failed or snap.page is None:
            one(t)
            continue
        change = ChangeCheck(
            changed=True,
            top_updated_at=parse_github_datetime(snap.top_updated_at),
            pushed_at=parse_github_datetime(snap.pushed_at),
            via="graphql",
        )
        one(t, change=change, first_page=snap.page)


__all__ = ["MIN_BATCH", "RoundResult", "sync_round"]
