"""The fault suite: 20+ seeded random fault schedules, each seed ending exactly like an undisturbed one.

Every schedule mixes GitHub's failure modes as fakehub injects them: 5xx answers, slow answers
(past a short client timeout), dropped connections, secondary limits with and without
`retry-after`, primary exhaustion with a seconds-long reset, partial GraphQL errors and heavy
pages answered 502. The seed must end with the database exactly equal to an undisturbed seed of
the same fakehub, never send while it was told to wait (`requests_while_limited == 0`), and
never have two requests of one token in flight (`max_in_flight_per_token == 1`).

Time: fakehub and the client share one InstantClock, so a 60 s secondary-limit wait or a rate
limit reset passes instantly for both; only slow answers cost real (sub-second) time.
"""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from apps.integrations.services.clock import InstantClock
from apps.metrics.tests.seed_support import fast_retry, make_client, seed, snapshot

REPOS = [("acme/rocket", 70, 11), ("acme/engine", 45, 12)]
SCHEDULES = 22
SLOW_TIMEOUT = 1.0  # the client's timeout in faulty runs
SLOW_ANSWER = 1.1  # a slow answer: just past the timeout
REAL_PAUSE = 0.5  # real seconds the wait after an unanswered request takes on the test clock


class PausingClock(InstantClock):
    """The instant test clock, except that the wait after an unanswered request is also real.

    A request the client gave up on (timeout) is still being answered by fakehub for a moment,
    as a timed-out query may still run on GitHub's side. The client always backs off before
    sending again; on this clock that first backoff also pauses for real, so the token's next
    request never overlaps the abandoned one. Every other wait stays virtual: fakehub reads
    this clock too, so secondary-limit waits and rate-limit resets pass instantly for both.
    The clock hears of unanswered requests as the client's listener (`on_request`).
    """

    def __init__(self) -> None:
        super().__init__()
        self.unanswered = False

    def on_request(self, info: Any) -> None:
        if info.status is None:
            self.unanswered = True

    def sleep(self, seconds: float) -> None:
        if self.unanswered and seconds > 0:
            self.unanswered = False
            time.sleep(REAL_PAUSE)
        super().sleep(seconds)


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
        lambda: {"fault": "heavy_page_502", "max_nodes": rng.choice([800, 1200, 1800])},
    ]
    chosen = rng.sample(makers, rng.randint(3, 5))
    return {"seed": seed_value, "rules": [make() for make in chosen]}


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("seed_value", range(1, SCHEDULES + 1))
def test_a_seed_under_random_faults_ends_exactly_like_an_undisturbed_one(
    seed_value, fakehub_factory, tmp_path
):
    clock = PausingClock()
    hub = fakehub_factory(synthetic=REPOS, clock=clock.now, reset_seconds=3)
    repos = [name for name, _, _ in REPOS]
    seed(make_client(hub.url, clock=clock), repos, team_slug="clean", cache_dir=tmp_path / "a")
    profile = schedule(seed_value)
    hub.faults(profile)
    hub.set_limits(reset_seconds=3)  # fresh windows; a primary exhaustion resets in 3 s
    hub.reset_stats()

    client = make_client(
        hub.url,
        clock=clock,
        retry=fast_retry(seed_value, attempts=8),
        timeout=SLOW_TIMEOUT,
        listener=clock,
    )
    results = seed(client, repos, team_slug="faulty", cache_dir=tmp_path / "b")

    stats = hub.stats()
    assert all(r.completed for r in results), profile
    assert snapshot("faulty") == snapshot("clean"), profile
    assert stats["requests_while_limited"] == 0, profile
    assert stats["max_in_flight_per_token"] == 1, profile
