"""One retry policy, as data, used by every request of the client.

Transient failures (502/503/504, 500, timeouts, dropped connections, GraphQL "something went
wrong") are retried with exponential backoff and FULL jitter: the n-th retry waits
`random.uniform(0, min(cap, base * 2**n))` seconds, or GitHub's `retry-after` when it gives one
(docs.github.com: rest/guides/best-practices-for-using-the-rest-api#handle-rate-limit-errors-appropriately).
Never retried: 401, 403 without a limit, 404 / NOT_FOUND, and validation errors.

A request that got no answer at all (timeout, dropped connection: `TransportFailed`) waits at
least `transport_floor` before it is sent again, whatever the jitter drew: GitHub may still be
running the abandoned request (a timed-out GraphQL query keeps running on its side for up to its
own 10 s execution limit), and an immediate retry would be a second concurrent request of the
token -- what GitHub's best practices ask integrations not to send ("make requests serially")
and what its secondary limits punish. Half a second covers a request abandoned while GitHub was
about to answer; a longer tail is covered by the exponential backoff of further retries.

Secondary rate limits have their own schedule (docs.github.com: rest/using-the-rest-api/
rate-limits-for-the-rest-api#exceeding-the-rate-limit): `retry-after` when given, else until
`x-ratelimit-reset` when `x-ratelimit-remaining` is 0, else at least `secondary_min_wait` (60 s);
"if your request continues to fail due to a secondary rate limit, wait for an exponentially
increasing amount of time between retries, and throw an error after a specific number of
retries": each further consecutive hit doubles the wait (a `retry-after` hint included, never
below the hint), up to `secondary_cap`, and `secondary_attempts` hits of one request give up.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from types import TracebackType

from .errors import GitHubError, RateLimited, SecondaryRateLimited, TransportFailed

__all__ = ["AT_ONCE", "Attempt", "Retry", "RetryContext", "RetryPolicy", "Verdict", "retry_context"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long the client retries; pure data plus the arithmetic on it."""

    attempts: int = 5  # total tries of one request for transient errors (1 = no retry)
    base: float = 1.0  # seconds; the first retry waits up to `base`
    cap: float = 60.0  # no single backoff longer than this
    secondary_min_wait: float = 60.0  # GitHub: wait at least a minute when it names no time
    secondary_cap: float = 15 * 60.0
    secondary_attempts: int = 5  # tries after which a secondary limit is given up on
    transport_floor: float = 0.5  # least wait after no answer at all (see the module docstring)
    reset_margin: float = 1.0  # seconds added after a reset time (clock skew, rounding)
    max_retry_after: float = 3600.0 + 60.0  # never trust a hint longer than an hour's window
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, retry_number: int) -> float:
        """Full-jitter delay before retry `retry_number` (0 for the first retry)."""
        ceiling = min(self.cap, self.base * (2 ** max(0, retry_number)))
        return self.rng.uniform(0.0, ceiling)

    def should_retry(self, error: GitHubError, tries_so_far: int) -> bool:
        """May a request that failed with `error` after `tries_so_far` tries be sent again?"""
        if isinstance(error, RateLimited):
            return False  # limits have their own schedule (secondary_delay / reset waits)
        return error.retryable and tries_so_far < self.attempts

    def delay_for(self, error: GitHubError, retry_number: int, hint: float | None = None) -> float:
        """Delay before the next try of a transient failure: GitHub's hint wins over backoff."""
        if hint is not None and hint > 0:
            return min(hint, self.max_retry_after)
        delay = self.backoff(retry_number)
        if isinstance(error, TransportFailed):
            # Never overlap the abandoned request; the floor never exceeds the policy's cap.
            delay = max(delay, min(self.transport_floor, self.cap))
        return delay

    def secondary_delay(self, error: SecondaryRateLimited, hit_number: int, now: float) -> float:
        """Wait after the `hit_number`-th consecutive secondary limit (1 for the first).

        GitHub's hint first (the reset when remaining is 0, else retry-after, doubling on each
        further hit but never below the hint); without one, at least `secondary_min_wait`,
        doubling on each further hit, plus a little jitter. Growth stops at `secondary_cap`.
        """
        doubling = 2 ** max(0, hit_number - 1)
        if error.hinted and error.reset_at is not None:
            return min(max(0.0, error.reset_at - now) + self.reset_margin, self.max_retry_after)
        if error.hinted:
            hint = min(error.retry_after, self.max_retry_after)
            return max(hint, min(self.secondary_cap, hint * doubling))
        grown = self.secondary_min_wait * doubling
        return min(self.secondary_cap, grown) + self.rng.uniform(0.0, self.base)

    def without_retries(self) -> RetryPolicy:
        """The same policy with transient retries switched off (limits still waited for)."""
        return replace(self, attempts=1)


