"""What fakehub blames a client for: `max_in_flight_per_token` counts only requests the client
still waits for (a dropped or abandoned request is not in flight), and
`requests_while_limited` counts only requests sent inside a limit window the client was told of.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from fakehub.tests.conftest import TOKEN

PATH = "/repos/acme/rocket"
HEADERS = {"Authorization": f"token {TOKEN}"}


def wait_for(condition: Any, what: str, deadline_polls: int = 1000) -> None:
    """Poll `condition()` every 20 ms until true; fail naming `what` after ~20 s."""
    for _ in range(deadline_polls):
        if condition():
            return
        threading.Event().wait(0.02)
    pytest.fail(f"fakehub never got there: {what}")


def test_a_client_retrying_after_its_timeout_on_a_slow_answer_has_one_request_in_flight(
    fakehub_factory,
):
    # Every second request sleeps for an hour; the client gives up after 0.3 s and retries
    # at once on a fresh connection, while the abandoned handler is still sleeping.
    hub = fakehub_factory(
        synthetic=["acme/rocket:2"],
        faults={"rules": [{"fault": "slow", "seconds": 3600, "every": 2}]},
    )
    rounds = 5
    with httpx.Client(base_url=hub.url, headers=HEADERS, timeout=60) as http:
        for _ in range(rounds):
            assert http.get(PATH).status_code == 200
            with pytest.raises(httpx.ReadTimeout):
                http.get(PATH, timeout=0.3)
        assert http.get(PATH).status_code == 200
    stats = hub.stats()
    assert stats["faults_injected"] == rounds
    assert stats["max_in_flight_per_token"] == 1
    # The abandoned handlers stop sleeping once they see the hang-up (499, no answer sent).
    wait_for(lambda: hub.stats()["statuses"].get("499") == rounds, "abandoned requests end")


def test_a_client_retrying_at_once_after_a_dropped_connection_has_one_request_in_flight(
    fakehub_factory,
):
    hub = fakehub_factory(
        synthetic=["acme/rocket:2"], faults={"rules": [{"fault": "drop", "every": 2}]}
    )
    with httpx.Client(base_url=hub.url, headers=HEADERS, timeout=60) as http:
        assert http.get(PATH).status_code == 200
        for _ in range(50):
            with pytest.raises(httpx.TransportError):
                http.get(PATH)
            assert http.get(PATH).status_code == 200
    stats = hub.stats()
    assert stats["faults_injected"] == 50
    assert stats["max_in_flight_per_token"] == 1


def test_genuinely_concurrent_requests_of_one_token_are_two_in_flight(fakehub_factory):
    # The first request sleeps (its client still waiting) while the second is served.
    hub = fakehub_factory(
        synthetic=["acme/rocket:2"],
        faults={"rules": [{"fault": "slow", "seconds": 3600, "path": PATH}]},
    )
    outcome: list[object] = []

    def sleeper() -> None:
        try:
            httpx.get(hub.url + PATH, headers=HEADERS, timeout=900)
        except httpx.TransportError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=sleeper)
    thread.start()
    try:
        wait_for(lambda: hub.stats()["faults_injected"] == 1, "the first request sleeps")
        assert httpx.get(hub.url + "/rate_limit", headers=HEADERS).status_code == 200
        assert hub.stats()["max_in_flight_per_token"] == 2
    finally:
        hub.server.stop()
        thread.join(timeout=60)
    assert outcome and not thread.is_alive()


def test_concurrent_requests_under_latency_are_counted_together(fakehub_factory):
    hub = fakehub_factory(synthetic=["acme/rocket:2"], latency_ms=300)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def call() -> None:
        barrier.wait()
        statuses.append(httpx.get(hub.url + PATH, headers=HEADERS, timeout=60).status_code)

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200, 200]
    assert hub.stats()["max_in_flight_per_token"] == 2


def test_a_request_before_any_limit_answer_is_not_counted_as_sent_while_limited(
    fakehub_factory, api_for, clock
):
    # primary_exhaustion spends the window silently; the client learns of it only from the
    # next answer, so that request was not sent while limited, the one after it was.
    hub = fakehub_factory(
        synthetic=["acme/rocket:2"],
        faults={"rules": [{"fault": "primary_exhaustion", "after_points": 1}]},
        clock=clock,
    )
    api = api_for(hub)
    assert api.get(PATH).status_code == 200
    limited = api.get(PATH)
    assert limited.status_code == 403
    assert hub.stats()["requests_while_limited"] == 0
    api.get(PATH)
    assert hub.stats()["requests_while_limited"] == 1


def test_after_a_primary_limit_requests_count_as_limited_until_the_announced_reset(
    fakehub_factory, api_for, clock
):
    hub = fakehub_factory(synthetic=["acme/rocket:2"], core_requests=1, clock=clock)
    api = api_for(hub)
    assert api.get(PATH).status_code == 200
    limited = api.get(PATH)
    assert limited.status_code == 403
    reset = int(limited.headers["x-ratelimit-reset"])
    clock.now = reset - 1
    assert api.get(PATH).status_code == 403
    assert hub.stats()["requests_while_limited"] == 1
    clock.now = reset
    assert api.get(PATH).status_code == 200
    assert hub.stats()["requests_while_limited"] == 1


def test_a_primary_limit_on_one_resource_does_not_limit_the_other(fakehub_factory, api_for, clock):
    hub = fakehub_factory(synthetic=["acme/rocket:2"], core_requests=1, clock=clock)
    api = api_for(hub)
    api.get(PATH)
    assert api.get(PATH).status_code == 403
    assert api.graphql("{ rateLimit { remaining } }").status_code == 200
    assert hub.stats()["requests_while_limited"] == 0


def test_a_secondary_limit_without_retry_after_counts_requests_for_sixty_seconds(
    fakehub_factory, api_for, clock
):
    hub = fakehub_factory(synthetic=["acme/rocket:2"], clock=clock)
    api = api_for(hub)
    hub.faults({"rules": [{"fault": "secondary_limit", "status": 429, "every": 1}]})
    assert api.get(PATH).status_code == 429
    hub.faults({})
    clock.advance(59)
    api.graphql("{ rateLimit { remaining } }")  # secondary limits cover every resource
    assert hub.stats()["requests_while_limited"] == 1
    clock.advance(1)
    api.get(PATH)
    assert hub.stats()["requests_while_limited"] == 1


def test_another_token_is_not_limited_by_a_limit_answer_to_the_first(
    fakehub_factory, api_for, clock
):
    hub = fakehub_factory(synthetic=["acme/rocket:2"], clock=clock)
    first, second = api_for(hub, "token-one"), api_for(hub, "token-two")
    hub.faults({"rules": [{"fault": "secondary_limit", "retry_after": 30, "every": 1}]})
    assert first.get(PATH).status_code == 403
    hub.faults({})
    assert second.get(PATH).status_code == 200
    assert hub.stats()["requests_while_limited"] == 0
