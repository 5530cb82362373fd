"""Reading GitHub's limit signals, translating status codes, and one-line error messages."""

from __future__ import annotations

import threading

import httpx
import pytest

from apps.integrations.github.clock import InstantClock
from apps.integrations.github.coordination import LocalCoordinator, token_key
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
from apps.integrations.github.ratelimit import CostEstimates, RateLimitState, parse_retry_after
from apps.integrations.github.tokens import StaticToken, TokenPool, as_token_source
from apps.integrations.github.transport import HTTPAnswer, raise_for_status

NOW = 1_700_000_000.0


def _answer(status: int, headers: dict[str, str] | None = None, body=None) -> HTTPAnswer:
    import json

    return HTTPAnswer(
        status=status,
        headers=httpx.Headers(headers or {}),
        body=body,
        text=json.dumps(body) if body is not None else "",
        url="https://api.github.com/graphql",
    )


def test_headers_become_a_rate_limit_state():
    state = RateLimitState.from_headers(
        httpx.Headers(
            {
                "X-RateLimit-Limit": "5000",
                "X-RateLimit-Remaining": "4990",
                "X-RateLimit-Used": "10",
                "X-RateLimit-Reset": "1700003600",
                "X-RateLimit-Resource": "graphql",
            }
        )
    )
    assert state == RateLimitState("graphql", 5000, 4990, 10, 1700003600.0)
    assert state.seconds_to_reset(1700003000.0) == 600.0
    assert RateLimitState.from_headers(httpx.Headers({})) is None


def test_the_graphql_rate_limit_object_becomes_a_state_with_its_cost():
    state = RateLimitState.from_graphql(
        {"cost": 2, "remaining": 4998, "resetAt": "2023-11-14T23:13:20Z", "limit": 5000, "used": 2}
    )
    assert state is not None
    assert (state.resource, state.cost, state.remaining, state.reset_at) == (
        "graphql",
        2,
        4998,
        1_700_003_600.0,
    )
    assert RateLimitState.from_graphql(None) is None


def test_retry_after_reads_seconds_and_http_dates():
    assert parse_retry_after(httpx.Headers({"Retry-After": "30"}), NOW) == 30.0
    assert (
        parse_retry_after(httpx.Headers({"Retry-After": "Tue, 14 Nov 2023 22:14:20 GMT"}), NOW)
        == 60.0
    )
    assert parse_retry_after(httpx.Headers({}), NOW) is None
    assert parse_retry_after(httpx.Headers({"Retry-After": "soon"}), NOW) is None


def test_cost_estimates_remember_the_last_cost_of_each_query():
    costs = CostEstimates()
    assert costs.estimate("q") == 1
    costs.record("q", 3)
    assert costs.estimate("q") == 3


def test_status_codes_become_the_error_tree():
    cases = [
        (_answer(401, body={"message": "Bad credentials"}), BadCredentials),
        (_answer(404, body={"message": "Not Found"}), NotFound),
        (_answer(502), ServerError),
        (_answer(503), ServerError),
        (_answer(422, body={"message": "Validation Failed"}), GraphQLFailed),
        (_answer(403, body={"message": "Resource not accessible by integration"}), Forbidden),
    ]
    for answer, error_type in cases:
        with pytest.raises(error_type):
            raise_for_status(answer, now=NOW)
    raise_for_status(_answer(200, body={}), now=NOW)
    raise_for_status(_answer(304), now=NOW)


def test_a_403_with_retry_after_is_a_secondary_limit_with_that_wait():
    answer = _answer(
        403,
        {"Retry-After": "17", "X-RateLimit-Remaining": "4000", "X-RateLimit-Reset": str(int(NOW))},
        {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."},
    )
    with pytest.raises(SecondaryRateLimited) as caught:
        raise_for_status(answer, now=NOW)
    assert caught.value.retry_after == 17 and caught.value.hinted and caught.value.retryable


def test_a_secondary_limit_without_any_hint_says_so():
    answer = _answer(403, {}, {"message": "You have exceeded a secondary rate limit."})
    with pytest.raises(SecondaryRateLimited) as caught:
        raise_for_status(answer, now=NOW)
    assert not caught.value.hinted


def test_a_403_with_remaining_zero_is_the_primary_limit_until_the_reset():
    answer = _answer(
        403,
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 120)},
        {"message": "API rate limit exceeded for user ID 1."},
    )
    with pytest.raises(RateLimited) as caught:
        raise_for_status(answer, now=NOW)
    assert type(caught.value) is RateLimited
    assert caught.value.retry_after == 120 and caught.value.reset_at == NOW + 120


