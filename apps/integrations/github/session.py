"""Session: the one request loop every request of the client goes through.

`Session.send(request, read, policy=..., repo=...)` sends one logical request (GraphQL or
REST) and returns what `read` makes of the answer. One `retry_context` (`retry.py`) drives
every try; each step is there for a reason GitHub gives:

1. A token from the TokenSource (`token_for`: a pool hands out its richest member), and the
   coordination key of the budget it spends (`key_for`): lock and budget go by what GitHub
   budgets -- each pool member, or an App installation whichever worker's token is in use.
2. The budget wait: nothing is sent while the token's recorded budget cannot pay the request or
   a block is in force (a limit answer, ours or another process's). With `on_limit="wait"`
   (seeding) the wait is slept through the Clock; with `on_limit="stop"` (workers that
   re-queue) `RateLimited` / `SecondaryRateLimited` is raised at once instead, carrying how
   long to wait (docs.github.com: rest/using-the-rest-api/rate-limits-for-the-rest-api:
   "you should not try your request until after" the reset).
3. The Coordinator's per-token lock around the exchange: one request in flight per token, as
   GitHub's best practices ask ("make requests serially instead of concurrently";
   docs.github.com: rest/guides/best-practices-for-using-the-rest-api). The budget is checked
   again under the lock, since another thread may have met a limit while this one queued.
4. One HTTP exchange (`transport.py`); every request sent is counted in `ClientStats`, answered
   or not.
5. Rate-limit observation: the budget read back from the `x-ratelimit-*` headers and GraphQL's
   `rateLimit`, recorded in the Coordinator for every process, points counted, the listener told.
6. Failures: a limit answer blocks the token until GitHub's reset or `retry-after` (secondary
   limits back off exponentially across consecutive hits, counted through the coordinator when
   it can, and give up after `secondary_attempts`); a 401 invalidates the token and tries
   another; a transient failure (5xx, timeout, GraphQL "something went wrong") is retried with
   the policy's full-jitter backoff or GitHub's `retry-after` (docs.github.com: rest/guides/
   best-practices-for-using-the-rest-api#handle-rate-limit-errors-appropriately).
7. The answer is read: `read` may raise `AskAgain` when the answer came with errors worth asking
   again for (a PR page some nodes of which failed, a follow-up with errors): that is counted as
   a retry, backed off with the client's policy, and begins a new series of tries (perhaps of a
   smaller request), never merged as partial data.

Every wait goes through the Clock, so tests switch waiting off with `InstantClock`.

Size: over 400 lines because the steps above are one job: they share one request's state (its
tries, limit hits, rejected tokens) and one book of budgets and blocks, and the checks that turn
a GraphQL answer into a limit or an error (`check_graphql`) feed that book directly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

from .clock import Clock
from .coordination import Coordinator, SecondaryStreaks, next_send_at, token_key
from .errors import (
    BadCredentials,
    GitHubError,
    GraphQLFailed,
    NotFound,
    RateLimited,
    SecondaryRateLimited,
)
from .ratelimit import CostEstimates, RateLimitState, parse_retry_after, query_key
from .retry import AT_ONCE, Retry, RetryPolicy, retry_context
from .tokens import TokenSource
from .transport import HTTPAnswer, Transport, raise_for_status
from .values import ClientListener, ClientStats, GraphQLResponse, RequestInfo

__all__ = ["MAX_PRIMARY_WAITS", "AskAgain", "Checker", "Request", "Session"]

# One logger name for every record of the client, whichever of its modules writes it.
logger = logging.getLogger(__package__)

MAX_PRIMARY_WAITS = 3  # consecutive limit answers for one request before giving up

Checker = Callable[[HTTPAnswer, float], None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Request:
    """What to send: one HTTP request, the budget it spends, and how to check its answer."""

    kind: Literal["graphql", "rest"]
    method: str
    path: str
    resource: str  # the budget it spends: "graphql" or "core"
    estimate: int = 1  # points it is expected to cost
    json_body: Any = None
    params: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None
    check: Checker | None = None  # raises for an answer that is an error despite its status
    cost_key: str | None = None  # GraphQL: the document whose cost is remembered


class AskAgain(Exception):  # noqa: N818 -- a verdict on an answer, not a failure of ours
    """Raised by a reader: the answer came with errors worth asking again for.

    `failure` is raised when the client's policy has no tries left; `request` (when given)
    replaces what is sent next (e.g. only the nodes that failed).
    """

    def __init__(self, failure: GraphQLFailed, reason: str, request: Request | None = None):
        super().__init__(reason)
        self.failure = failure
        self.reason = reason
        self.request = request


@dataclass(slots=True)
class _Exchange:
    """One logical request across its tries: what is sent, and what its tries met."""

    request: Request
    tries: int = 0  # sends of the current series, limit answers included
    secondary_hits: int = 0
    limit_hits: int = 0
    asked_again: int = 0  # answers read as worth asking again for (never reset)
    rejected: set[str] = field(default_factory=set)  # token_keys GitHub answered 401
    token: str = ""
    key: str = ""
    answer: HTTPAnswer | None = None
    failure: GitHubError | None = None  # the last try's error, when its answer was one

    def new_series(self, request: Request) -> None:
        """A changed or repeated request after an answer with errors: its own series of tries."""
        self.request = request
        self.tries = self.secondary_hits = self.limit_hits = 0
        self.rejected = set()


class Session:
    """Tokens, budgets, locks, retries and stats around a Transport; see the module docstring."""

    def __init__(
        self,
        tokens: TokenSource,
        transport: Transport,
        *,
        retry: RetryPolicy,
        clock: Clock,
        on_limit: Literal["wait", "stop"],
        coordinator: Coordinator,
        listener: ClientListener | None,
    ) -> None:
        self.tokens = tokens
        self.transport = transport
        self.retry = retry
        self.clock = clock
        self.on_limit = on_limit
        self.coordinator = coordinator
        self.listener = listener
        self.tokens.bind(coordinator, clock)
        self.rate_limits: dict[str, RateLimitState] = {}
        self.stats = ClientStats()
        self._costs = CostEstimates()
        self._stats_lock = threading.Lock()
        self._streaks: SecondaryStreaks | None = (
            coordinator if isinstance(coordinator, SecondaryStreaks) else None
        )

    # ---- what to send ------------------------------------------------------------------------

    def graphql(
        self, url: str, query: str, variables: Mapping[str, Any], *, aliased: bool = False
    ) -> Request:
        """A GraphQL request, estimated at what the same document cost last time.

        `aliased`: the document asks about several repositories under aliases; a NOT_FOUND at
        one alias is that alias's answer, not the request's.
        """
        key = query_key(query)
        return Request(
            kind="graphql",
            method="POST",
            path=url,
            resource="graphql",
            estimate=self._costs.estimate(key),
            json_body={"query": query, "variables": dict(variables)},
            check=_check_aliased_graphql if aliased else check_graphql,
            cost_key=key,
        )

    # ---- the loop ----------------------------------------------------------------------------

    def send(
        self,
        request: Request,
        read: Callable[[HTTPAnswer], T],
        *,
        policy: RetryPolicy,
        repo: str | None,
    ) -> T:
        """Send `request` until an answer `read` accepts; return what `read` made of it.

        `policy` governs transient failures of the exchange; answers `read` asks again for go by
        the session's own policy. `repo` only names the repository in errors and events.
        """
        exchange = _Exchange(request)
        retries = retry_context(
            policy,
            self.wait,
            on=lambda error: self._verdict(error, exchange, policy, repo),
            on_retry=lambda _error, _seconds: self.count_retry(),
        )
        for attempt in retries:
            with attempt:
                return self._try(exchange, read, policy, repo)
        raise AssertionError("a retry context ends only after a try that returned")

    def _try(
        self,
        exchange: _Exchange,
        read: Callable[[HTTPAnswer], T],
        policy: RetryPolicy,
        repo: str | None,
    ) -> T:
        """One try: budget, lock, exchange, book-keeping; raise what the answer means."""
        request = exchange.request
        exchange.failure = None
        answer: HTTPAnswer | None = None
        error: GitHubError | None = None
        with self._turn(request, repo) as (token, key):
            exchange.token, exchange.key = token, key
            exchange.tries += 1
            self._count_request(request.kind)
            try:
                answer = self.transport.request(
                    request.method,
                    request.path,
                    token=token,
                    json_body=request.json_body,
                    params=request.params,
                    headers=request.headers,
                )
            except GitHubError as exc:  # TransportFailed: no answer at all
                error = exc
            else:
                error = self._after_answer(answer, key, request)
            if isinstance(error, RateLimited):
                self._block(error, key, policy, exchange)
        exchange.answer = answer
        self._notify_request(request, answer, key, repo, error)
        if error is not None:
            exchange.failure = error.for_repo(repo)
            raise error
        assert answer is not None
        self._clear_streak(key)
        return read(answer)

    def _verdict(
        self, error: BaseException, exchange: _Exchange, policy: RetryPolicy, repo: str | None
    ) -> Retry | None:
        """Whether (and after how long) the request is sent again after `error`."""
        if isinstance(error, AskAgain):
            exchange.asked_again += 1
            if exchange.asked_again >= self.retry.attempts:
                raise error.failure from None
            exchange.new_series(error.request or self._reestimated(exchange.request))
            return Retry(self.retry.backoff(exchange.asked_again - 1), error.reason)
        if exchange.failure is None or error is not exchange.failure:
            return None  # the budget wait's own verdict, or the reader's: raised as it is
        failure = exchange.failure
        request, key = exchange.request, exchange.key
        if isinstance(failure, SecondaryRateLimited):
            if self.on_limit == "stop":
                return None  # its retry_after is the policy's whole wait: re-queue for it
            if exchange.secondary_hits > policy.secondary_attempts:
                raise SecondaryRateLimited(
                    f"GitHub secondary rate limit persisted after {exchange.secondary_hits} "
                    f"tries (the last wait {failure.retry_after:.0f}s)",
                    retry_after=failure.retry_after,
                    resource=failure.resource,
                    repo=repo,
                ) from None
            return AT_ONCE  # the budget wait sits out the block `_block` recorded
        if isinstance(failure, RateLimited):
            if exchange.limit_hits > MAX_PRIMARY_WAITS:
                return None
            if self.on_limit == "stop" and not self._other_token_free(
                key, request.resource, request.estimate
            ):
                return None
            return AT_ONCE
        if isinstance(failure, BadCredentials):
            # By token string, not coordination key: a renewed App token shares its
            # installation's key but is a new token, worth one more try.
            exchange.rejected.add(token_key(exchange.token))
            self.tokens.invalidate(exchange.token)
            try:
                replacement = self.tokens.token_for(request.resource, request.estimate)
            except BadCredentials:
                raise failure from None
            return None if token_key(replacement) in exchange.rejected else AT_ONCE
        if not policy.should_retry(failure, exchange.tries):
            return None
        answer = exchange.answer
        hint = parse_retry_after(answer.headers, self.clock.now()) if answer else None
        delay = policy.delay_for(failure, exchange.tries - 1, hint)
        return Retry(delay, f"retrying after {_short(failure)}")

    def _reestimated(self, request: Request) -> Request:
        """`request` again, estimated at what its document cost the last time it was answered."""
        if request.cost_key is None:
            return request
        return replace(request, estimate=self._costs.estimate(request.cost_key))

    @contextmanager
    def _turn(self, request: Request, repo: str | None) -> Iterator[tuple[str, str]]:
        """Hold the lock of a token free to send `request`: (token, coordination key)."""
        while True:
            token = self.tokens.token_for(request.resource, request.estimate)
            key = self.tokens.key_for(token)
            self._await_budget(key, request.resource, request.estimate, repo)
            with self.coordinator.token_lock(key):
                # Another thread may have met a limit while we queued for the lock.
                now = self.clock.now()
                if self._free_at(key, request.resource, request.estimate, now) <= now:
                    yield token, key
                    return

    # ---- answers and budgets -----------------------------------------------------------------

    def _after_answer(self, answer: HTTPAnswer, key: str, request: Request) -> GitHubError | None:
        """Book-keep one answer (stats, budgets); return the error it means, if any."""
        now = self.clock.now()
        header_state = RateLimitState.from_headers(
            answer.headers, default_resource=request.resource
        )
        if header_state is not None:
            self._observe(key, header_state)
        try:
            raise_for_status(answer, now=now, resource=request.resource)
            if request.check is not None:
                request.check(answer, now)
        except GitHubError as exc:
            return exc
        if request.kind == "graphql":
            state = graphql_rate_limit(answer)
            if state is not None:
                self._observe(key, state)
                if request.cost_key is not None:
                    self._costs.record(request.cost_key, state.cost)
                with self._stats_lock:
                    self.stats.points_used += state.cost or 0
        return None

    def _observe(self, key: str, state: RateLimitState) -> None:
        self.rate_limits[state.resource] = state
        self.coordinator.record_budget(key, state.resource, state.remaining, state.reset_at)
        callback = getattr(self.listener, "on_rate_limit", None)
        if callback is not None:
            callback(state)

    def _block(
        self, error: RateLimited, key: str, policy: RetryPolicy, exchange: _Exchange
    ) -> None:
        """Record, under the token lock, until when nothing may be sent with this token."""
        now = self.clock.now()
        if isinstance(error, SecondaryRateLimited):
            exchange.secondary_hits += 1
            streak = exchange.secondary_hits
            if self._streaks is not None:
                # A streak outlives this request (a re-queued task is hit again); it is
                # forgotten when nothing more is heard of it for the longest wait there is.
                forget_at = now + policy.secondary_cap + policy.max_retry_after
                streak = max(streak, self._streaks.note_secondary_hit(key, forget_at))
            delay = policy.secondary_delay(error, streak, now)
            error.retry_after = delay
            self.coordinator.block_until(key, "secondary", now + delay)
        else:
            exchange.limit_hits += 1
            until = (error.reset_at or now + error.retry_after) + policy.reset_margin
            if error.retry_after and now + error.retry_after > until:
                until = now + error.retry_after
            self.coordinator.block_until(key, error.resource, until)
            self.coordinator.record_budget(key, error.resource, 0, until)

    def _clear_streak(self, key: str) -> None:
        """A request went through: the token's streak of secondary hits is over."""
        if self._streaks is not None:
            self._streaks.clear_secondary_hits(key)

    def _free_at(self, key: str, resource: str, cost: int, now: float) -> float:
        """When this token may next send a request of `cost` on `resource` (epoch seconds)."""
        # After a reset, the policy's margin (clock skew, rounding) before the first request.
        margin = self.retry.reset_margin
        return next_send_at(self.coordinator, key, resource, cost, now, margin=margin)

    def _other_token_free(self, key: str, resource: str, cost: int) -> bool:
        now = self.clock.now()
        for other in self.tokens.keys:
            if other != key and self._free_at(other, resource, cost, now) <= now:
                return True
        return False

    def _await_budget(self, key: str, resource: str, cost: int, repo: str | None) -> None:
        """Wait until this token may send (or raise RateLimited when on_limit="stop")."""
        while True:
            now = self.clock.now()
            free_at = self._free_at(key, resource, cost, now)
            if free_at <= now:
                return
            secondary = (self.coordinator.blocked_until(key, "secondary") or 0) >= free_at
            if self.on_limit == "stop" and secondary:
                # Told of by another request or process: re-queue, never sleep in a worker.
                raise SecondaryRateLimited(
                    "GitHub secondary rate limit in force",
                    retry_after=free_at - now,
                    resource=resource,
                    repo=repo,
                )
            if self.on_limit == "stop":
                raise RateLimited(
                    f"GitHub {resource} rate limit exhausted",
                    retry_after=free_at - now,
                    reset_at=free_at,
                    resource=resource,
                    repo=repo,
                )
            what = "secondary rate limit" if secondary else f"{resource} rate limit reset"
            self.wait(free_at - now, f"waiting for the {what}" + (f" ({repo})" if repo else ""))

    # ---- waits, stats, events ----------------------------------------------------------------

    def wait(self, seconds: float, reason: str) -> None:
        """Sleep through the clock in steps of at most a second, telling the listener."""
        if seconds <= 0:
            return
        logger.info("GitHub client waits %.1fs: %s", seconds, reason)
        callback = getattr(self.listener, "on_wait", None)
        end = self.clock.monotonic() + seconds
        while (left := end - self.clock.monotonic()) > 0:
            if callback is not None:
                callback(left, reason)
            self.clock.sleep(min(1.0, left))
        if callback is not None:
            callback(0.0, reason)
        with self._stats_lock:
            self.stats.waited_seconds += seconds

    def count_retry(self) -> None:
        with self._stats_lock:
            self.stats.retries += 1

    def count_not_modified(self) -> None:
        with self._stats_lock:
            self.stats.not_modified += 1

    def _count_request(self, kind: str) -> None:
        """One HTTP request sent (answered or not: a dropped one was sent too)."""
        with self._stats_lock:
            self.stats.requests += 1
            if kind == "graphql":
                self.stats.graphql_requests += 1
            else:
                self.stats.rest_requests += 1

    def _notify_request(
        self,
        request: Request,
        answer: HTTPAnswer | None,
        key: str,
        repo: str | None,
        error: GitHubError | None,
    ) -> None:
        callback = getattr(self.listener, "on_request", None)
        if callback is None:
            return
        cost = 0
        if answer is not None and request.kind == "graphql":
            state = graphql_rate_limit(answer)
            cost = (state.cost or 0) if state is not None else 0
        elif answer is not None and request.kind == "rest" and answer.status != 304:
            cost = 1
        callback(
            RequestInfo(
                kind=request.kind,
                method=request.method,
                path=request.path,
                status=answer.status if answer is not None else None,
                cost=cost,
                token_key=key,
                repo=repo,
                error=_short(error) if error is not None else None,
            )
        )


