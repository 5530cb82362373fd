"""The readers' map name (SPEC.md) of GitHubGraphQLFetcher, now in `apps.metrics.pipeline.pages`."""

from apps.metrics.pipeline.pages import (
    FULL,
    INCREMENTAL,
    MAX_PAGE_SIZE,
    ChangeCheck,
    FetchCounters,
    GitHubGraphQLFetcher,
    PRPage,
    split_repo,
)

__all__ = [
    "ChangeCheck",
    "FULL",
    "FetchCounters",
    "GitHubGraphQLFetcher",
    "INCREMENTAL",
    "MAX_PAGE_SIZE",
    "PRPage",
    "split_repo",
]