def test_a_429_is_always_a_limit():
    with pytest.raises(SecondaryRateLimited):
        raise_for_status(_answer(429), now=NOW)


def test_error_messages_are_one_line_naming_the_repository_and_what_to_do():
    not_found = NotFound("GitHub answered 404\nfor something").for_repo("acme/rocket")
    assert str(not_found).startswith(
        "repository acme/rocket not found or not visible to this token"
    )
    bad = BadCredentials().for_repo("acme/rocket")
    assert "GITHUB_TOKEN" in str(bad) and "GITHUB_SEEDING_TOKENS" in str(bad)
    unreachable = TransportFailed("GitHub unreachable at http://127.0.0.1:9/graphql")
    assert "GitHub unreachable at http://127.0.0.1:9/graphql" in str(unreachable)
    for error in (
        not_found,
        bad,
        unreachable,
        ServerError(502).for_repo("a/b"),
        RateLimited(retry_after=61, repo="a/b"),
        GraphQLFailed([{"message": "x\ny"}]),
    ):
        assert "\n" not in str(error)


def test_a_token_is_known_only_by_its_key():
    secret = "ghp_" + "s3cr3t" * 6
    key = token_key(secret)
    assert len(key) == 16 and secret not in key
    assert secret not in repr(StaticToken(secret))
    assert secret not in repr(TokenPool([secret, secret + "2"]))
    with pytest.raises(BadCredentials):
        StaticToken("  ")


def test_as_token_source_accepts_a_string_a_list_and_a_source():
    assert isinstance(as_token_source("a"), StaticToken)
    assert isinstance(as_token_source(["a"]), StaticToken)
    assert isinstance(as_token_source(["a", "b"]), TokenPool)
    pool = TokenPool(["a", "b"])
    assert as_token_source(pool) is pool


def test_a_pool_prefers_the_token_with_most_remaining_and_skips_dry_ones():
    clock = InstantClock(start=NOW)
    coordinator = LocalCoordinator()
    pool = TokenPool(["t1", "t2", "t3"], coordinator=coordinator, clock=clock)
    for tok, remaining in (("t1", 10), ("t2", 400), ("t3", 50)):
        coordinator.record_budget(token_key(tok), "graphql", remaining, NOW + 600)
    assert pool.token_for("graphql", 2) == "t2"
    coordinator.record_budget(token_key("t2"), "graphql", 0, NOW + 600)
    assert pool.token_for("graphql", 2) == "t3"
    assert pool.key == token_key("t3")
    coordinator.block_until(token_key("t3"), "graphql", NOW + 100)
    assert pool.token_for("graphql", 2) == "t1"


def test_a_pool_of_dry_tokens_hands_out_the_one_that_resets_first():
    clock = InstantClock(start=NOW)
    coordinator = LocalCoordinator()
    pool = TokenPool(["t1", "t2"], coordinator=coordinator, clock=clock)
    coordinator.record_budget(token_key("t1"), "graphql", 0, NOW + 900)
    coordinator.record_budget(token_key("t2"), "graphql", 1, NOW + 300)
    assert pool.token_for("graphql", 2) == "t2"
    clock.advance(301)  # t2's window has reset: it counts as full again
    assert pool.token_for("graphql", 2) == "t2"


def test_a_pool_drops_rejected_tokens_and_says_when_none_is_left():
    pool = TokenPool(["t1", "t2"])
    pool.invalidate("t1")
    assert pool.token() == "t2"
    pool.invalidate("t2")
    with pytest.raises(BadCredentials):
        pool.token()


def test_the_local_coordinator_serialises_one_token_and_keeps_blocks_moving_later():
    coordinator = LocalCoordinator()
    in_flight = 0
    peak = 0
    guard = threading.Lock()

    def worker() -> None:
        nonlocal in_flight, peak
        for _ in range(50):
            with coordinator.token_lock("k"):
                with guard:
                    in_flight += 1
                    peak = max(peak, in_flight)
                with guard:
                    in_flight -= 1

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 1
    coordinator.block_until("k", "graphql", 200.0)
    coordinator.block_until("k", "graphql", 100.0)
    assert coordinator.blocked_until("k", "graphql") == 200.0
    assert coordinator.budget("k", "graphql") is None


def test_the_instant_clock_records_sleeps_without_sleeping():
    clock = InstantClock(start=NOW)
    clock.sleep(60)
    clock.sleep(0.5)
    assert clock.sleeps == [60, 0.5] and clock.slept == 60.5
    assert clock.now() == NOW + 60.5 and clock.monotonic() == 60.5
