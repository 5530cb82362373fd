"""Celery tasks of production sync: thin wrappers around `apps.metrics.sync`.

- `sync_repository_task(id)`: one repository; when GitHub's budget is spent it re-queues itself
  with a countdown to the reset instead of sleeping in a worker.
- `sync_all_repositories_task()`: on beat's schedule (SYNC_INTERVAL_SECONDS), enqueues every
  active repository that is due (`next_sync_after` passed): with SYNC_BATCH, ROUND_TASK_SIZE
  repositories a `sync_round_task` (apps/metrics/sync/round.py: several repositories to a
  GraphQL query), else one `sync_repository_task` each.
- `sync_round_task(ids)`: one round over those repositories; at a spent budget it re-queues
  the ones left with a countdown to the reset.
- `request_sync_for_repository(full_name)`: what a webhook calls; N events within
  WEBHOOK_DEBOUNCE_SECONDS enqueue one sync.

Without a broker (the embedded default) tasks run eagerly in-process; a webhook then only marks
the repository due, for the next `sync_repositories` run, so a delivery never waits for a sync.
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.integrations.github.errors import RateLimited
from apps.metrics.models import TrackedRepository
from apps.metrics.sync.github import build_client
from apps.metrics.sync.locks import RepositoryBusy, redis_connection
from apps.metrics.sync.round import sync_round
from apps.metrics.sync.run import SyncResult, sync_repository

logger = logging.getLogger(__name__)

# Webhook bursts (a push fires pull_request + several check_suite/check_run events) become one
# sync this many seconds after the first event.
WEBHOOK_DEBOUNCE_SECONDS = 5.0
# A repository busy with another sync when a webhook's sync starts: try again this much later.
BUSY_RETRY_SECONDS = 15.0
# Seconds added to a rate-limit countdown: GitHub's reset is to the second, clocks drift.
RESET_SLACK_SECONDS = 1.0
# Repositories a round task takes: one change-check query's worth (repos.CHECK_BATCH).
ROUND_TASK_SIZE = 100


def _is_eager() -> bool:
    from config.celery import app

    return bool(app.conf.task_always_eager)


@shared_task(bind=True, name="apps.metrics.tasks.sync_repository_task", max_retries=None)
def sync_repository_task(
    self: Any, tracked_repository_id: int, reason: str = "schedule"
) -> dict[str, Any]:
    """Sync one tracked repository; on a rate limit, re-queue with a countdown to the reset."""
    try:
        tracked = TrackedRepository.objects.select_related("team").get(pk=tracked_repository_id)
    except TrackedRepository.DoesNotExist:
        return {"skipped": "no such tracked repository", "id": tracked_repository_id}
    if not tracked.is_active:
        return {"skipped": "inactive", "repository": tracked.full_name}
    label = _label(tracked)
    logger.info("%s: sync started (%s)", label, reason)
    try:
        result = sync_repository(tracked)
    except RateLimited as exc:
        countdown = _countdown_to_reset(exc)
        if self.request.is_eager:
            # In-process: nobody would run a retry later; the state says when to come back.
            return {"rate_limited": tracked.full_name, "retry_in": countdown}
        logger.info("%s: rate limited, re-queued in %.0fs", label, countdown)
        raise self.retry(countdown=countdown, exc=exc) from None
    except RepositoryBusy:
        if reason == "webhook" and not self.request.is_eager and self.request.retries < 20:
            # The running sync may have started before the change the webhook announced.
            logger.info("%s: busy with another sync, retried in %.0fs", label, BUSY_RETRY_SECONDS)
            raise self.retry(countdown=BUSY_RETRY_SECONDS) from None
        logger.info("%s: skipped, another sync of it is running", label)
        return {"skipped": "busy", "repository": tracked.full_name}
    _log_result(label, reason, result)
    return result.as_dict()


def _label(tracked: TrackedRepository) -> str:
    return f"{tracked.full_name} (team {tracked.team.slug})"


def _log_result(label: str, reason: str, result: SyncResult) -> None:
    """One line for one repository's sync: what a worker's INFO log shows of it."""
    if result.error:
        logger.warning("%s: sync failed (%s): %s", label, reason, result.error)
        return
    logger.info(
        "%s: synced (%s): %s, %d PRs saved, %d re-polled for CI, %d requests, %d points",
        label,
        reason,
        result.mode,
        result.prs_saved,
        result.repolled,
        result.requests,
        result.points,
    )


@shared_task(name="apps.metrics.tasks.sync_all_repositories_task")
def sync_all_repositories_task() -> dict[str, Any]:
    """Enqueue a sync of every active repository whose `next_sync_after` has passed."""
    now = timezone.now()
    due = TrackedRepository.objects.filter(is_active=True).filter(
        Q(next_sync_after__isnull=True) | Q(next_sync_after__lte=now)
    )
    ids = list(due.order_by("next_sync_after", "pk").values_list("pk", flat=True))
    if not _is_eager():
        # Claim them for one interval, so the next beat does not enqueue them a second time
        # while they still wait in the queue; a finished sync sets its own next time.
        TrackedRepository.objects.filter(pk__in=ids).record_sync(
            next_sync_after=now + timedelta(seconds=settings.SYNC_INTERVAL_SECONDS)
        )
    if settings.SYNC_BATCH:
        rounds = [
            ids[start : start + ROUND_TASK_SIZE] for start in range(0, len(ids), ROUND_TASK_SIZE)
        ]
        # Logged before the enqueueing: eager round tasks run (and log) inside `delay`.
        logger.info(
            "sync round: %d due repositories enqueued in %d round tasks", len(ids), len(rounds)
        )
        for chunk in rounds:
            sync_round_task.delay(chunk)
        return {"enqueued": len(ids)}
    logger.info("sync round: %d due repositories enqueued", len(ids))
    for pk in ids:
        sync_repository_task.delay(pk)
    return {"enqueued": len(ids)}


@shared_task(bind=True, name="apps.metrics.tasks.sync_round_task", max_retries=None)
def sync_round_task(self: Any, tracked_repository_ids: list[int]) -> dict[str, Any]:
    """Sync these repositories in one round (several to a query); at a spent rate limit,
    re-queue the ones not synced yet with a countdown to the reset."""
    tracked = list(
        TrackedRepository.objects.select_related("team")
        .filter(pk__in=tracked_repository_ids, is_active=True)
        .order_by("pk")
    )
    logger.info("round task: %d repositories, sync started (schedule)", len(tracked))
    client = build_client()
    with client:
        outcome = sync_round(
            tracked, client, on_result=lambda t, r: _log_result(_label(t), "schedule", r)
        )
    for name in outcome.busy:
        logger.info("%s: skipped, another sync of it is running", name)
    summary: dict[str, Any] = {
        "synced": len(outcome.results),
        "unchanged": outcome.unchanged,
        "busy": len(outcome.busy),
        "requests": client.stats.requests,
        "points": int(client.stats.points_used),
    }
    failed = sum(1 for r in outcome.results if r.error)
    # The round's requests include its batched checks, which no single repository's line counts.
    logger.info(
        "round task: %d of %d repositories synced (%d unchanged, %d failed, %d busy), "
        "%d PRs saved, %d requests, %d points",
        len(outcome.results) - failed,
        len(tracked),
        outcome.unchanged,
        failed,
        len(outcome.busy),
        sum(r.prs_saved for r in outcome.results),
        summary["requests"],
        summary["points"],
    )
    if outcome.rate_limited is not None and outcome.remaining:
        countdown = _countdown_to_reset(outcome.rate_limited)
        if self.request.is_eager:
            return {**summary, "rate_limited": len(outcome.remaining), "retry_in": countdown}
        logger.info(
            "round task: rate limited, %d repositories re-queued in %.0fs",
            len(outcome.remaining),
            countdown,
        )
        sync_round_task.apply_async((outcome.remaining,), countdown=countdown)
    return summary


def request_sync_for_repository(full_name: str, *, delay: float | None = None) -> int:
    """Ask for a sync of every active tracked repository named `full_name`; return how many
    syncs were enqueued now (0 when one is already pending within the debounce window)."""
    delay = WEBHOOK_DEBOUNCE_SECONDS if delay is None else delay
    ids = list(
        TrackedRepository.objects.filter(is_active=True, full_name__iexact=full_name).values_list(
            "pk", flat=True
        )
    )
    return sum(1 for pk in ids if request_sync(pk, delay=delay))


def request_sync(tracked_repository_id: int, *, delay: float = WEBHOOK_DEBOUNCE_SECONDS) -> bool:
    """Enqueue one debounced sync of the repository; False when one is already pending."""
    if _is_eager():
        TrackedRepository.objects.filter(pk=tracked_repository_id).record_sync(
            next_sync_after=timezone.now()
        )
        return True
    conn = redis_connection()
    key = f"prharvest:sync-requested:{tracked_repository_id}"
    if conn is not None and not conn.set(key, "1", nx=True, px=max(1, int(delay * 1000))):
        return False
    try:
        sync_repository_task.apply_async(
            (tracked_repository_id,), {"reason": "webhook"}, countdown=delay
        )
    except Exception:
        # Not queued (the broker is down): the next delivery must not be debounced away.
        if conn is not None:
            conn.delete(key)
        raise
    return True


def _countdown_to_reset(exc: RateLimited) -> float:
    """Seconds until the token may send again, from GitHub's reset or retry-after."""
    wait = exc.retry_after
    if exc.reset_at is not None:
        wait = max(wait, exc.reset_at - timezone.now().timestamp())
    return float(max(1, math.ceil(wait + RESET_SLACK_SECONDS)))
