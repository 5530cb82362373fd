"""The fault suite: 20+ seeded random fault schedules, each seed ending exactly like an undisturbed one.

Every schedule mixes GitHub's failure modes as fakehub injects them: 5xx answers, slow answers
(past a short client timeout), dropped connections, secondary limits with and without
`retry-after`, primary exhaustion with a seconds-long reset, partial GraphQL errors and heavy
pages answered 502. The seed must end with the database exactly equal to an undisturbed seed of
the same fakehub, never send while it was told to wait (`requests_while_limited == 0`), and
never have two requests of one token in flight (`max_in_flight_per_token == 1`).

Time: fakehub and the client share one InstantClock, so a 60 s secondary-limit wait or a rate
limit reset passes instantly for both; only slow answers cost real (sub-second) time. A request
the client gave up on (timeout) is retried after the policy's transport floor -- virtual here --
and its next request never overlaps the abandoned one because the client hangs up first: fakehub
counts an abandoned request as landed once its client's connection is closed. No real pause
is needed.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from apps.integrations.github.clock import InstantClock
from apps.metrics.tests.seed_support import fast_retry, make_client, seed, snapshot

REPOS = [("acme/rocket", 70, 11), ("acme/engine", 45, 12)]
SCHEDULES = 22
SLOW_TIMEOUT = 1.0  # the client's timeout in faulty runs
SLOW_ANSWER = 1.1  # a slow answer: just past the timeout


class Waits:
    """The client's listener: the length of each wait it starts, with its reason."""

    def __init__(self) -> None:
        self.started: list[tuple[float, str]] = []
        self._waiting = False

    def on_wait(self, seconds: float, reason: str) -> None:
        # The client reports a wait's full length, then its countdown, then 0.0 at its end.
        if seconds > 0 and not self._waiting:
            self.started.append((seconds, reason))
        self._waiting = seconds > 0


def schedule(seed_value: int) -> dict[str, Any]:
    """A random, reproducible mix of 3 to 5 fault kinds."""
    rng = random.Random(seed_value)
    makers = [
        lambda: {
            "fault": "status",
            "status": rng.choice([500, 502, 503, 504]),
            "probability": rng.uniform(0.05, 0.2),
        },
        lambda: {"fault": "slow", "seconds": SLOW_ANSWER, "every": rng.randint(12, 20)},
        lambda: {"fault": "drop", "probability": rng.uniform(0.03, 0.1)},
        lambda: {
            "fault": "secondary_limit",
            "status": rng.choice([403, 429]),
            "retry_after": rng.randint(1, 5),
            "every": rng.randint(5, 11),
        },
        lambda: {
            "fault": "secondary_limit",
            "status": rng.choice([403, 429]),
            "every": rng.randint(7, 13),
        },
        lambda: {"fault": "primary_exhaustion", "after_points": rng.randint(4, 12)},
        lambda: {"fault": "partial_errors", "probability": rng.uniform(0.1, 0.4)},
        # A PR asks for up to 480 nested nodes (queries.CONNECTIONS): an incremental page of
        # one PR plus its look-ahead (963 nodes) must still fit the smallest limit.
        lambda: {"fault": "heavy_page_502", "max_nodes": rng.choice([1000, 1500, 2300])},
    ]
    chosen = rng.sample(makers, rng.randint(3, 5))
    return {"seed": seed_value, "rules": [make() for make in chosen]}


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("seed_value", range(1, SCHEDULES + 1))
def test_a_seed_under_random_faults_ends_exactly_like_an_undisturbed_one(
    seed_value, fakehub_factory, tmp_path
):
    clock = InstantClock()
    hub = fakehub_factory(synthetic=REPOS, clock=clock.now, reset_seconds=3)
    repos = [name for name, _, _ in REPOS]
    seed(make_client(hub.url, clock=clock), repos, team_slug="clean", cache_dir=tmp_path / "a")
    profile = schedule(seed_value)
    hub.faults(profile)
    hub.set_limits(reset_seconds=3)  # fresh windows; a primary exhaustion resets in 3 s
    hub.reset_stats()

    waits = Waits()
    policy = fast_retry(seed_value, attempts=8)
    client = make_client(hub.url, clock=clock, retry=policy, timeout=SLOW_TIMEOUT, listener=waits)
    results = seed(client, repos, team_slug="faulty", cache_dir=tmp_path / "b")

    stats = hub.stats()
    assert all(r.completed for r in results), profile
    assert snapshot("faulty") == snapshot("clean"), profile
    assert stats["requests_while_limited"] == 0, profile
    assert stats["max_in_flight_per_token"] == 1, profile
    # A retry after an unanswered request waited at least the floor (on the virtual clock).
    floor = min(policy.transport_floor, policy.cap)
    after_no_answer = [s for s, reason in waits.started if "TransportFailed" in reason]
    # (The listener hears `end - now` on the clock: allow for float rounding of epoch seconds.)
    assert all(s >= floor - 1e-6 for s in after_no_answer), profile
