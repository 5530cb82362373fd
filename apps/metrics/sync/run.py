"""Production sync of one tracked repository: the seeding pipeline, kept current.

`sync_repository(tracked, client=None)` shares everything with seeding: the GitHub client (and
through it the per-token lock and budget), the fetcher's resumable walk (full walk by creation
date the first time, then incremental by `updatedAt` down to the watermark) and the writer
(`save_page`: rows and checkpoint in one transaction). On top of the walk it adds:

- a per-repository lock, so no two syncs of one repository ever run at once (a Redis lock with
  a TTL, extended after every page, when REDIS_URL is set; otherwise a conditional UPDATE of
  `status`, taken over when its holder stopped beating for REPO_LOCK_TTL_SECONDS);
- a re-poll of recent PRs whose check runs were not all completed: a check run finishing does
  not bump a PR's `updatedAt`, so the incremental walk alone would never see CI finish. Each PR
  backs off on its own: it is due again after as long as it had gone unchanged when last looked
  at (`synced_at - pr_updated_at`), at least REPOLL_MIN_INTERVAL and at most
  REPOLL_MAX_INTERVAL, so its re-polls come 5, 10, 20, 40 ... minutes apart and a round with
  nothing changed and nothing due costs one free 304 and no GraphQL point.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.models import Q, QuerySet
from django.utils import timezone
from redis.exceptions import LockError
from redis.lock import Lock

from apps.integrations.github.client import GitHubGraphQLClient
from apps.integrations.github.coordination_redis import RedisCoordinator
from apps.integrations.github.errors import GitHubError, RateLimited
from apps.integrations.github.github_app import GitHubAppInstallation
from apps.integrations.github.tokens import StaticToken, TokenPool, TokenSource
from apps.metrics.models import PRCheckRun, PRStatusContext, PullRequest, TrackedRepository
from apps.metrics.pipeline.lock_holder import holder_is_dead, process_holder
from apps.metrics.pipeline.pages import ChangeCheck, GitHubGraphQLFetcher, PRPage, split_repo
from apps.metrics.pipeline.refused import refused_updates
from apps.metrics.pipeline.sanitise import clean_text, map_pr_node
from apps.metrics.pipeline.walk import new_walk, open_walk, walk_repository
from apps.metrics.pipeline.writer import SaveStats, clean_error, save_pull_requests

logger = logging.getLogger(__name__)

# A sync that stops beating (no page saved) this long is presumed dead: its lock lapses.
REPO_LOCK_TTL_SECONDS = 600
# CI re-poll: PRs updated in this window whose check runs were not all completed, at most
# REPOLL_LIMIT a round (the newest first), REPOLL_BATCH a request.
REPOLL_WINDOW = timedelta(days=3)
REPOLL_LIMIT = 100
REPOLL_BATCH = 10
# Per-PR backoff of the re-poll: the wait doubles from the first to the cap (see ci_repoll_due).
REPOLL_MIN_INTERVAL = timedelta(minutes=5)
REPOLL_MAX_INTERVAL = timedelta(hours=2)
# After a failure, come back after this long (a rate limit comes back at its reset instead).
FAILURE_RETRY = timedelta(minutes=5)


# Failures of the infrastructure rather than of one repository's data: a sync round stops.
_INFRASTRUCTURE_ERRORS = (OperationalError, InterfaceError, redis.RedisError)


class RepositoryBusy(Exception):
    """Another sync of this repository holds its lock; this one did nothing."""


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


# --- the client, from settings ----------------------------------------------------------------


def redis_connection() -> redis.Redis | None:
    """The process's Redis client for REDIS_URL (None when Redis is not configured)."""
    return _redis_for(settings.REDIS_URL) if settings.REDIS_URL else None


@cache
def _redis_for(url: str) -> redis.Redis:
    # One client (one connection pool) per URL and process; redis-py's pool is fork-safe.
    return redis.Redis.from_url(url)


