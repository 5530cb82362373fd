"""The per-repository sync lock: no two syncs of one repository ever run at once.

With REDIS_URL, a redis-py `Lock` with a TTL, extended after every page; without it, a
conditional UPDATE of `TrackedRepository.status`, taken over when its holder stopped beating for
REPO_LOCK_TTL_SECONDS. Either way the holder is named "<host> <pid> <start>"
(`apps/integrations/github/lock_holder.py`), so the lock of a process that died on this host is
taken over at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from functools import cache

import redis
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import LockError

from apps.integrations.github.lock_holder import (
    holder_is_dead,
    holder_token,
    process_holder,
    take_over_if_dead,
)
from apps.metrics.models import TrackedRepository

__all__ = ["REPO_LOCK_TTL_SECONDS", "RepositoryBusy", "redis_connection", "repository_lock"]

logger = logging.getLogger(__name__)

# A sync that stops beating (no page saved) this long is presumed dead: its lock lapses.
REPO_LOCK_TTL_SECONDS = 600


class RepositoryBusy(Exception):
    """Another sync of this repository holds its lock; this one did nothing."""


def redis_connection() -> redis.Redis | None:
    """The process's Redis client for REDIS_URL (None when Redis is not configured)."""
    return _redis_for(settings.REDIS_URL) if settings.REDIS_URL else None


@cache
def _redis_for(url: str) -> redis.Redis:
    # One client (one connection pool) per URL and process; redis-py's pool is fork-safe.
    return redis.Redis.from_url(url)


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
    token = holder_token()
    if not lock.acquire(token=token):
        holder = take_over_if_dead(lock)
        if holder is None:
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
        .record_sync(status=TrackedRepository.Status.RUNNING, updated_at=now, sync_holder=me)
    )
    if not taken:
        raise RepositoryBusy(f"{tracked.full_name}: another sync is running")
    if holder and holder != me and holder_is_dead(holder):
        logger.warning("%s: took over the sync of a dead process (%s)", tracked.full_name, holder)

    def beat() -> None:
        TrackedRepository.objects.filter(pk=tracked.pk).record_sync(updated_at=timezone.now())

    try:
        yield beat
    finally:
        # Whoever finishes sets the final status; a crash before that is what `stale` and the
        # holder check are for.
        TrackedRepository.objects.filter(
            pk=tracked.pk, status=TrackedRepository.Status.RUNNING
        ).record_sync(status=TrackedRepository.Status.IDLE)
