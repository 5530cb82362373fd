"""Fault profiles: which requests fail, and how, deterministically under a seed.

A profile is JSON: `{"seed": 7, "rules": [{"fault": "status", "status": 502, "probability":
0.05}, {"fault": "slow", "seconds": 120, "every": 40}, ...]}`. A rule fires on every Nth
matching request (`every`), with a probability drawn from the profile's seeded generator
(`probability`), or on every matching request when it has neither; `path` restricts it to
requests whose path starts with that prefix. Faults:

- `status`: answer `status` (502, 503, 504...) with GitHub's body, no point spent;
- `slow`: sleep `seconds` before answering; when the client hangs up meanwhile (its timeout),
  the request is abandoned, as GitHub would see it: no answer, and no longer in flight;
  interrupted when the server stops;
- `drop`: close the connection without a response (the request lands first, so an immediate
  retry is not counted as a second request in flight);
- `secondary_limit`: 403 or 429 "You have exceeded a secondary rate limit", with `retry-after`
  when the rule gives `retry_after`;
- `primary_exhaustion`: once a token has spent `after_points` in its window, the rest of that
  window is spent (the next answers are primary rate-limit answers until the reset);
- `partial_errors` (GraphQL): one PR node's field nulled, with an `errors` entry at its path;
- `heavy_page_502` (GraphQL): 502 for a query whose node count exceeds `max_nodes`;
- `field_forbidden` (GraphQL): a permission the token lacks, every time: in each PR node of an
  answer, the field at `field` (a dotted path, e.g. `statusCheckRollup`) is nulled and an error
  of type `type` (`FORBIDDEN`, the default, or `INSUFFICIENT_SCOPES`) names its path, as GitHub
  answers an App installation without the permission (HTTP 200, the rest of the data kept).
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FaultProfile", "FaultProfileError", "FaultRule", "load_profile"]

KINDS = frozenset(
    {
        "status",
        "slow",
        "drop",
        "secondary_limit",
        "primary_exhaustion",
        "partial_errors",
        "heavy_page_502",
        "field_forbidden",
    }
)
# Faults decided before a request is served; the others depend on the GraphQL document/result.
REQUEST_KINDS = frozenset({"status", "slow", "drop", "secondary_limit", "primary_exhaustion"})


class FaultProfileError(ValueError):
    """A profile fakehub cannot use; one line naming the rule at fault."""


@dataclass
class FaultRule:
    """One rule of a profile, with its own count of matching requests."""

    fault: str
    probability: float | None = None
    every: int | None = None
    path: str | None = None
    status: int | None = None
    seconds: float = 0.0
    retry_after: int | None = None
    after_points: int = 0
    max_nodes: int = 0
    field: str = ""
    error_type: str = "FORBIDDEN"
    matched: int = 0

    def applies_to(self, path: str) -> bool:
        return self.path is None or path.startswith(self.path)


def _number(rule: dict[str, Any], key: str, where: str, *, minimum: float, integer: bool) -> Any:
    value = rule[key]
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < minimum:
        kind = "an integer" if integer else "a number"
        raise FaultProfileError(f"{where}: {key} must be {kind} >= {minimum}, got {value!r}")
    return value


def _rule(raw: Any, index: int) -> FaultRule:
    where = f"rules[{index}]"
    if not isinstance(raw, dict):
        raise FaultProfileError(f"{where}: a rule must be a JSON object")
    kind = raw.get("fault")
    if kind not in KINDS:
        raise FaultProfileError(
            f"{where}: fault must be one of {', '.join(sorted(KINDS))}, got {kind!r}"
        )
    rule = FaultRule(fault=kind)
    if "probability" in raw:
        rule.probability = float(_number(raw, "probability", where, minimum=0, integer=False))
        if rule.probability > 1:
            raise FaultProfileError(f"{where}: probability must be between 0 and 1")
    if "every" in raw:
        rule.every = _number(raw, "every", where, minimum=1, integer=True)
    if "path" in raw:
        if not isinstance(raw["path"], str) or not raw["path"].startswith("/"):
            raise FaultProfileError(f"{where}: path must be a string starting with /")
        rule.path = raw["path"]
    if kind == "status":
        rule.status = (
            _number(raw, "status", where, minimum=400, integer=True) if "status" in raw else 502
        )
    elif kind == "secondary_limit":
        rule.status = raw.get("status", 403)
        if rule.status not in (403, 429):
            raise FaultProfileError(f"{where}: a secondary limit answers 403 or 429")
        if raw.get("retry_after") is not None:
            rule.retry_after = _number(raw, "retry_after", where, minimum=0, integer=True)
    elif kind == "slow":
        if "seconds" not in raw:
            raise FaultProfileError(f"{where}: a slow rule needs seconds")
        rule.seconds = float(_number(raw, "seconds", where, minimum=0, integer=False))
    elif kind == "primary_exhaustion":
        if "after_points" not in raw:
            raise FaultProfileError(f"{where}: primary_exhaustion needs after_points")
        rule.after_points = _number(raw, "after_points", where, minimum=0, integer=True)
    elif kind == "field_forbidden":
        field = raw.get("field")
        if not isinstance(field, str) or not all(part.isidentifier() for part in field.split(".")):
            raise FaultProfileError(f"{where}: field_forbidden needs a field path like a.b")
        rule.field = field
        rule.error_type = raw.get("type", "FORBIDDEN")
        if rule.error_type not in ("FORBIDDEN", "INSUFFICIENT_SCOPES"):
            raise FaultProfileError(f"{where}: type must be FORBIDDEN or INSUFFICIENT_SCOPES")
    elif kind == "heavy_page_502":
        if "max_nodes" not in raw:
            raise FaultProfileError(f"{where}: heavy_page_502 needs max_nodes")
        rule.max_nodes = _number(raw, "max_nodes", where, minimum=1, integer=True)
    return rule


class FaultProfile:
    """Parsed rules plus the seeded generator; `fire()` decides per request, thread-safely."""

    def __init__(self, seed: int = 0, rules: list[FaultRule] | None = None) -> None:
        self.seed = seed
        self.rules = rules or []
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    @classmethod
    def from_json(cls, data: Any) -> FaultProfile:
        """Parse a profile (a dict, as in the module docstring); FaultProfileError when bad."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise FaultProfileError("a fault profile must be a JSON object with rules")
        seed = data.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise FaultProfileError(f"seed must be an integer, got {seed!r}")
        rules = data.get("rules", [])
        if not isinstance(rules, list):
            raise FaultProfileError("rules must be a list")
        unknown = set(data) - {"seed", "rules"}
        if unknown:
            raise FaultProfileError(
                f"unknown key(s) in fault profile: {', '.join(sorted(unknown))}"
            )
        return cls(seed, [_rule(raw, index) for index, raw in enumerate(rules)])

    def fire(self, rule: FaultRule) -> bool:
        """Count this matching request for `rule` and say whether the rule fires on it."""
        with self._lock:
            rule.matched += 1
            if rule.every is not None:
                return rule.matched % rule.every == 0
            if rule.probability is not None:
                return self._random.random() < rule.probability
            return True

    def matching(self, kinds: frozenset[str], path: str) -> list[FaultRule]:
        """Rules of these kinds that apply to `path`, in profile order."""
        return [rule for rule in self.rules if rule.fault in kinds and rule.applies_to(path)]


def load_profile(path: str | Path) -> FaultProfile:
    """Read a profile file; FaultProfileError (one line) when unreadable or invalid."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise FaultProfileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FaultProfileError(f"{path}: invalid JSON: {exc}") from None
    try:
        return FaultProfile.from_json(data)
    except FaultProfileError as exc:
        raise FaultProfileError(f"{path}: {exc}") from None
