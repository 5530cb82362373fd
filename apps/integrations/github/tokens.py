"""Where the client's tokens come from: one PAT, a pool of PATs, or a GitHub App installation.

`TokenSource` is the protocol the client uses: `token_for(resource, cost)` gives the token for
the next request (a source may refresh it, a pool picks the richest member), `key_for(token)`
names the budget that token spends, `keys` every budget the source can spend, `invalidate(token)`
reports a token GitHub rejected (401), and `bind(coordinator, clock)` hands the source the
client's view of the budgets. Keys name what GitHub budgets, never the token itself: a PAT's
`token_key`, each pool member's own, or an App installation's stable key (the same in every
process, whatever token it was sold). A single token is a source with one key: `SingleToken`
gives `StaticToken` and `GitHubAppInstallation` (in `github_app.py`) the pool's methods.

A `TokenPool` picks, for each request, the token with the most remaining budget for the
resource (graphql or core) as recorded in the Coordinator, switches when one runs dry, and only
when all are dry hands out the one that resets first (the client then waits for that reset).
Tokens of one GitHub user share one budget: pool tokens of different users or apps.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from .clock import Clock, SystemClock
from .coordination import Coordinator, LocalCoordinator, next_send_at, token_key
from .errors import BadCredentials

__all__ = ["SingleToken", "StaticToken", "TokenPool", "TokenSource", "as_token_source"]


@runtime_checkable
class TokenSource(Protocol):
    """A supplier of tokens for the client."""

    def token(self) -> str:
        """The token to use for the next request (may refresh it first)."""
        ...

    def token_for(self, resource: str, cost: int = 1) -> str:
        """The token for a request of `cost` points on `resource` (a pool: the richest)."""
        ...

    def key_for(self, token: str) -> str:
        """The coordination key of the budget `token` spends: its lock and budget go by it."""
        ...

    @property
    def keys(self) -> list[str]:
        """Every budget this source can spend (one for a single token)."""
        ...

    def bind(self, coordinator: Coordinator, clock: Clock) -> None:
        """The client's coordinator and clock, for a source that ranks budgets (a pool)."""
        ...

    def invalidate(self, token: str) -> None:
        """GitHub rejected `token` (401): drop it, or refresh on the next `token()`."""
        ...

    @property
    def key(self) -> str:
        """The coordination key of what GitHub budgets (never the token): safe to log and store.

        Stable across token refreshes and processes for one budget; for a pool, the current
        member's `token_key`.
        """
        ...


class SingleToken:
    """What a source of one budget answers to the pool's questions: its one token and key."""

    def token(self) -> str:
        raise NotImplementedError

    @property
    def key(self) -> str:
        raise NotImplementedError

    def token_for(self, resource: str, cost: int = 1) -> str:
        return self.token()

    def key_for(self, token: str) -> str:
        # Every token of the source spends one budget: an App installation's tokens, bought by
        # each worker process, are budgeted per installation, so they go by its stable key.
        return self.key

    @property
    def keys(self) -> list[str]:
        return [self.key]

    def bind(self, coordinator: Coordinator, clock: Clock) -> None:
        return None


class StaticToken(SingleToken):
    """One personal access token (or any fixed token)."""

    def __init__(self, token: str) -> None:
        token = (token or "").strip()
        if not token:
            raise BadCredentials("no GitHub token given: set GITHUB_TOKEN or GITHUB_SEEDING_TOKENS")
        self._token = token
        self._key = token_key(token)

    def token(self) -> str:
        return self._token

    def invalidate(self, token: str) -> None:
        # A fixed token cannot be refreshed: the client raises BadCredentials.
        return None

    @property
    def key(self) -> str:
        return self._key

    def __repr__(self) -> str:  # never the token
        return f"StaticToken(key={self._key})"


class TokenPool:
    """Several PATs: the one with most remaining first; switch when dry; wait only when all are."""

    def __init__(
        self,
        tokens: Sequence[str],
        *,
        coordinator: Coordinator | None = None,
        clock: Clock | None = None,
    ) -> None:
        cleaned = [t.strip() for t in tokens if t and t.strip()]
        unique = list(dict.fromkeys(cleaned))
        if not unique:
            raise BadCredentials("no GitHub token given: set GITHUB_TOKEN or GITHUB_SEEDING_TOKENS")
        self._tokens = unique
        self._lock = threading.Lock()
        self._invalid: set[str] = set()
        self._current = unique[0]
        self.coordinator: Coordinator = coordinator or LocalCoordinator()
        self.clock: Clock = clock or SystemClock()
        self._bound = coordinator is not None

    def bind(self, coordinator: Coordinator, clock: Clock) -> None:
        """Use the client's coordinator and clock unless the pool was given its own."""
        if not self._bound:
            self.coordinator = coordinator
            self.clock = clock
            self._bound = True

    @property
    def keys(self) -> list[str]:
        return [token_key(t) for t in self._tokens]

    def key_for(self, token: str) -> str:
        # Members are separate budgets (tokens of different users or apps).
        return token_key(token)

    def __len__(self) -> int:
        return len(self._tokens)

    def token(self) -> str:
        return self.token_for("graphql", 1)

    def token_for(self, resource: str, cost: int = 1) -> str:
        """The token for a request of `cost` points on `resource`: best budget, not blocked."""
        now = self.clock.now()
        best: tuple[float, str] | None = None
        soonest: tuple[float, str] | None = None
        with self._lock:
            live = [t for t in self._tokens if t not in self._invalid]
        if not live:
            raise BadCredentials(
                "GitHub rejected every token of the pool (401): check GITHUB_SEEDING_TOKENS"
            )
        for tok in live:
            key = token_key(tok)
            # No margin: the pool only ranks tokens; the client adds it before sending.
            free_at = next_send_at(self.coordinator, key, resource, cost, now)
            if free_at <= now:
                budget = self.coordinator.budget(key, resource)
                # Unknown or reset budgets count as full: an untried token is the richest.
                remaining = float("inf") if budget is None or budget[1] <= now else budget[0]
                if best is None or remaining > best[0]:
                    best = (remaining, tok)
            elif soonest is None or free_at < soonest[0]:
                soonest = (free_at, tok)
        chosen = best[1] if best is not None else soonest[1]  # type: ignore[index]
        with self._lock:
            self._current = chosen
        return chosen

    def invalidate(self, token: str) -> None:
        with self._lock:
            if token in self._tokens:
                self._invalid.add(token)

    @property
    def key(self) -> str:
        with self._lock:
            return token_key(self._current)

    def __repr__(self) -> str:
        return f"TokenPool(keys={self.keys})"


def as_token_source(token: str | Sequence[str] | TokenSource) -> TokenSource:
    """Normalise the client's `token` argument: str, list of str (a pool) or a TokenSource."""
    if isinstance(token, str):
        return StaticToken(token)
    if isinstance(token, TokenSource):
        return token
    tokens = list(token)
    if len(tokens) == 1:
        return StaticToken(tokens[0])
    return TokenPool(tokens)
