"""What clients spent: request and point counters, in total and per token hash; the request log.

Tokens are only ever seen here as `token_hash(token)` (sha256, first 16 hex chars).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

__all__ = ["COUNTERS", "Accounting", "Flight", "RequestLog", "token_hash"]

COUNTERS = (
    "requests",
    "graphql_requests",
    "rest_requests",
    "not_modified",
    "graphql_points",
    "rest_points",
    "rate_limited_responses",
    "requests_while_limited",
    "faults_injected",
    "server_time_ms",  # modelled GitHub time of GraphQL queries (server_time.py), unscaled
    "server_timeouts",  # queries past the modelled limit, answered 502
    "answer_ms",  # API requests' time from arrival to answer (emulated latency included)
)

# GitHub: without a retry-after, wait at least one minute after a secondary limit.
SECONDARY_DEFAULT_SECONDS = 60.0


def token_hash(token: str) -> str:
    """The only form of a token fakehub keeps: sha256 hex, first 16 characters."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class Flight:
    """One request of a token being served; it counts as in flight until `land()` (idempotent).

    `gone` says, without blocking, whether the client has hung up: a request its client
    abandoned (a timeout, then a retry) is no longer in flight, as GitHub would see it.
    """

    __slots__ = ("_accounting", "gone", "token")

    def __init__(self, accounting: Accounting, token: str, gone: Callable[[], bool] | None) -> None:
        self._accounting = accounting
        self.token = token
        self.gone = gone

    def land(self) -> None:
        """The request stops counting as in flight (its answer is about to be sent, or none)."""
        self._accounting.end(self)


class Accounting:
    """Thread-safe counters; knows which tokens are inside a limit window they were told of."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter (limit windows clients were told of are kept)."""
        with self._lock:
            self._totals: Counter[str] = Counter()
            self._per_token: dict[str, Counter[str]] = {}
            self._max_in_flight: Counter[str] = Counter()
            self._statuses: Counter[int] = Counter()
            # Requests being served now stay in flight across a reset: they still are.
            if not hasattr(self, "_flights"):
                self._flights: dict[str, set[Flight]] = {}
            if not hasattr(self, "_limited_until"):
                self._limited_until: dict[tuple[str, str], float] = {}

    def add(self, token: str | None, **counts: int) -> None:
        """Add to the totals and to the token's counters."""
        with self._lock:
            self._totals.update(counts)
            if token is not None:
                self._per_token.setdefault(token, Counter()).update(counts)

    def status(self, status: int) -> None:
        with self._lock:
            self._statuses[status] += 1

    def begin(self, token: str, gone: Callable[[], bool] | None = None) -> Flight:
        """A request of `token` starts being served; `land()` the returned flight when done.

        The token's other flights whose client has hung up land first: a client that timed
        out and closed its connection before retrying has one request in flight, not two,
        even when fakehub has not yet noticed the hang-up on the abandoned request's thread.
        """
        flight = Flight(self, token, gone)
        with self._lock:
            flights = self._flights.setdefault(token, set())
            for other in list(flights):
                if other.gone is not None and other.gone():
                    flights.discard(other)
            flights.add(flight)
            self._max_in_flight[token] = max(self._max_in_flight[token], len(flights))
        return flight

    def end(self, flight: Flight) -> None:
        """`flight` is no longer in flight; ending it again does nothing."""
        with self._lock:
            flights = self._flights.get(flight.token)
            if flights is not None:
                flights.discard(flight)

    def note_limited(self, token: str, scope: str, until: float) -> None:
        """The token was answered with a limit; until `until` its requests count as limited.

        `scope` is a resource ("core", "graphql") for primary limits, "secondary" for secondary
        ones (which apply to every resource).
        """
        with self._lock:
            key = (token, scope)
            self._limited_until[key] = max(self._limited_until.get(key, 0.0), until)

    def check_limited(self, token: str, resource: str) -> bool:
        """Whether a request of `token` for `resource` arrives inside a window it was told of."""
        now = self.clock()
        with self._lock:
            return any(
                now < self._limited_until.get((token, scope), 0.0)
                for scope in (resource, "secondary")
            )

    def clear_limits(self) -> None:
        with self._lock:
            self._limited_until.clear()

    def snapshot(self) -> dict[str, Any]:
        """The stats document of GET /_fakehub/stats."""
        with self._lock:
            out: dict[str, Any] = {name: self._totals[name] for name in COUNTERS}
            out["max_in_flight_per_token"] = max(self._max_in_flight.values(), default=0)
            out["statuses"] = {str(k): v for k, v in sorted(self._statuses.items())}
            per_token: dict[str, Any] = {}
            for token in sorted(set(self._per_token) | set(self._max_in_flight)):
                counts = self._per_token.get(token, Counter())
                entry: dict[str, Any] = {name: counts[name] for name in COUNTERS}
                entry["max_in_flight"] = self._max_in_flight[token]
                per_token[token] = entry
            out["per_token"] = per_token
            return out


class RequestLog:
    """Appends one JSON line per request to a file (never a token, only its hash)."""

    def __init__(self, path: str | Path) -> None:
        self._lock = threading.Lock()
        self._file: TextIO = Path(path).open("a", encoding="utf-8")  # noqa: SIM115 - kept open

    def write(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            if not self._file.closed:
                self._file.write(line + "\n")
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
