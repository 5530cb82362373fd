"""What a seed reports: each repository's result, and the progress a display is told.

`RepoSeedResult` is what seeding one repository did and cost; `SeedProgress` is what a progress
display hears while it happens (the command draws rich bars; tests pass None).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from apps.metrics.pipeline.fetched import FetchedPRFull
from apps.metrics.pipeline.pages import PRPage
from apps.metrics.pipeline.writer import SaveStats

logger = logging.getLogger(__name__)


class SeedProgress(Protocol):
    """What a progress display is told (the command draws rich bars; tests pass None)."""

    def start_repo(self, repo: str, *, resumed: bool, mode: str | None) -> None: ...

    def page(self, repo: str, page: PRPage, stats: SaveStats) -> None: ...

    def finish_repo(self, result: RepoSeedResult) -> None: ...

    def message(self, text: str) -> None: ...


@dataclass
class RepoSeedResult:
    """What seeding one repository did and cost."""

    repo: str
    source: str = ""  # "unchanged" | "cache" | "full" | "incremental" | "resumed" | "not_found"
    completed: bool = False
    interrupted: bool = False
    prs: int = 0  # PRs fetched from GitHub or written from the cache
    pages: int = 0
    stats: SaveStats = field(default_factory=SaveStats)
    requests: int = 0
    graphql_requests: int = 0
    points: int = 0
    error: str = ""
    # Why the repository has no PR stored after a completed seed (one line), else "".
    empty_reason: str = ""
    # A full walk stopped by --days-back: when the newest PR it left out was created.
    cut_created_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.completed and not self.error


class CollectingProgress:
    """A SeedProgress keeping every written page's PRs (the seeder's `fetch_prs_with_details`
    returns them when no cache holds them), and telling `inner` (the display, if any) the rest."""

    def __init__(self, inner: SeedProgress | None) -> None:
        self.inner = inner
        self.prs: list[FetchedPRFull] = []

    def start_repo(self, repo: str, *, resumed: bool, mode: str | None) -> None:
        if self.inner is not None:
            self.inner.start_repo(repo, resumed=resumed, mode=mode)

    def page(self, repo: str, page: PRPage, stats: SaveStats) -> None:
        self.prs.extend(page.prs)
        if self.inner is not None:
            self.inner.page(repo, page, stats)

    def finish_repo(self, result: RepoSeedResult) -> None:
        if self.inner is not None:
            self.inner.finish_repo(result)

    def message(self, text: str) -> None:
        if self.inner is not None:
            self.inner.message(text)
        else:
            logger.warning(text)


__all__ = ["CollectingProgress", "RepoSeedResult", "SeedProgress"]
