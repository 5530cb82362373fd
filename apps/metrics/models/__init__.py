"""The metrics models: import them from here (`from apps.metrics.models import PullRequest`)."""

from apps.metrics.models.github import (
    Commit,
    PRCheckRun,
    PRFile,
    PRReview,
    PRStatusContext,
    PRTimelineEvent,
    PullRequest,
)
from apps.metrics.models.sync import TrackedRepository
from apps.metrics.models.team import Team, TeamMember

__all__ = [
    "Commit",
    "PRCheckRun",
    "PRFile",
    "PRReview",
    "PRTimelineEvent",
    "PRStatusContext",
    "PullRequest",
    "Team",
    "TeamMember",
    "TrackedRepository",
]
