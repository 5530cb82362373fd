"""PR fields GitHub refuses a token, remembered per repository and warned about once.

A token without a permission gets every PR with that field refused (`FetchedPRFull.unavailable`,
see `apps/integrations/github/field_errors.py`). The data it would give is
stored as unknown (no rows; `ci_passed` None), the repository syncs on, and the user is told
once, naming the permission to grant. `TrackedRepository.unavailable_fields` remembers what was
told, so later rounds stay quiet; a field is forgotten when a PR comes back with its data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from apps.integrations.github.field_errors import permission_for
from apps.metrics.models import TrackedRepository
from apps.metrics.pipeline.fetched import FetchedPRFull

__all__ = ["refused_message", "refused_updates"]

logger = logging.getLogger(__name__)

# What a PR field gives, to see that GitHub answered it again (the permission was granted).
_HAS_DATA: dict[str, Callable[[FetchedPRFull], bool]] = {
    "statusCheckRollup": lambda pr: bool(pr.check_runs or pr.status_contexts),
    "closingIssuesReferences": lambda pr: bool(pr.linked_issues),
    "reviewRequests": lambda pr: bool(pr.review_requests),
    "commits": lambda pr: bool(pr.commits),
}


def refused_message(repo: str, field: str) -> str:
    """The one line telling what GitHub refused and what to grant."""
    return (
        f"{repo}: GitHub refuses this token the pull requests' {field}: grant {permission_for(field)}"
        f"; until then it is stored as unknown (not retried)"
    )


def refused_updates(
    tracked: TrackedRepository,
    prs: Iterable[FetchedPRFull],
    log: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """TrackedRepository updates (for `save_page`) after these PRs; warns of new refusals.

    Returns `{"unavailable_fields": [...]}` when the set changes, else `{}`.
    """
    prs = list(prs)
    known = set(tracked.unavailable_fields or ())
    refused = {field for pr in prs for field in pr.unavailable}
    answered = {
        field
        for field, has_data in _HAS_DATA.items()
        if any(field not in pr.unavailable and has_data(pr) for pr in prs)
    }
    now = (known | refused) - (answered - refused)
    if now == known:
        return {}
    say = log or logger.warning
    for field in sorted(refused - known):
        say(refused_message(tracked.full_name, field))
    return {"unavailable_fields": sorted(now)}
