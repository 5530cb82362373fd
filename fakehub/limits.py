"""Primary rate limits: per token and resource ("core", "graphql"), in windows of reset_seconds.

A window opens at a token's first request and closes at a whole second (GitHub's
`x-ratelimit-reset` is epoch seconds, and a client waiting until it must find a fresh window).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Budget", "RateLimiter"]


@dataclass(slots=True)
class Budget:
    """One token's window for one resource."""

    resource: str
    limit: int
    used: int
    reset_at: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def headers(self) -> dict[str, str]:
        """GitHub's x-ratelimit-* headers for this window."""
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-used": str(min(self.used, self.limit)),
            "x-ratelimit-reset": str(self.reset_at),
            "x-ratelimit-resource": self.resource,
        }

    def copy(self) -> Budget:
        return Budget(self.resource, self.limit, self.used, self.reset_at)


class RateLimiter:
    """Budgets per (token hash, resource); thread-safe."""

    def __init__(
        self,
        graphql_points: int = 5000,
        core_requests: int = 5000,
        reset_seconds: float = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limits = {"graphql": graphql_points, "core": core_requests}
        self.reset_seconds = reset_seconds
        self.clock = clock
        self._budgets: dict[tuple[str, str], Budget] = {}
        self._lock = threading.Lock()

    def configure(
        self,
        graphql_points: int | None = None,
        core_requests: int | None = None,
        reset_seconds: float | None = None,
    ) -> None:
        """Change the limits; every token starts a fresh window with them."""
        with self._lock:
            if graphql_points is not None:
                self.limits["graphql"] = graphql_points
            if core_requests is not None:
                self.limits["core"] = core_requests
            if reset_seconds is not None:
                self.reset_seconds = reset_seconds
            self._budgets.clear()

    def _current(self, token: str, resource: str) -> Budget:
        now = self.clock()
        budget = self._budgets.get((token, resource))
        if budget is None or now >= budget.reset_at:
            budget = Budget(resource, self.limits[resource], 0, math.ceil(now + self.reset_seconds))
            self._budgets[(token, resource)] = budget
        return budget

    def peek(self, token: str, resource: str) -> Budget:
        """A snapshot of the token's current window."""
        with self._lock:
            return self._current(token, resource).copy()

    def charge(self, token: str, resource: str, amount: int) -> tuple[bool, Budget]:
        """Spend `amount` if the window has it: (True, after); else (False, unchanged)."""
        with self._lock:
            budget = self._current(token, resource)
            if amount > budget.remaining:
                return False, budget.copy()
            budget.used += amount
            return True, budget.copy()

    def exhaust(self, token: str, resource: str) -> Budget:
        """Spend what is left of the window (a primary-exhaustion fault)."""
        with self._lock:
            budget = self._current(token, resource)
            budget.used = max(budget.used, budget.limit)
            return budget.copy()

    def snapshot(self) -> dict[str, dict[str, dict[str, int]]]:
        """Every open window: {token hash: {resource: {limit, used, remaining, reset}}}."""
        with self._lock:
            out: dict[str, dict[str, dict[str, int]]] = {}
            for (token, resource), budget in self._budgets.items():
                out.setdefault(token, {})[resource] = {
                    "limit": budget.limit,
                    "used": budget.used,
                    "remaining": budget.remaining,
                    "reset": budget.reset_at,
                }
            return out
