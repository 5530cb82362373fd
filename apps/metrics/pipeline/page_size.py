"""The page-size search: the largest PR page GitHub answers, found page by page.

GitHub stops a query after 10 s and answers 502 "Something went wrong while executing your
query. This may be the result of a timeout" (docs.github.com: graphql/overview/rate-limits-
and-query-limits-for-the-graphql-api#timeouts): an expensive page does not fit, a smaller one
does. A page answered so (or timing out on our side) is asked for again at half the size, down
to 1; after good pages the size grows back by doubling, but only half-way towards a size that
failed (a binary search for the largest page GitHub answers), never above the cap. Other
transient faults (503, 500, dropped connections) say nothing about the page's size: the caller
retries those at the same size.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.integrations.github.errors import GitHubError, ServerError, TransportFailed

# Consecutive good pages before a shrunken page size doubles again.
GROW_AFTER = 2
# Good pages after which a failed size is tried again.
FORGET_FAILURE_AFTER = 10


def page_too_heavy(exc: GitHubError) -> bool:
    """502/504 and timeouts on a PR page: GitHub's sign that the page is too expensive.

    503, 500 and a dropped connection say nothing about the page's size: retried as they are.
    """
    if isinstance(exc, TransportFailed):
        return exc.timed_out
    return isinstance(exc, ServerError) and exc.status in (502, 504)


@dataclass
class PageSizeSearch:
    """Where the search stands during one walk: the size to ask for and what it has learnt."""

    size: int  # the size the next page asks for
    max_size: int
    good_streak: int = 0  # good pages since the size last changed
    failed_at: int | None = None  # the smallest size that recently failed: grow below it
    since_failure: int = 0
    answered_at: int = 0  # the largest size answered since the last heavy-page signal

    def too_heavy(self, want: int) -> int:
        """A page of `want` PRs was too heavy: the smaller size to ask for instead (halved)."""
        if want > self.answered_at:
            self.failed_at = want if self.failed_at is None else min(self.failed_at, want)
        else:
            # A size already answered failed (a 502 may be a hiccup): shrink all the same but
            # keep the ceiling; a second failure at this size, with no answer between, lowers it.
            self.answered_at = want - 1
        self.size = max(1, want // 2)
        self.good_streak = self.since_failure = 0
        return self.size

    def answered(self) -> int:
        """A page at `size` came back: the size the page after it tries."""
        self.good_streak += 1
        self.since_failure += 1
        self.answered_at = max(self.answered_at, self.size)
        if self.failed_at is not None and self.since_failure >= FORGET_FAILURE_AFTER:
            self.failed_at = None  # the heavy stretch may be over: allow full growth again
        if self.size >= self.max_size or self.good_streak < GROW_AFTER:
            return self.size
        target = self.size * 2 if self.failed_at is None else (self.size + self.failed_at) // 2
        self.good_streak = 0
        return max(self.size, min(self.max_size, target))


__all__ = ["FORGET_FAILURE_AFTER", "GROW_AFTER", "PageSizeSearch", "page_too_heavy"]
