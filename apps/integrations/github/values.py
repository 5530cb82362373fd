"""The values the client returns and the hooks it calls: typed once, here, at the edge."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .ratelimit import RateLimitState

__all__ = [
    "ClientListener",
    "ClientStats",
    "GraphQLResponse",
    "PRPageResult",
    "RepoMetadata",
    "RequestInfo",
    "RestResponse",
]


@dataclass(frozen=True, slots=True)
class GraphQLResponse:
    """A GraphQL answer with data (errors only alongside partial data), its cost and budget."""

    data: dict[str, Any]
    errors: list[dict[str, Any]]
    cost: int
    rate_limit: RateLimitState | None


@dataclass(frozen=True, slots=True)
class RestResponse:
    """A REST answer; `not_modified` for a 304 to If-None-Match (which costs no point)."""

    status: int
    data: Any
    etag: str | None
    headers: dict[str, str]
    not_modified: bool = False
    redirected: bool = False  # GitHub answered 301 first (a renamed or transferred repository)


@dataclass(frozen=True, slots=True)
class RepoMetadata:
    """What the ~1-point metadata query says of a repository (timestamps as GitHub's ISO 8601)."""

    name_with_owner: str
    pushed_at: str | None
    updated_at: str | None
    default_branch: str | None


@dataclass(frozen=True, slots=True)
class PRPageResult:
    """One page of complete PR nodes, newest first in the requested order."""

    nodes: list[dict[str, Any]]
    pushed_at: str | None
    total_count: int
    end_cursor: str | None
    has_next_page: bool
    cost: int  # points of the page and its follow-ups
    requests: int = 1  # HTTP requests it took (page + follow-ups + single re-fetches)
    # Follow-ups the page's query carried (`carry.py`): {PR node id: its answered node}.
    carried: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ClientStats:
    """What the client spent: HTTP requests sent (retries included), points, waits."""

    requests: int = 0
    graphql_requests: int = 0
    rest_requests: int = 0
    not_modified: int = 0
    points_used: int = 0
    retries: int = 0
    waited_seconds: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "requests": self.requests,
            "graphql_requests": self.graphql_requests,
            "rest_requests": self.rest_requests,
            "not_modified": self.not_modified,
            "points_used": self.points_used,
            "retries": self.retries,
            "waited_seconds": self.waited_seconds,
        }


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What `ClientListener.on_request` hears after each HTTP exchange (never the token)."""

    kind: Literal["graphql", "rest"]
    method: str
    path: str
    status: int | None  # None: no HTTP answer (timeout, dropped connection)
    cost: int
    token_key: str  # the coordination key (a PAT's token_key, or the App installation's)
    repo: str | None = None
    error: str | None = None


class ClientListener(Protocol):
    """Progress hooks; every method is optional (the client checks with getattr)."""

    def on_request(self, info: RequestInfo) -> None: ...

    def on_wait(self, seconds: float, reason: str) -> None: ...

    def on_rate_limit(self, state: RateLimitState) -> None: ...
