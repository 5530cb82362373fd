"""Rate-limit state from GitHub's answers, and the budget arithmetic done before each request.

GitHub reports the primary limit twice: the `x-ratelimit-*` headers on every response (REST and
GraphQL) and, for GraphQL, `rateLimit { cost remaining resetAt limit used }` in the data, which
every query of ours asks for. Both are read after every response and recorded per token in the
Coordinator, so every client sharing a token (threads, processes) sees the same budget.
docs.github.com: rest/using-the-rest-api/rate-limits-for-the-rest-api,
graphql/overview/rate-limits-and-query-limits-for-the-graphql-api.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "CostEstimates",
    "RateLimitState",
    "is_secondary_limit_message",
    "parse_retry_after",
    "query_key",
]


@dataclass(frozen=True, slots=True)
class RateLimitState:
    """The last seen budget of one resource ("graphql", "core", ...) for one token."""

    resource: str
    limit: int | None
    remaining: int
    used: int | None
    reset_at: float  # epoch seconds
    cost: int | None = None  # GraphQL only: what the answered query cost

    @classmethod
    def from_headers(
        cls, headers: Mapping[str, str], default_resource: str = "core"
    ) -> RateLimitState | None:
        """Parse `x-ratelimit-*`; None when the response carries no (valid) limit headers."""
        remaining = _int(headers.get("x-ratelimit-remaining"))
        reset = _int(headers.get("x-ratelimit-reset"))
        if remaining is None or reset is None:
            return None
        return cls(
            resource=headers.get("x-ratelimit-resource") or default_resource,
            limit=_int(headers.get("x-ratelimit-limit")),
            remaining=remaining,
            used=_int(headers.get("x-ratelimit-used")),
            reset_at=float(reset),
        )

    @classmethod
    def from_graphql(cls, rate_limit: Mapping[str, Any] | None) -> RateLimitState | None:
        """Parse the `rateLimit` object of a GraphQL answer; None when absent or incomplete."""
        if not isinstance(rate_limit, Mapping):
            return None
        remaining = _int(rate_limit.get("remaining"))
        reset_at = parse_datetime_epoch(rate_limit.get("resetAt"))
        if remaining is None or reset_at is None:
            return None
        return cls(
            resource="graphql",
            limit=_int(rate_limit.get("limit")),
            remaining=remaining,
            used=_int(rate_limit.get("used")),
            reset_at=reset_at,
            cost=_int(rate_limit.get("cost")),
        )

    def seconds_to_reset(self, now: float) -> float:
        return max(0.0, self.reset_at - now)


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds from `retry-after` (delta seconds or an HTTP date); None when absent or invalid."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def is_secondary_limit_message(text: str) -> bool:
    """Does an error body name a secondary (formerly "abuse") rate limit?"""
    lowered = text.lower()
    return "secondary rate limit" in lowered or "abuse" in lowered


def parse_datetime_epoch(value: Any) -> float | None:
    """GitHub's ISO 8601 `DateTime` (or epoch number) as epoch seconds."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def query_key(query: str) -> str:
    """A short stable key of a GraphQL document, to remember what it cost last time."""
    return hashlib.sha256(" ".join(query.split()).encode()).hexdigest()[:12]


class CostEstimates:
    """What each query cost last time: the estimate for its next run (1 until it has run)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, int] = {}

    def estimate(self, key: str) -> int:
        with self._lock:
            return self._last.get(key, 1)

    def record(self, key: str, cost: int | None) -> None:
        if cost is None:
            return
        with self._lock:
            self._last[key] = max(0, int(cost))


def _int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
