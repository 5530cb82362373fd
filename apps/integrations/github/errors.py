"""The client's one small error tree: every failure GitHub can hand us, with its retry policy.

Each error carries `retryable` (may the same request succeed later?) and renders as one line that
names the repository when it is known and says what to do. Lower-level errors (httpx, JSON) are
translated into this tree once, in `transport.py`; nothing above it sees an httpx exception.
A token never appears in any message: only the first characters of its sha256 (`token_key`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "BadCredentials",
    "Forbidden",
    "GitHubError",
    "GraphQLFailed",
    "NotFound",
    "RateLimited",
    "SecondaryRateLimited",
    "ServerError",
    "TransportFailed",
]


class GitHubError(Exception):
    """Base of every client error: one line, the repository when known, what to do."""

    retryable: bool = False

    def __init__(self, detail: str = "", *, repo: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.repo = repo

    def for_repo(self, repo: str | None) -> GitHubError:
        """Attach the repository the failing request was about (kept if already set)."""
        if repo and not self.repo:
            self.repo = repo
        return self

    def describe(self) -> str:
        """The one-line message; subclasses phrase it for their case."""
        return self.detail

    def __str__(self) -> str:
        message = self.describe()
        if self.repo and self.repo not in message:
            message = f"{self.repo}: {message}"
        return " ".join(message.split())  # always one line


class RateLimited(GitHubError):
    """GitHub's primary rate limit is spent: nothing may be sent with this token until reset_at."""

    retryable = True

    def __init__(
        self,
        detail: str = "",
        *,
        retry_after: float,
        reset_at: float | None = None,
        resource: str = "graphql",
        repo: str | None = None,
        hinted: bool = True,
    ) -> None:
        super().__init__(detail, repo=repo)
        self.retry_after = max(0.0, float(retry_after))
        self.reset_at = reset_at
        self.resource = resource
        # False when GitHub named no time (no retry-after, no exhausted reset): we chose one.
        self.hinted = hinted

    def describe(self) -> str:
        base = self.detail or f"GitHub {self.resource} rate limit exhausted"
        return (
            f"{base}; it resets in {self.retry_after:.0f}s: re-run after the reset "
            "(the sync resumes from its checkpoint) or add tokens to GITHUB_SEEDING_TOKENS"
        )


class SecondaryRateLimited(RateLimited):
    """A secondary (abuse) limit: too many requests too fast; wait retry_after, then slow down."""

    def describe(self) -> str:
        base = self.detail or "GitHub secondary rate limit hit"
        return f"{base} (retry after {self.retry_after:.0f}s): send fewer requests, retry later"


class BadCredentials(GitHubError):
    """401: the token is wrong, expired or revoked."""

    def describe(self) -> str:
        return (
            self.detail
            or "GitHub rejected the token (401 Bad credentials): check GITHUB_TOKEN / "
            "GITHUB_SEEDING_TOKENS (or --github-token)"
        )


class Forbidden(GitHubError):
    """403 that is not a rate limit: the token lacks a scope or access to the resource."""

    def describe(self) -> str:
        return (
            self.detail or "GitHub refused access (403)"
        ) + ": check the token's scopes and its access to the repository"


class NotFound(GitHubError):
    """404 or GraphQL NOT_FOUND: the repository (or PR) does not exist or the token cannot see it."""

    def describe(self) -> str:
        if self.repo:
            return (
                f"repository {self.repo} not found or not visible to this token: check the "
                "owner/name spelling and the token's access"
            )
        return (self.detail or "not found") + ": check the owner/name and the token's access"


class GraphQLFailed(GitHubError):
    """The GraphQL answer carried `errors` and no usable data (never taken as empty data)."""

    def __init__(
        self,
        errors: Sequence[Mapping[str, Any]],
        *,
        retryable: bool | None = None,
        repo: str | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(detail, repo=repo)
        self.errors = [dict(e) for e in errors]
        self.retryable = _errors_look_transient(self.errors) if retryable is None else retryable

    def describe(self) -> str:
        first = self.errors[0].get("message", "unknown error") if self.errors else "no data"
        more = f" (+{len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        what = self.detail or "GitHub GraphQL query failed"
        advice = "retry later" if self.retryable else "report this query error"
        return f"{what}: {first}{more}: {advice}"


class ServerError(GitHubError):
    """5xx from GitHub: usually transient (502/503/504 are retried with backoff)."""

    retryable = True

    def __init__(self, status: int | None, detail: str = "", *, repo: str | None = None) -> None:
        super().__init__(detail, repo=repo)
        self.status = status
        self.retryable = status is None or status in (500, 502, 503, 504)

    def describe(self) -> str:
        return (
            self.detail or f"GitHub answered {self.status}"
        ) + ": GitHub is having trouble; retry later (a smaller page may help)"


class TransportFailed(ServerError):
    """No usable HTTP answer: timeout, dropped connection, refused connection, truncated body."""

    # True when the client's timeout fired (GitHub was still working: a sign of a heavy query),
    # False when the connection failed or was dropped (nothing to do with the query's size).
    timed_out: bool = False

    def __init__(self, detail: str, *, repo: str | None = None) -> None:
        super().__init__(None, detail, repo=repo)
        self.retryable = True

    def describe(self) -> str:
        if not self.retryable:
            return self.detail
        return self.detail + ": check GITHUB_API_URL and the network, then retry"


# GitHub's GraphQL error "type"s that no retry can fix; validation errors carry extensions.code.
_PERMANENT_TYPES = frozenset(
    {"NOT_FOUND", "FORBIDDEN", "INSUFFICIENT_SCOPES", "UNPROCESSABLE", "MAX_NODE_LIMIT_EXCEEDED"}
)


def _errors_look_transient(errors: Sequence[Mapping[str, Any]]) -> bool:
    """Server-side hiccups ("Something went wrong", timeouts) are transient; validation is not."""
    if not errors:
        return True
    for error in errors:
        if error.get("type") in _PERMANENT_TYPES:
            return False
        extensions = error.get("extensions") or {}
        if isinstance(extensions, Mapping) and extensions.get("code"):
            return False  # parse / validation error: the document itself is wrong
        if "locations" in error and "path" not in error:
            return False  # validation errors point at the document, not at data
    return True
