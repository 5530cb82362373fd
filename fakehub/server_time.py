"""How long GitHub takes to run a GraphQL query, modelled: time grows with the nodes it returns.

GitHub stops a request it has worked on for 10 seconds: "If GitHub takes more than 10 seconds
to process an API request, GitHub will terminate the request and you will receive a timeout
response" (docs.github.com: graphql/overview/rate-limits-and-query-limits-for-the-graphql-api
#timeouts). For GraphQL that answer is a 502 whose error reads "Something went wrong while
executing your query. This may be the result of a timeout" (fakehub's GRAPHQL_502), and since
2025 the timed-out query still counts against the primary limit (github.blog/changelog/
2025-07-21-including-timeouts-in-primary-rate-limits).

The model: a query that returns N nodes takes `base_ms + per_node_ms * N` milliseconds of
server time; past `limit_seconds` the answer is a 502, sent once `limit_seconds` have passed.
N counts what the answer actually holds (every object of every `nodes` / `edges` list), not
the worst case GitHub's node limit counts from `first` arguments: a page of light PRs is fast
whatever its `first`, a page of heavy PRs slow.

GitHub publishes no per-node figure; the defaults are assumptions, chosen so that a 25-PR page
of a typical history (about 15 nodes a PR: ~400 nodes, ~1 s) is fast and one of a heavy history
(~130 nodes a PR: ~3,300 nodes, ~7 s) nears the limit -- where the original system, which went
from 50 to 25 to 10 PRs a page for that reason, met it. `scale` multiplies every wait (0.05:
the 10 s limit passes in 0.5 s) so benchmarks stay quick; the figures fakehub counts
(`server_time_ms`, `server_timeouts` in /_fakehub/stats) are the unscaled, modelled ones.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

__all__ = ["ServerTime", "ServerTimeError", "parse_server_time", "returned_nodes"]


class ServerTimeError(ValueError):
    """A server-time option fakehub cannot use; one line."""


@dataclass(frozen=True, slots=True)
class ServerTime:
    base_ms: float = 250.0  # a query's fixed cost: parsing, authorisation, the first lookups
    per_node_ms: float = 2.0  # each node the answer returns
    limit_seconds: float = 10.0  # GitHub's timeout
    scale: float = 1.0  # real seconds slept per modelled second

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ServerTimeError(f"server time: {item.name} must be a number >= 0")
        if self.limit_seconds <= 0:
            raise ServerTimeError("server time: limit_seconds must be > 0")

    def seconds(self, nodes: int) -> float:
        """Modelled (unscaled) seconds GitHub works on a query returning `nodes` nodes."""
        return (self.base_ms + self.per_node_ms * max(0, nodes)) / 1000.0

    def times_out(self, nodes: int) -> bool:
        return self.seconds(nodes) > self.limit_seconds

    @classmethod
    def from_json(cls, data: Any) -> ServerTime:
        """From a dict of the fields above (missing ones take their defaults)."""
        if isinstance(data, ServerTime):
            return data
        if not isinstance(data, dict):
            raise ServerTimeError("server time: expected an object of base_ms, per_node_ms, ...")
        known = {item.name for item in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ServerTimeError(
                f"server time: unknown key(s) {', '.join(sorted(unknown))} "
                f"(known: {', '.join(sorted(known))})"
            )
        return cls(**data)


def parse_server_time(spec: str) -> ServerTime:
    """`on` (the defaults) or `KEY=VALUE,...` (e.g. `scale=0.05,per_node_ms=3`)."""
    spec = spec.strip()
    if spec in ("", "on", "default"):
        return ServerTime()
    values: dict[str, float] = {}
    for part in spec.split(","):
        key, sep, value = part.partition("=")
        if not sep:
            raise ServerTimeError(f"server time: expected KEY=VALUE, got {part.strip()!r}")
        try:
            values[key.strip()] = float(value)
        except ValueError:
            raise ServerTimeError(f"server time: {key.strip()} must be a number") from None
    return ServerTime.from_json(values)


def returned_nodes(value: Any) -> int:
    """Objects in every `nodes` / `edges` list of a GraphQL answer's data, at any depth."""
    count = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if key in ("nodes", "edges") and isinstance(child, list):
                    count += sum(1 for node in child if isinstance(node, dict))
                if isinstance(child, dict | list):
                    stack.append(child)
        elif isinstance(item, list):
            stack.extend(child for child in item if isinstance(child, dict | list))
    return count
