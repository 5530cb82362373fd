"""Rate limits: primary budgets per token and resource ("core", "graphql"), in windows of
reset_seconds, and the answers GitHub gives a token over a primary or a secondary limit.

A window opens at a token's first request and closes at a whole second (GitHub's
`x-ratelimit-reset` is epoch seconds, and a client waiting until it must find a fresh window).
GraphQL primary exhaustion answers HTTP 200 with `{"errors": [{"type": "RATE_LIMITED", ...}]}`
and `x-ratelimit-remaining: 0` (GitHub also answers 403 in some cases); REST answers 403.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fakehub.accounting import SECONDARY_DEFAULT_SECONDS
from fakehub.http import Answer
from fakehub.store import stable_id

if TYPE_CHECKING:
    from fakehub.http import Handler

__all__ = ["Budget", "RateLimiter", "rate_limited", "secondary_limited"]

RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_DOCS = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/"
    "rate-limits-for-the-rest-api#about-secondary-rate-limits"
)


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


def rate_limited(req: Handler, tok: str, resource: str) -> Answer:
    """The primary-limit answer: GraphQL 200 RATE_LIMITED, REST 403; remaining 0."""
    hub = req.hub
    budget = hub.limiter.exhaust(tok, resource)
    # The window ends at the reset GitHub announces: a request after it is not limited.
    req.limit_note = (tok, resource, budget.reset_at)
    hub.accounting.add(tok, rate_limited_responses=1)
    user_id = stable_id("token:" + tok)
    if resource == "graphql":
        body: dict[str, Any] = {
            "errors": [
                {
                    "type": "RATE_LIMITED",
                    "message": f"API rate limit exceeded for user ID {user_id}.",
                }
            ]
        }
        return Answer(200, body, budget.headers())
    return Answer(
        403,
        {
            "message": f"API rate limit exceeded for user ID {user_id}. If you reach out to "
            "GitHub Support for help, please include the request ID "
            f"{secrets.token_hex(8).upper()}.",
            "documentation_url": RATE_DOCS,
            "status": "403",
        },
        budget.headers(),
    )


def secondary_limited(
    req: Handler, tok: str, resource: str, status: int, retry_after: int | None
) -> Answer:
    """A secondary-limit answer (403 or 429), with `retry-after` when given; every resource of
    the token counts as limited until then (or for 60 s)."""
    hub = req.hub
    headers = hub.limiter.peek(tok, resource).headers()
    wait = SECONDARY_DEFAULT_SECONDS
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
        wait = retry_after
    req.limit_note = (tok, "secondary", hub.clock() + wait)
    hub.accounting.add(tok, rate_limited_responses=1)
    request_id = secrets.token_hex(8).upper()
    return Answer(
        status,
        {
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes "
            "before you try again. If you reach out to GitHub Support for help, please "
            f"include the request ID {request_id}.",
            "documentation_url": SECONDARY_DOCS,
            "status": str(status),
        },
        headers,
    )
