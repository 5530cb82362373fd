"""A repository renamed or transferred on GitHub: its tracking, its rows and its seeding cache
follow it to the new name.

GitHub keeps answering a renamed repository under its former name: REST with "301 Moved
Permanently" to the new location (docs.github.com/rest/using-the-rest-api/best-practices-for-
using-the-rest-api#follow-redirects), GraphQL's `repository(owner:, name:)` by following the
rename and reporting the new `nameWithOwner` (docs.github.com/graphql/reference/queries#
repository, `followRenames`). Rows are keyed by the name the team tracks, so once the change
check learns the new name, everything keyed by the former one moves: the TrackedRepository, the
PR rows (`github_repo`) in one transaction, and the seeding cache file (written under the new
name before that transaction, the former file dropped after it; removed again if it fails).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from django.db import transaction

from apps.metrics.models import PullRequest, Team, TrackedRepository
from apps.metrics.seeding.cache import PRCache, get_cache_path

logger = logging.getLogger(__name__)

__all__ = ["follow_rename"]


def follow_rename(
    team: Team | None,
    old: str,
    new: str,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    tracked: TrackedRepository | None = None,
    log: Callable[[str], None] | None = None,
) -> TrackedRepository | None:
    """Move `team`'s repository `old` to `new`; return the TrackedRepository named `new` now.

    `tracked` (the row for `old`, when the caller holds it) is renamed in place. When the team
    already tracks `new` too, that row stays, the rows of `old` that it also holds are dropped
    as duplicates (the same PRs), the others join it, and the row for `old` is deleted. A
    difference in case only is no rename (GitHub's names are case-insensitive). Says what moved
    in one line through `log`.
    """
    if new.lower() == old.lower():
        return tracked
    say = log or logger.warning
    cache_moved = _write_cache_under(old, new, cache_dir)
    try:
        with transaction.atomic():
            result, prs, merged = _move_rows(team, old, new, tracked)
    except BaseException:
        if cache_moved and cache_dir is not None:
            get_cache_path(new, cache_dir).unlink(missing_ok=True)
        raise
    if cache_moved and cache_dir is not None:
        PRCache.delete(old, cache_dir)  # and the partial pages of a walk under the former name
    moved = []
    if result is not None:
        moved.append("its tracking" if not merged else f"its tracking (merged into {new})")
    if prs or result is not None:
        moved.append(f"{prs:,} PR row{'s' if prs != 1 else ''}")
    if cache_moved:
        moved.append("its seeding cache")
    what = f"moved {', '.join(moved)} to the new name" if moved else "using the new name"
    say(f"{old} was renamed to {new} on GitHub: {what}")
    return result


def _move_rows(
    team: Team | None, old: str, new: str, tracked: TrackedRepository | None
) -> tuple[TrackedRepository | None, int, bool]:
    """(the row tracking `new`, PR rows moved, whether two tracked rows were merged)."""
    if team is None:
        return None, 0, False
    if tracked is None:
        tracked = TrackedRepository.objects.filter(team=team, full_name=old).first()
    target = (
        TrackedRepository.objects.filter(team=team, full_name__iexact=new)
        .exclude(pk=tracked.pk if tracked is not None else None)
        .first()
    )
    new_name = target.full_name if target is not None else new
    rows = PullRequest.objects.filter(team=team, github_repo=old)
    held = PullRequest.objects.filter(team=team, github_repo=new_name).values("github_pr_id")
    rows.filter(github_pr_id__in=held).delete()  # the same PRs, already stored under `new`
    prs = rows.update(github_repo=new_name)
    if target is not None:
        if tracked is not None:
            TrackedRepository.objects.filter(pk=tracked.pk).delete()
        return target, prs, tracked is not None
    if tracked is not None:
        tracked.record_sync(full_name=new)
    return tracked, prs, False


def _write_cache_under(old: str, new: str, cache_dir: str | os.PathLike[str] | None) -> bool:
    """Write `old`'s seeding cache as `new`'s (every PR re-keyed); False when there is none."""
    if cache_dir is None or not Path(get_cache_path(old, cache_dir)).is_file():
        return False
    cache = PRCache.load(old, cache_dir)
    if cache is None:
        return False
    prs = [replace(pr, repo_full_name=new) for pr in cache.iter_prs()]
    cache.repo = new
    cache.prs = prs
    cache.save(cache_dir)
    return True