Wait = Callable[[float, str], None]


@dataclass(frozen=True, slots=True)
class Retry:
    """A caller's verdict on one failed try: send again after `seconds`, waited for `reason`.

    `counted=False`: no retry proper (nothing counted, nothing waited here): the next try
    waits for what it needs itself (a rate-limit reset the caller has recorded).
    """

    seconds: float = 0.0
    reason: str = ""
    counted: bool = True


AT_ONCE = Retry(counted=False)

# An `on` hook of a RetryContext: the verdict on a failed try, None to let the error through.
Verdict = Callable[[BaseException], Retry | None]


class Attempt:
    """One try of a `RetryContext`: a context manager that hands a retryable error to it."""

    def __init__(self, context: RetryContext, number: int) -> None:
        self._context = context
        self.number = number  # 1 for the first try of the context (whatever restarts)

    def __enter__(self) -> Attempt:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if error is None:
            self._context.done = True
            return False
        return self._context.failed(error)


class RetryContext:
    """Retries in the style of stamina's `retry_context`, on the project's RetryPolicy and clock::

        retries = retry_context(policy, wait=session.wait)
        for attempt in retries:
            with attempt:
                ...  # an error the policy retries is swallowed, waited for, and tried again

    The loop ends after the first try that raises nothing; an error the policy does not retry
    (a limit, a permanent error), or one more than `policy.attempts` consecutive failures, leaves
    the `with` block as it came. Waits are the policy's full-jitter backoff (`delay_for`: at least
    the transport floor after no answer at all), spent through `wait(seconds, reason)`.

    `restart()` begins a new series of tries: a caller that changed what it sends (a smaller
    page after a timeout) calls it before re-raising, so the next failure counts as the first
    of the new request and waits the first backoff.

    `on` (as stamina's `on=`) replaces the policy's rule for a caller whose errors need more
    than it knows (rate limits, rejected tokens, answers with errors): it returns the `Retry`
    to make, or None to let the error through, and may raise another error instead.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        wait: Wait,
        *,
        on_retry: Callable[[BaseException, float], None] | None = None,
        on: Verdict | None = None,
    ) -> None:
        self.policy = policy
        self._wait = wait
        self._on_retry = on_retry
        self._on = on
        self.done = False
        self.tries = 0  # every try, across restarts
        self.failures = 0  # consecutive failures of the current series
        self._restarted = False

    def __iter__(self) -> Iterator[Attempt]:
        while not self.done:
            self.tries += 1
            yield Attempt(self, self.tries)

    def restart(self) -> None:
        """The error about to be raised ends this series: the changed request is tried next,
        after the first backoff, with a full series of tries of its own."""
        self._restarted = True

    def failed(self, error: BaseException) -> bool:
        """Count a failed try; wait and return True when it is to be tried again."""
        if self._on is not None:
            verdict = self._on(error)
            if verdict is None:
                return False
            if verdict.counted:
                if self._on_retry is not None:
                    self._on_retry(error, verdict.seconds)
                self._wait(verdict.seconds, verdict.reason)
            return True
        restarted, self._restarted = self._restarted, False
        if not isinstance(error, GitHubError):
            return False
        if restarted:
            self.failures = 0
            if isinstance(error, RateLimited) or not error.retryable:
                return False
        else:
            self.failures += 1
            if not self.policy.should_retry(error, self.failures):
                return False
        delay = self.policy.delay_for(error, max(0, self.failures - 1))
        if self._on_retry is not None:
            self._on_retry(error, delay)
        name = type(error).__name__ + (f" {error.status}" if getattr(error, "status", None) else "")
        self._wait(delay, f"retrying after {name}")
        return True


def retry_context(
    policy: RetryPolicy,
    wait: Wait,
    *,
    on_retry: Callable[[BaseException, float], None] | None = None,
    on: Verdict | None = None,
) -> RetryContext:
    """A `RetryContext` (see there): `for attempt in retry_context(...): with attempt: ...`."""
    return RetryContext(policy, wait, on_retry=on_retry, on=on)
