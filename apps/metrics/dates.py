"""Dates in and out of JSON: GitHub's timestamps, the cache's and the checkpoint's.

Every datetime of ours is aware UTC. GitHub writes ISO 8601 with a trailing "Z" (docs.github.com:
rest/overview/resources-in-the-rest-api#timezones); we write `datetime.isoformat()`.
"""

from __future__ import annotations

from datetime import UTC, datetime


def parse_github_datetime(value: str | datetime | None) -> datetime | None:
    """An ISO 8601 timestamp (GitHub's or ours) as an aware UTC datetime; None for None or "".

    A value without an offset is taken as UTC (GitHub always sends one; old files may not).
    """
    if not value:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_github_iso(value: datetime | None) -> str | None:
    """`value` as ISO 8601 text (what `parse_github_datetime` reads back); None stays None."""
    return value.isoformat() if value is not None else None


__all__ = ["parse_github_datetime", "to_github_iso"]