def graphql_response(answer: HTTPAnswer) -> GraphQLResponse:
    """A checked GraphQL answer as data, its errors (alongside partial data), cost and budget."""
    body = answer.body
    data = body.get("data") or {}
    errors = [e for e in (body.get("errors") or []) if isinstance(e, dict)]
    state = RateLimitState.from_graphql(data.get("rateLimit"))
    cost = state.cost if state is not None and state.cost is not None else 1
    return GraphQLResponse(data=data, errors=errors, cost=cost, rate_limit=state)


def check_graphql(answer: HTTPAnswer, now: float, *, aliased: bool = False) -> None:
    """Raise for GraphQL answers without usable data (limits, NOT_FOUND, failures)."""
    body = answer.body
    if not isinstance(body, Mapping):
        raise GraphQLFailed(
            [{"message": "GitHub sent no JSON object"}],
            retryable=True,
            detail="GitHub GraphQL answer unreadable",
        )
    errors = [e for e in (body.get("errors") or []) if isinstance(e, Mapping)]
    data = body.get("data")
    if any(e.get("type") == "RATE_LIMITED" for e in errors):
        # docs.github.com: the GraphQL primary limit answers 200 (or 403) with RATE_LIMITED.
        state = RateLimitState.from_headers(answer.headers, default_resource="graphql")
        hint = parse_retry_after(answer.headers, now)
        if state is not None and state.remaining == 0:
            raise RateLimited(
                "GitHub graphql rate limit exhausted",
                retry_after=hint if hint is not None else state.seconds_to_reset(now),
                reset_at=state.reset_at,
                resource="graphql",
            )
        raise SecondaryRateLimited(
            "GitHub GraphQL rate limit hit",
            retry_after=hint or 0.0,
            resource="graphql",
            hinted=hint is not None,
        )
    for error in errors:
        path = error.get("path") or []
        if error.get("type") == "NOT_FOUND" and len(path) <= (0 if aliased else 1):
            raise NotFound(str(error.get("message") or "not found"))
    if (
        aliased
        and errors
        and all(e.get("type") == "NOT_FOUND" and len(e.get("path") or []) == 1 for e in errors)
    ):
        return  # every repository asked about is unknown: each alias says so
    usable = isinstance(data, Mapping) and any(
        v is not None for k, v in data.items() if k != "rateLimit"
    )
    if errors and not usable:
        raise GraphQLFailed(errors)
    if not isinstance(data, Mapping):
        raise GraphQLFailed([{"message": "GitHub answered without data"}], retryable=True)


def _check_aliased_graphql(answer: HTTPAnswer, now: float) -> None:
    """`check_graphql` for a many-repository document: NOT_FOUND at an alias is an answer."""
    check_graphql(answer, now, aliased=True)


def graphql_rate_limit(answer: HTTPAnswer) -> RateLimitState | None:
    """The `rateLimit` a GraphQL answer carries in its data, None when it carries none."""
    data = answer.body.get("data") if isinstance(answer.body, Mapping) else None
    return RateLimitState.from_graphql(data.get("rateLimit") if isinstance(data, Mapping) else None)


def _short(error: GitHubError | None) -> str:
    """The error's class (and HTTP status) for wait reasons and listener events."""
    if error is None:
        return ""
    return type(error).__name__ + (f" {error.status}" if getattr(error, "status", None) else "")
