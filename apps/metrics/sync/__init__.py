"""Production sync; `apps.metrics.sync` is a readers' map name for its parts.

`run` syncs one repository, `round` many at once, `ci_repoll` re-polls PRs whose CI was running,
`locks` keeps two syncs of one repository apart, `github` builds the client from settings.
"""

from .ci_repoll import (
    REPOLL_BATCH,
    REPOLL_LIMIT,
    REPOLL_MAX_INTERVAL,
    REPOLL_MIN_INTERVAL,
    REPOLL_WINDOW,
    ci_repoll_due,
    due_ci_numbers,
    fetch_prs_by_number,
    repoll_pending_ci,
)
from .github import build_client, token_source_from_settings
from .locks import REPO_LOCK_TTL_SECONDS, RepositoryBusy, redis_connection, repository_lock
from .run import FAILURE_RETRY, SyncResult, rejected_note, sync_repository

__all__ = [
    "FAILURE_RETRY",
    "REPOLL_BATCH",
    "REPOLL_LIMIT",
    "REPOLL_MAX_INTERVAL",
    "REPOLL_MIN_INTERVAL",
    "REPOLL_WINDOW",
    "REPO_LOCK_TTL_SECONDS",
    "RepositoryBusy",
    "SyncResult",
    "build_client",
    "ci_repoll_due",
    "due_ci_numbers",
    "fetch_prs_by_number",
    "redis_connection",
    "rejected_note",
    "repoll_pending_ci",
    "repository_lock",
    "sync_repository",
    "token_source_from_settings",
]