def token_source_from_settings() -> TokenSource:
    """A GitHub App installation when GITHUB_APP_ID is set, else GITHUB_TOKEN (a PAT)."""
    if settings.GITHUB_APP_ID:
        if not (settings.GITHUB_APP_PRIVATE_KEY_PATH and settings.GITHUB_APP_INSTALLATION_ID):
            raise GitHubError(
                "GITHUB_APP_ID is set: set GITHUB_APP_PRIVATE_KEY_PATH and "
                "GITHUB_APP_INSTALLATION_ID too"
            )
        try:
            return _app_installation(
                settings.GITHUB_APP_ID,
                settings.GITHUB_APP_PRIVATE_KEY_PATH,
                settings.GITHUB_APP_INSTALLATION_ID,
                settings.GITHUB_API_URL,
            )
        except ValueError as exc:
            raise GitHubError(str(exc)) from None
    tokens = [settings.GITHUB_TOKEN] if settings.GITHUB_TOKEN else settings.GITHUB_SEEDING_TOKENS
    if len(tokens) > 1:
        return TokenPool(tokens)
    return StaticToken(tokens[0] if tokens else "")


@cache
def _app_installation(
    app_id: str, key_path: str, installation_id: str, api_url: str
) -> GitHubAppInstallation:
    # One per process: its installation token (valid an hour, refreshed before it expires) is
    # reused by every task the process runs, instead of one token request a task.
    return GitHubAppInstallation.from_key_file(app_id, key_path, installation_id, api_url)


@cache
def _coordinator(redis_url: str, api_url: str) -> RedisCoordinator:
    # Keys carry the API URL's hash too: two GitHubs (two fakehubs) never share a budget.
    prefix = "prharvest:" + hashlib.sha256(api_url.encode()).hexdigest()[:8]
    return RedisCoordinator(redis_url, prefix=prefix)


def build_client(*, on_limit: str = "stop") -> GitHubGraphQLClient:
    """The client production sync uses: settings' token and URL, Redis coordination if set.

    `on_limit="stop"` (workers): a spent budget raises RateLimited so the task re-queues itself
    instead of sleeping; the one-process command may pass "wait".
    """
    coordinator = (
        _coordinator(settings.REDIS_URL, settings.GITHUB_API_URL) if settings.REDIS_URL else None
    )
    return GitHubGraphQLClient(
        token_source_from_settings(),
        base_url=settings.GITHUB_API_URL,
        timeout=settings.GITHUB_TIMEOUT_SECONDS,
        on_limit=on_limit,
        coordinator=coordinator,
        graphql_url=settings.GITHUB_GRAPHQL_URL or None,
    )


# --- the per-repository lock ------------------------------------------------------------------


@contextmanager
def repository_lock(tracked: TrackedRepository) -> Iterator[Callable[[], None]]:
    """Hold the repository's sync lock (RepositoryBusy when taken); yield a heartbeat."""
    conn = redis_connection()
    if conn is not None:
        with _redis_repository_lock(conn, tracked) as beat:
            yield beat
        return
    with _db_repository_lock(tracked) as beat:
        yield beat


@contextmanager
def _redis_repository_lock(
    conn: redis.Redis, tracked: TrackedRepository
) -> Iterator[Callable[[], None]]:
    # redis-py's Lock: SET NX PX to take, a token-checked PEXPIRE to extend, DEL to release.
    # The token names the holder (host, pid, start), so a lock of a dead process is taken over.
    lock = conn.lock(
        f"prharvest:repo-sync:{tracked.pk}", timeout=REPO_LOCK_TTL_SECONDS, blocking=False
    )
    token = f"{process_holder()} {uuid.uuid4().hex}"
    if not lock.acquire(token=token):
        held = conn.get(lock.name)
        holder = held.decode(errors="replace") if held else ""
        if not (holder and holder_is_dead(holder) and _release_dead(lock, holder)):
            raise RepositoryBusy(f"{tracked.full_name}: another sync is running")
        logger.warning(
            "%s: took over the sync lock of a dead process (%s)", tracked.full_name, holder
        )
        if not lock.acquire(token=token):
            raise RepositoryBusy(f"{tracked.full_name}: another sync is running")

    def beat() -> None:
        try:
            lock.extend(REPO_LOCK_TTL_SECONDS, replace_ttl=True)
        except LockError:
            logger.warning("%s: sync lock lapsed while held", tracked.full_name)

    try:
        yield beat
    finally:
        # LockError: it lapsed and another sync took it meanwhile; it is theirs now.
        with suppress(LockError):
            lock.release()


