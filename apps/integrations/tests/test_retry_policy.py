"""RetryPolicy is data: which errors are retried, and how long each wait is."""

from __future__ import annotations

import random

import pytest

from apps.integrations.github.errors import (
    BadCredentials,
    Forbidden,
    GraphQLFailed,
    NotFound,
    RateLimited,
    SecondaryRateLimited,
    ServerError,
    TransportFailed,
)
from apps.integrations.github.retry import RetryPolicy


def test_backoff_uses_full_jitter_below_an_exponential_ceiling():
    policy = RetryPolicy(base=1.0, cap=8.0, rng=random.Random(7))
    for retry_number, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (4, 8.0), (9, 8.0)]:
        delays = [policy.backoff(retry_number) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        # Full jitter spreads over the whole range, not around the ceiling.
        assert min(delays) < ceiling * 0.2 and max(delays) > ceiling * 0.8


def test_transient_errors_are_retried_until_the_attempts_run_out():
    policy = RetryPolicy(attempts=3)
    for error in (ServerError(502), ServerError(503), ServerError(504), TransportFailed("x")):
        assert policy.should_retry(error, 1)
        assert policy.should_retry(error, 2)
        assert not policy.should_retry(error, 3)


def test_bad_credentials_not_found_forbidden_and_validation_errors_are_never_retried():
    policy = RetryPolicy(attempts=10)
    validation = GraphQLFailed(
        [{"message": "Field 'x' doesn't exist", "extensions": {"code": "undefinedField"}}]
    )
    for error in (BadCredentials(), NotFound(repo="a/b"), Forbidden(), validation):
        assert not policy.should_retry(error, 1)
    assert not GraphQLFailed(
        [{"type": "NOT_FOUND", "message": "x", "path": ["repository"]}]
    ).retryable
    assert GraphQLFailed([{"message": "Something went wrong while executing your query"}]).retryable


def test_a_retry_after_hint_wins_over_backoff():
    policy = RetryPolicy(rng=random.Random(1))
    assert policy.delay_for(ServerError(503), 0, hint=7.0) == 7.0
    assert 0.0 <= policy.delay_for(ServerError(503), 0, hint=None) <= 1.0


def test_limits_are_not_retried_by_the_transient_schedule():
    policy = RetryPolicy()
    assert not policy.should_retry(RateLimited(retry_after=5), 1)
    assert not policy.should_retry(SecondaryRateLimited(retry_after=5), 1)


def test_secondary_limit_waits_retry_after_when_given():
    policy = RetryPolicy()
    error = SecondaryRateLimited(retry_after=42)
    assert policy.secondary_delay(error, 1, now=1000.0) == 42


def test_secondary_limit_waits_until_the_reset_when_remaining_is_zero():
    policy = RetryPolicy(reset_margin=1.0)
    error = SecondaryRateLimited(retry_after=30, reset_at=1030.0)
    assert policy.secondary_delay(error, 1, now=1000.0) == 31.0


def test_secondary_limit_without_a_hint_waits_a_minute_then_doubles():
    policy = RetryPolicy(base=1.0, secondary_min_wait=60.0, secondary_cap=300.0)
    error = SecondaryRateLimited(retry_after=0, hinted=False)
    first, second, third, fifth = (policy.secondary_delay(error, n, 0.0) for n in (1, 2, 3, 5))
    assert 60.0 <= first <= 61.0
    assert 120.0 <= second <= 121.0
    assert 240.0 <= third <= 241.0
    assert 300.0 <= fifth <= 301.0


def test_without_retries_keeps_everything_but_the_attempts():
    policy = RetryPolicy(attempts=6, base=2.0, secondary_min_wait=5.0)
    single = policy.without_retries()
    assert single.attempts == 1 and single.base == 2.0 and single.secondary_min_wait == 5.0
    assert not single.should_retry(ServerError(502), 1)


def test_a_secondary_limit_hit_again_waits_longer_than_its_retry_after_each_time():
    # GitHub: wait retry-after; if the request keeps failing, wait exponentially longer.
    policy = RetryPolicy(secondary_cap=100.0)
    error = SecondaryRateLimited(retry_after=10)
    waits = [policy.secondary_delay(error, n, now=0.0) for n in (1, 2, 3, 4, 5)]
    assert waits == [10, 20, 40, 80, 100]


def test_a_retry_after_beyond_the_cap_is_still_waited_in_full():
    policy = RetryPolicy(secondary_cap=100.0)
    error = SecondaryRateLimited(retry_after=300)
    assert [policy.secondary_delay(error, n, now=0.0) for n in (1, 3)] == [300, 300]


def test_a_request_left_unanswered_waits_at_least_the_transport_floor_before_its_retry():
    policy = RetryPolicy(base=1.0, cap=8.0, transport_floor=0.5, rng=random.Random(3))
    unanswered = [policy.delay_for(TransportFailed("timed out"), 0) for _ in range(200)]
    answered = [policy.delay_for(ServerError(502), 0) for _ in range(200)]
    assert min(unanswered) == 0.5 and max(unanswered) <= 1.0
    # An answered 5xx ended on GitHub's side: full jitter from zero, no floor.
    assert min(answered) < 0.5


def test_the_transport_floor_never_exceeds_the_policys_cap():
    policy = RetryPolicy(base=0.01, cap=0.2, transport_floor=0.5)
    assert policy.delay_for(TransportFailed("dropped"), 0) == 0.2
    assert policy.without_retries().transport_floor == 0.5


def test_a_retry_context_retries_transient_errors_with_backoff_until_one_try_succeeds():
    from apps.integrations.github.retry import retry_context

    waits: list[tuple[float, str]] = []
    outcomes = [ServerError(503), TransportFailed("dropped"), "ok"]
    policy = RetryPolicy(attempts=5, base=1.0, transport_floor=0.5, rng=random.Random(3))
    tried = []
    for attempt in retry_context(policy, lambda s, reason: waits.append((s, reason))):
        with attempt:
            tried.append(attempt.number)
            outcome = outcomes.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
    assert tried == [1, 2, 3]
    assert [reason for _, reason in waits] == [
        "retrying after ServerError 503",
        "retrying after TransportFailed",
    ]
    assert 0.0 <= waits[0][0] <= 1.0  # the first retry's full-jitter window
    assert 0.5 <= waits[1][0] <= 2.0  # the second's, never below the transport floor


def test_a_retry_context_gives_up_after_the_policys_attempts_and_never_retries_limits():
    from apps.integrations.github.retry import retry_context

    policy = RetryPolicy(attempts=3, rng=random.Random(1))
    tries = 0
    try:
        for attempt in retry_context(policy, lambda s, reason: None):
            with attempt:
                tries += 1
                raise ServerError(502)
    except ServerError:
        pass
    assert tries == 3
    for error in (RateLimited(retry_after=5), NotFound(repo="a/b")):
        tries = 0
        try:
            for attempt in retry_context(policy, lambda s, reason: None):
                with attempt:
                    tries += 1
                    raise error
        except type(error):
            pass
        assert tries == 1


def test_a_restart_gives_the_changed_request_a_full_series_of_tries():
    from apps.integrations.github.retry import retry_context

    policy = RetryPolicy(attempts=2, rng=random.Random(1))
    retries = retry_context(policy, lambda s, reason: None)
    failures = [ServerError(503), ServerError(502), ServerError(503), ServerError(502), "ok"]
    tried = 0
    for attempt in retries:
        with attempt:
            tried += 1
            outcome = failures.pop(0)
            if isinstance(outcome, ServerError) and outcome.status == 502:
                retries.restart()  # e.g. a smaller page: its own two tries
            if isinstance(outcome, Exception):
                raise outcome
    # Two tries a series were never exceeded: 503, then 502 (restart), 503, 502 (restart), ok.
    assert tried == 5 and retries.tries == 5


def test_a_retry_context_with_an_on_hook_follows_its_verdicts():
    from apps.integrations.github.retry import AT_ONCE, Retry, retry_context

    verdicts = iter([AT_ONCE, Retry(2.5, "answered with errors"), None])
    waits: list[tuple[float, str]] = []
    retried: list[float] = []
    retries = retry_context(
        RetryPolicy(attempts=1),
        lambda s, reason: waits.append((s, reason)),
        on=lambda error: next(verdicts),
        on_retry=lambda error, seconds: retried.append(seconds),
    )
    with pytest.raises(ServerError):
        for attempt in retries:
            with attempt:
                raise ServerError(502)
    # At once: neither counted nor waited; a Retry: counted and waited; None: raised as it came.
    assert retries.tries == 3 and retried == [2.5] and waits == [(2.5, "answered with errors")]
