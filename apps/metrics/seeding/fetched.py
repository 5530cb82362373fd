"""The readers' map name (SPEC.md) of FetchedPRFull and its parts, now in `apps.metrics.pipeline.fetched`."""

from apps.metrics.pipeline.fetched import (
    FetchedCheckRun,
    FetchedCommit,
    FetchedFile,
    FetchedPRFull,
    FetchedReview,
    FetchedStatusContext,
    FetchedTimelineEvent,
    FetchedUser,
)

__all__ = [
    "FetchedCheckRun",
    "FetchedCommit",
    "FetchedFile",
    "FetchedPRFull",
    "FetchedReview",
    "FetchedStatusContext",
    "FetchedTimelineEvent",
    "FetchedUser",
]