def _release_dead(lock: Lock, holder: str) -> bool:
    """Delete the lock if it still holds `holder`'s token (a dead process); True when done."""
    try:
        lock.do_release(holder)
    except LockError:
        return False
    return True


@contextmanager
def _db_repository_lock(tracked: TrackedRepository) -> Iterator[Callable[[], None]]:
    # One UPDATE ... WHERE is atomic on PostgreSQL (row lock, WHERE re-checked) and on SQLite
    # (one writer at a time): exactly one of two racing syncs sees a row updated.
    now = timezone.now()
    stale = now - timedelta(seconds=REPO_LOCK_TTL_SECONDS)
    me = process_holder()
    free = ~Q(status=TrackedRepository.Status.RUNNING) | Q(updated_at__lt=stale)
    holder = (
        TrackedRepository.objects.filter(pk=tracked.pk, status=TrackedRepository.Status.RUNNING)
        .values_list("sync_holder", flat=True)
        .first()
    )
    if holder and holder_is_dead(holder):
        # Its holder ran here and is gone (kill -9, a crash): no need to wait for `stale`.
        free |= Q(sync_holder=holder)
    taken = (
        TrackedRepository.objects.filter(pk=tracked.pk)
        .filter(free)
        .update(status=TrackedRepository.Status.RUNNING, updated_at=now, sync_holder=me)
    )
    if not taken:
        raise RepositoryBusy(f"{tracked.full_name}: another sync is running")
    if holder and holder != me and holder_is_dead(holder):
        logger.warning("%s: took over the sync of a dead process (%s)", tracked.full_name, holder)

    def beat() -> None:
        TrackedRepository.objects.filter(pk=tracked.pk).update(updated_at=timezone.now())

    try:
        yield beat
    finally:
        # Whoever finishes sets the final status; a crash before that is what `stale` and the
        # holder check are for.
        TrackedRepository.objects.filter(
            pk=tracked.pk, status=TrackedRepository.Status.RUNNING
        ).update(status=TrackedRepository.Status.IDLE)


# --- CI re-poll -------------------------------------------------------------------------------


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


def pending_ci_numbers(
    tracked: TrackedRepository, *, exclude: set[int] | frozenset[int] = frozenset()
) -> list[int]:
    """Numbers of recent PRs (updated within REPOLL_WINDOW) with a check run not completed."""
    numbers = (
        _prs_with_ci_running(tracked, since=timezone.now() - REPOLL_WINDOW)
        .exclude(github_pr_id__in=exclude)
        .order_by("-pr_updated_at")
        .values_list("github_pr_id", flat=True)[:REPOLL_LIMIT]
    )
    return list(numbers)


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
    """Re-fetch recent PRs whose CI had not finished and whose re-poll is due (a check run
    finishing does not bump `updatedAt`, so the incremental walk cannot see it), REPOLL_BATCH
    a request; save them and note when they were looked at (the next wait grows from it).

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
            TrackedRepository.objects.filter(pk=tracked.pk).update(**refused)
            tracked.unavailable_fields = refused["unavailable_fields"]
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


# --- the sync ---------------------------------------------------------------------------------


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
            TrackedRepository.objects.filter(pk=tracked.pk).update(etag=change.etag or "")
            tracked.etag = change.etag or ""
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
    TrackedRepository.objects.filter(pk=tracked.pk).update(**updates)
    for name, value in updates.items():
        setattr(tracked, name, value)
