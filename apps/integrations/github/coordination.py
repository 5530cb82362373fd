"""Coordination between everything that shares a token: one request at a time, one budget.

`Coordinator` is the protocol; `LocalCoordinator` keeps the promises inside one process
(threading locks and dicts); `coordination_redis.RedisCoordinator` keeps them across processes.
Tokens are known here only by a key: `token_key(token)` (the first 16 hex characters of its
sha256) for a PAT or a pool member, or a TokenSource's stable `key` for what GitHub budgets as
one (a GitHub App installation, whichever process's installation token is in use). Either way a
token itself is never stored, logged or shown.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol, runtime_checkable

__all__ = [
    "Coordinator",
    "LocalCoordinator",
    "SecondaryStreaks",
    "default_coordinator",
    "next_send_at",
    "token_key",
]


def token_key(token: str) -> str:
    """The name a token goes by everywhere: sha256 hex, first 16 characters."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@runtime_checkable
class Coordinator(Protocol):
    """Per-token serialisation and shared budget bookkeeping (times are epoch seconds)."""

    def token_lock(self, token_key: str) -> AbstractContextManager[None]:
        """Held while one request with this token is in flight: one at a time per token."""
        ...

    def record_budget(self, token_key: str, resource: str, remaining: int, reset_at: float) -> None:
        """Remember the last seen budget of `resource` for the token."""
        ...

    def budget(self, token_key: str, resource: str) -> tuple[int, float] | None:
        """(remaining, reset epoch) last seen for the token, or None when never seen."""
        ...

    def block_until(self, token_key: str, resource: str, until: float) -> None:
        """After a limit answer: nothing is sent for this token and resource before `until`."""
        ...

    def blocked_until(self, token_key: str, resource: str) -> float | None:
        """The epoch time before which nothing may be sent, or None."""
        ...


@runtime_checkable
class SecondaryStreaks(Protocol):
    """Optional: consecutive secondary-limit hits of a token, shared like its budget.

    A worker that re-queues on a secondary limit comes back in a new task, with a new client;
    the streak kept here lets its next hit back off longer, as GitHub asks. A coordinator
    without these methods still works: the streak is then counted per request.
    """

    def note_secondary_hit(self, token_key: str, forget_at: float) -> int:
        """Count one more hit; return the streak (1 for the first). Forgotten at `forget_at`."""
        ...

    def clear_secondary_hits(self, token_key: str) -> None:
        """A request went through: the streak is over."""
        ...


class LocalCoordinator:
    """In-process coordination: a threading lock per token, budgets in dicts."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._budgets: dict[tuple[str, str], tuple[int, float]] = {}
        self._blocks: dict[tuple[str, str], float] = {}
        self._streaks: dict[str, int] = {}

    def _lock_for(self, token_key: str) -> threading.Lock:
        with self._guard:
            lock = self._locks.get(token_key)
            if lock is None:
                lock = self._locks[token_key] = threading.Lock()
            return lock

    @contextmanager
    def _held(self, lock: threading.Lock) -> Iterator[None]:
        with lock:
            yield

    def token_lock(self, token_key: str) -> AbstractContextManager[None]:
        return self._held(self._lock_for(token_key))

    def record_budget(self, token_key: str, resource: str, remaining: int, reset_at: float) -> None:
        with self._guard:
            self._budgets[(token_key, resource)] = (int(remaining), float(reset_at))

    def budget(self, token_key: str, resource: str) -> tuple[int, float] | None:
        with self._guard:
            return self._budgets.get((token_key, resource))

    def block_until(self, token_key: str, resource: str, until: float) -> None:
        with self._guard:
            key = (token_key, resource)
            self._blocks[key] = max(until, self._blocks.get(key, 0.0))

    def blocked_until(self, token_key: str, resource: str) -> float | None:
        with self._guard:
            return self._blocks.get((token_key, resource))

    def note_secondary_hit(self, token_key: str, forget_at: float) -> int:
        # In-process, a streak lives as long as the process; a success ends it.
        with self._guard:
            self._streaks[token_key] = self._streaks.get(token_key, 0) + 1
            return self._streaks[token_key]

    def clear_secondary_hits(self, token_key: str) -> None:
        with self._guard:
            self._streaks.pop(token_key, None)


def next_send_at(
    coordinator: Coordinator,
    token_key: str,
    resource: str,
    cost: int,
    now: float,
    *,
    margin: float = 0.0,
) -> float:
    """When the token may next send a request of `cost` on `resource` (epoch seconds).

    The later of its blocks (`resource` and "secondary") and, when its recorded budget cannot
    pay `cost` before the reset, that reset plus `margin`.
    """
    free_at = now
    for res in (resource, "secondary"):
        blocked = coordinator.blocked_until(token_key, res)
        if blocked is not None and blocked > free_at:
            free_at = blocked
    budget = coordinator.budget(token_key, resource)
    if budget is not None:
        remaining, reset_at = budget
        if remaining < max(1, cost) and reset_at > now:
            free_at = max(free_at, reset_at + margin)
    return free_at


_defaults: dict[str, LocalCoordinator] = {}
_defaults_guard = threading.Lock()


def default_coordinator(base_url: str) -> LocalCoordinator:
    """The process-wide LocalCoordinator for one GitHub (keyed by base URL).

    Every client of a process talking to the same GitHub with the same token shares its lock
    and budget; separate GitHubs (e.g. two fakehub servers) never block each other.
    """
    key = base_url.rstrip("/")
    with _defaults_guard:
        coordinator = _defaults.get(key)
        if coordinator is None:
            coordinator = _defaults[key] = LocalCoordinator()
        return coordinator
