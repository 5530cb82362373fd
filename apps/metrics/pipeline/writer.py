"""The only code that writes PR rows: seeding and production sync both save through here.

Size: over 400 lines for one job, the one writer of PR rows: members, PRs and six kinds of child
rows upserted in bounded queries.

`save_pull_requests()` writes a page of fetched PRs in one transaction and a bounded number of
queries, whatever the page holds (bulk upserts, no per-row saves):

1. team members: every account seen (authors, merged_by, reviewers, commit authors, assignees;
   "ghost" and bots included) is created if new, and filled in if we learnt more about it;
2. pull requests: upserted by (team, github_repo, github_pr_id), per-PR metrics computed here;
3. children (reviews, commits, files, check runs, timeline events, status contexts): upserted by their GitHub keys, and the rows
   of these PRs that GitHub no longer reports (a file gone after a force-push, a commit
   squashed away, a check run replaced) are deleted;
4. `on_commit()`, inside the same transaction, so a checkpoint is stored with its rows or not
   at all.

Saving the same PRs twice changes no row except `PullRequest.synced_at` (the time of the write)
and creates nothing. Nothing here fetches.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    connection,
    models,
    transaction,
)
from django.utils import timezone

from apps.integrations.github.lock_holder import process_holder
from apps.metrics.models import (
    Commit,
    PRCheckRun,
    PRFile,
    PRReview,
    PRStatusContext,
    PRTimelineEvent,
    PullRequest,
    Team,
    TeamMember,
    TrackedRepository,
)
from apps.metrics.pipeline.fetched import FetchedPRFull, FetchedUser
from apps.metrics.pipeline.sanitise import sanitise, sanitise_logged
from apps.metrics.pr_metrics import METRIC_FIELDS, metrics_for_fetched

logger = logging.getLogger(__name__)

# Rows per statement. SQLite allows 32,766 bound parameters (since 3.32) and Django batches by
# its own limit anyway; this keeps single statements and their memory moderate.
BATCH_SIZE = 500
# Keys per `IN (...)` lookup.
LOOKUP_CHUNK = 500

PR_UPDATE_FIELDS: tuple[str, ...] = (
    "github_node_id",
    "url",
    "title",
    "body",
    "state",
    "is_draft",
    "author",
    "merged_by",
    "pr_created_at",
    "pr_updated_at",
    "merged_at",
    "closed_at",
    "additions",
    "deletions",
    "changed_files",
    "commits_count",
    "comments_count",
    "head_ref",
    "base_ref",
    "labels",
    "milestone_title",
    "assignees",
    "review_requests",
    "linked_issues",
    "review_threads_count",
    "review_threads_resolved_count",
    "total_comments_count",
    "files_complete",
    "commits_complete",
    *METRIC_FIELDS,
    "synced_at",
)


@dataclass(slots=True)
class SaveStats:
    """What one save wrote: PRs created / updated, child rows written, members created."""

    prs_created: int = 0
    prs_updated: int = 0
    reviews: int = 0
    commits: int = 0
    files: int = 0
    check_runs: int = 0
    members_created: int = 0
    timeline_events: int = 0
    # "owner/name#N: why" of each PR the database refused (the rest of its page is written).
    rejected: tuple[str, ...] = field(default=())
    status_contexts: int = 0

    def __add__(self, other: SaveStats) -> SaveStats:
        if not isinstance(other, SaveStats):
            return NotImplemented
        return SaveStats(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    @property
    def prs_saved(self) -> int:
        return self.prs_created + self.prs_updated


def save_pull_requests(
    team: Team,
    prs: Sequence[FetchedPRFull],
    *,
    on_commit: Callable[[], None] | None = None,
) -> SaveStats:
    """Upsert `prs` with their members, children and metrics, atomically; return what was written.

    `on_commit`, when given, runs last inside the same transaction (e.g. to store a checkpoint):
    if it raises, nothing of the page is kept.
    """
    page = _dedupe_prs([sanitise_logged(pr) for pr in prs])
    now = timezone.now()
    try:
        return _save_transaction(team, page, now, on_commit, one_by_one=False)
    except _PageRefused:
        # The whole transaction was rolled back; again, each PR in its own savepoint.
        return _save_transaction(team, page, now, on_commit, one_by_one=True)


class _PageRefused(Exception):
    """The database refused a page's rows (see _ROW_ERRORS); raised to roll the page back."""


def _save_transaction(
    team: Team,
    page: Sequence[FetchedPRFull],
    now: datetime,
    on_commit: Callable[[], None] | None,
    *,
    one_by_one: bool,
) -> SaveStats:
    stats = SaveStats()
    with transaction.atomic():
        _take_write_lock_first(team)
        if page and one_by_one:
            stats = _save_one_by_one(team, page, now)
        elif page:
            try:
                _save_rows(team, page, now, stats)
            except _ROW_ERRORS as exc:
                if isinstance(exc, _CONNECTION_ERRORS):
                    raise
                raise _PageRefused from exc
        if on_commit is not None:
            on_commit()
    return stats


# What one PR's values can make the database (or its driver) refuse; a lost connection or a
# locked database is not about the rows, so it propagates.
_ROW_ERRORS = (DatabaseError, ValueError, OverflowError, TypeError)
_CONNECTION_ERRORS = (OperationalError, InterfaceError)


def _save_rows(team: Team, page: Sequence[FetchedPRFull], now: datetime, stats: SaveStats) -> None:
    members, stats.members_created = _save_members(team, _users_of(page))
    pr_ids = _save_prs(team, page, members, now, stats)
    _save_children(page, pr_ids, members, stats)


def _save_one_by_one(team: Team, page: Sequence[FetchedPRFull], now: datetime) -> SaveStats:
    """Save each PR of a refused page in its own savepoint: the bad ones are reported (logged
    and in `SaveStats.rejected`), the others written."""
    total = SaveStats()
    for pr in page:
        one = SaveStats()
        try:
            with transaction.atomic():
                _save_rows(team, [pr], now, one)
        except _ROW_ERRORS as exc:
            if isinstance(exc, _CONNECTION_ERRORS):
                raise
            reason = clean_error(exc)
            logger.warning("%s#%s: not stored: %s", pr.repo_full_name, pr.number, reason)
            one = SaveStats(rejected=(f"{pr.repo_full_name}#{pr.number}: {reason}",))
        total = total + one
    return total


def clean_error(exc: BaseException) -> str:
    """An exception as one storable line: its type and the first line of its message."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return sanitise(text)[:500]


def save_page(
    tracked: TrackedRepository,
    prs: Sequence[FetchedPRFull],
    checkpoint: dict[str, Any] | None,
    **state_updates: Any,
) -> SaveStats:
    """Save a page of PRs and the repository's checkpoint (+ `state_updates`) in one transaction.

    `state_updates` are TrackedRepository field values (e.g. `status="running"`,
    `rate_limit_remaining=4200`); `tracked` is updated in memory too.
    """
    TrackedRepository.check_sync_fields(state_updates)  # before any row is written

    if state_updates.get("status") == TrackedRepository.Status.RUNNING:
        # A running walk names its process: if it dies, the next sync sees it is gone.
        state_updates.setdefault("sync_holder", process_holder())

    def store_state() -> None:
        tracked.record_sync(
            **{"checkpoint": checkpoint, **state_updates, "updated_at": timezone.now()}
        )

    return save_pull_requests(tracked.team, prs, on_commit=store_state)


def _take_write_lock_first(team: Team) -> None:
    """On SQLite, make the transaction's first statement a write, so it waits for the lock.

    A deferred SQLite transaction that reads first and writes later fails at once with
    "database is locked" when another writer committed meanwhile (its snapshot is stale; the busy
    timeout does not apply). Writing first takes the write lock up front, waiting up to the busy
    timeout. (`OPTIONS["transaction_mode"] = "IMMEDIATE"` in settings does the same for every
    transaction.) PostgreSQL needs nothing: its row-level upserts do not conflict this way.
    """
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(Team._meta.db_table)} SET id = id WHERE id = %s",
            [team.pk],
        )


# --- members ----------------------------------------------------------------------------------


def _users_of(page: Iterable[FetchedPRFull]) -> Iterable[FetchedUser]:
    for pr in page:
        yield pr.author if pr.author is not None else FetchedUser.ghost()
        if pr.merged_by is not None:
            yield pr.merged_by
        for review in pr.reviews:
            yield review.reviewer if review.reviewer is not None else FetchedUser.ghost()
        for commit in pr.commits:
            if commit.author is not None:
                yield commit.author
        yield from pr.assignees
        for event in pr.timeline_events or ():
            if event.actor is not None:
                yield event.actor


def _merge_users(users: Iterable[FetchedUser]) -> dict[str, dict[str, Any]]:
    """One record per login: the first non-empty value of each field wins; bot if seen as one."""
    merged: dict[str, dict[str, Any]] = {}
    for user in users:
        record = merged.setdefault(
            user.login, {"github_id": None, "display_name": "", "email": "", "is_bot": False}
        )
        if record["github_id"] is None and user.github_id is not None:
            record["github_id"] = user.github_id
        if not record["display_name"] and user.name:
            record["display_name"] = user.name
        if not record["email"] and user.email:
            record["email"] = user.email
        record["is_bot"] = record["is_bot"] or user.is_bot or user.login.endswith("[bot]")
    return merged


def _save_members(team: Team, users: Iterable[FetchedUser]) -> tuple[dict[str, int], int]:
    """Create missing members and fill in what we learnt; return ({login: id}, created)."""
    wanted = _merge_users(users)
    existing: dict[str, TeamMember] = {}
    for chunk in _chunks(sorted(wanted), LOOKUP_CHUNK):
        for member in TeamMember.objects.filter(team=team, github_login__in=chunk):
            existing[member.github_login] = member

    now = timezone.now()
    to_update: list[TeamMember] = []
    for login, record in sorted(wanted.items()):
        member = existing.get(login)
        if member is None:
            continue
        # Only ever add knowledge: a reviewer node without an email must not blank a known one.
        changed = False
        for name in ("github_id", "display_name", "email"):
            if record[name] and getattr(member, name) != record[name]:
                setattr(member, name, record[name])
                changed = True
        if record["is_bot"] and not member.is_bot:
            member.is_bot = True
            changed = True
        if changed:
            member.updated_at = now
            to_update.append(member)
    if to_update:
        TeamMember.objects.bulk_update(
            to_update,
            ["github_id", "display_name", "email", "is_bot", "updated_at"],
            batch_size=BATCH_SIZE,
        )

    new = [
        _clean_strings(TeamMember(team=team, github_login=login, **record))
        for login, record in sorted(wanted.items())
        if login not in existing
    ]
    ids = {login: member.pk for login, member in existing.items()}
    if new:
        # ignore_conflicts: a concurrent writer may have created the same member meanwhile.
        TeamMember.objects.bulk_create(new, batch_size=BATCH_SIZE, ignore_conflicts=True)
        for chunk in _chunks([m.github_login for m in new], LOOKUP_CHUNK):
            ids.update(
                TeamMember.objects.filter(team=team, github_login__in=chunk).values_list(
                    "github_login", "pk"
                )
            )
    return ids, len(new)


# --- pull requests ----------------------------------------------------------------------------


def _dedupe_prs(prs: Sequence[FetchedPRFull]) -> list[FetchedPRFull]:
    """One PR per (repo, number), the most recently updated; an upsert cannot hit a row twice."""
    latest: dict[tuple[str, int], FetchedPRFull] = {}
    for pr in prs:
        key = (pr.repo_full_name, pr.number)
        if key not in latest or pr.updated_at >= latest[key].updated_at:
            latest[key] = pr
    # Sorted: concurrent writers then lock rows in the same order (no deadlock on PostgreSQL).
    return [latest[key] for key in sorted(latest)]


def _pr_keys(team: Team, page: Sequence[FetchedPRFull]) -> dict[tuple[str, int], int]:
    """{(repo, number): pk} of the page's PRs already stored."""
    by_repo: dict[str, list[int]] = {}
    for pr in page:
        by_repo.setdefault(pr.repo_full_name, []).append(pr.number)
    query = models.Q()
    for repo, numbers in by_repo.items():
        query |= models.Q(github_repo=repo, github_pr_id__in=numbers)
    rows = PullRequest.objects.filter(query, team=team).values_list(
        "github_repo", "github_pr_id", "pk"
    )
    return {(repo, number): pk for repo, number, pk in rows}


def _save_prs(
    team: Team,
    page: Sequence[FetchedPRFull],
    members: dict[str, int],
    now: datetime,
    stats: SaveStats,
) -> dict[tuple[str, int], int]:
    """Upsert the page's PRs; return {(repo, number): pk}."""
    before = _pr_keys(team, page)
    rows = [_clean_strings(_pr_row(team, pr, members, now)) for pr in page]
    PullRequest.objects.bulk_create(
        rows,
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["team", "github_repo", "github_pr_id"],
        update_fields=list(PR_UPDATE_FIELDS),
    )
    stats.prs_updated += sum(1 for pr in page if (pr.repo_full_name, pr.number) in before)
    stats.prs_created += len(page) - sum(
        1 for pr in page if (pr.repo_full_name, pr.number) in before
    )
    if all(row.pk is not None for row in rows):
        return {(row.github_repo, row.github_pr_id): row.pk for row in rows}
    return _pr_keys(team, page)  # a backend that does not return ids from an upsert


def _pr_row(team: Team, pr: FetchedPRFull, members: dict[str, int], now: datetime) -> PullRequest:
    author = pr.author if pr.author is not None else FetchedUser.ghost()
    return PullRequest(
        team=team,
        github_repo=pr.repo_full_name,
        github_pr_id=pr.number,
        github_node_id=pr.node_id,
        url=pr.url,
        title=pr.title,
        body=pr.body or "",
        state=pr.state,
        is_draft=pr.is_draft,
        author_id=members.get(author.login),
        merged_by_id=members.get(pr.merged_by.login) if pr.merged_by is not None else None,
        pr_created_at=pr.created_at,
        pr_updated_at=pr.updated_at,
        merged_at=pr.merged_at,
        closed_at=pr.closed_at,
        additions=pr.additions,
        deletions=pr.deletions,
        changed_files=pr.changed_files,
        commits_count=pr.commits_count,
        comments_count=pr.comments_count,
        head_ref=pr.head_ref,
        base_ref=pr.base_ref,
        labels=list(pr.labels),
        milestone_title=pr.milestone_title,
        assignees=[user.login for user in pr.assignees],
        review_requests=list(pr.review_requests),
        linked_issues=list(pr.linked_issues),
        review_threads_count=pr.review_threads_count,
        review_threads_resolved_count=pr.review_threads_resolved_count,
        total_comments_count=pr.total_comments_count,
        files_complete=pr.files_complete,
        commits_complete=pr.commits_complete,
        synced_at=now,
        **metrics_for_fetched(pr).as_fields(),
    )


# --- children ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ChildKind:
    model: type[models.Model]
    key: str  # the GitHub key, unique per pull request
    update_fields: tuple[str, ...]  # attnames (FKs as "<name>_id")
    stat: str  # the SaveStats counter


_REVIEWS = _ChildKind(
    PRReview, "github_review_id", ("reviewer_id", "state", "body", "submitted_at"), "reviews"
)
_COMMITS = _ChildKind(
    Commit,
    "sha",
    (
        "author_id",
        "author_name",
        "author_email",
        "message",
        "authored_at",
        "committed_at",
        "additions",
        "deletions",
    ),
    "commits",
)
_FILES = _ChildKind(PRFile, "filename", ("status", "additions", "deletions", "changes"), "files")
_CHECK_RUNS = _ChildKind(
    PRCheckRun,
    "github_check_run_id",
    ("name", "status", "conclusion", "started_at", "completed_at", "duration_seconds", "app_name"),
    "check_runs",
)
_TIMELINE = _ChildKind(
    PRTimelineEvent,
    "github_id",
    ("kind", "actor_id", "requested_reviewer_login", "created_at"),
    "timeline_events",
)


# One row per context: GitHub keeps the latest status per context of the head commit.
_STATUS_CONTEXTS = _ChildKind(
    PRStatusContext,
    "context",
    ("state", "description", "target_url", "created_at", "commit_sha"),
    "status_contexts",
)


def _save_children(
    page: Sequence[FetchedPRFull],
    pr_ids: dict[tuple[str, int], int],
    members: dict[str, int],
    stats: SaveStats,
) -> None:
    # Plain dicts keyed by column attname: children are most of a page's rows, and building
    # and compiling model instances for them cost more than the database work itself
    # (profiled: Model.__init__ and per-value SQL compilation dominated a bulk_create page).
    rows: dict[_ChildKind, list[dict[str, Any]]] = {
        kind: [] for kind in (_REVIEWS, _COMMITS, _FILES, _CHECK_RUNS, _TIMELINE, _STATUS_CONTEXTS)
    }
    # A PR fetched without its timeline (an older cache) keeps the events already stored.
    with_timeline: set[int] = set()
    ghost = FetchedUser.ghost()
    for pr in page:
        pr_id = pr_ids[(pr.repo_full_name, pr.number)]
        rows[_REVIEWS].extend(
            {
                "pull_request_id": pr_id,
                "github_review_id": r.github_review_id,
                "reviewer_id": members.get((r.reviewer or ghost).login),
                "state": r.state,
                "body": r.body or "",
                "submitted_at": r.submitted_at,
            }
            for r in pr.reviews
        )
        rows[_COMMITS].extend(
            {
                "pull_request_id": pr_id,
                "sha": c.sha,
                "author_id": members.get(c.author.login) if c.author is not None else None,
                "author_name": c.author_name or "",
                "author_email": c.author_email or "",
                "message": c.message or "",
                "authored_at": c.authored_at,
                "committed_at": c.committed_at,
                "additions": c.additions,
                "deletions": c.deletions,
            }
            for c in pr.commits
        )
        rows[_FILES].extend(
            {
                "pull_request_id": pr_id,
                "filename": f.filename,
                "status": f.status or "",
                "additions": f.additions,
                "deletions": f.deletions,
                "changes": f.changes,
            }
            for f in pr.files
        )
        rows[_CHECK_RUNS].extend(
            {
                "pull_request_id": pr_id,
                "github_check_run_id": c.github_check_run_id,
                "name": c.name,
                "status": c.status or "",
                "conclusion": c.conclusion,
                "started_at": c.started_at,
                "completed_at": c.completed_at,
                "duration_seconds": c.duration_seconds,
                "app_name": c.app_name,
            }
            for c in pr.check_runs
        )
        if pr.timeline_events is not None:
            with_timeline.add(pr_id)
            rows[_TIMELINE].extend(
                {
                    "pull_request_id": pr_id,
                    "github_id": e.github_id,
                    "kind": e.kind,
                    "actor_id": members.get(e.actor.login) if e.actor is not None else None,
                    "requested_reviewer_login": e.requested_reviewer or "",
                    "created_at": e.created_at,
                }
                for e in pr.timeline_events
            )
        rows[_STATUS_CONTEXTS].extend(
            {
                "pull_request_id": pr_id,
                "context": st.context,
                "state": st.state,
                "description": st.description or "",
                "target_url": st.target_url or "",
                "created_at": st.created_at,
                "commit_sha": st.commit_sha or "",
            }
            for st in pr.status_contexts
        )
    page_pr_ids = sorted(set(pr_ids.values()))
    for kind, kind_rows in rows.items():
        ids = sorted(with_timeline) if kind is _TIMELINE else page_pr_ids
        written = _sync_children(kind, ids, kind_rows)
        setattr(stats, kind.stat, getattr(stats, kind.stat) + written)


def _sync_children(kind: _ChildKind, pr_ids: list[int], rows: list[dict[str, Any]]) -> int:
    """Make the children of `pr_ids` exactly `rows`; return how many rows they now have.

    Rows GitHub no longer reports are deleted; new and changed rows are upserted; rows already
    stored with the same values are not written again (a re-sync of an unchanged PR writes no
    child row: cheaper, and no dead tuples on PostgreSQL).
    """
    clean = _string_cleaner(kind.model)
    # Last one wins on a duplicate key: one upsert statement cannot touch a row twice.
    unique: dict[tuple[int, Any], dict[str, Any]] = {}
    for row in rows:
        clean(row)
        unique[(row["pull_request_id"], row[kind.key])] = row
    manager = kind.model._default_manager
    attnames = kind.update_fields
    stored: dict[tuple[int, Any], tuple[Any, ...]] = {}
    stale: list[int] = []
    for chunk in _chunks(pr_ids, LOOKUP_CHUNK):
        for pk, pr_id, key, *values in manager.filter(pull_request_id__in=chunk).values_list(
            "pk", "pull_request_id", kind.key, *attnames
        ):
            if (pr_id, key) in unique:
                stored[(pr_id, key)] = tuple(values)
            else:
                stale.append(pk)
    for chunk in _chunks(stale, LOOKUP_CHUNK):
        manager.filter(pk__in=chunk).delete()
    to_write = [
        unique[ident]
        for ident in sorted(unique)  # a stable lock order, as for PRs
        if stored.get(ident) != tuple(unique[ident][name] for name in attnames)
    ]
    if to_write:
        _upsert(kind.model, to_write, ("pull_request_id", kind.key), attnames)
    return len(unique)


def _upsert(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    conflict: tuple[str, ...],
    update: tuple[str, ...],
) -> None:
    """INSERT ... ON CONFLICT (conflict) DO UPDATE SET update = EXCLUDED.update, many rows.

    The same statement bulk_create(update_conflicts=True) emits, minus the ORM's per-value
    compilation; its syntax is shared by SQLite (>= 3.24) and PostgreSQL. Values are adapted
    with the backend's own adapters (datetimes; JSON is not used by child tables).
    """
    ops = connection.ops
    columns = list(rows[0])
    fields = {f.attname: f for f in model._meta.concrete_fields}
    adapters = [
        ops.adapt_datetimefield_value if isinstance(fields[c], models.DateTimeField) else None
        for c in columns
    ]
    table = ops.quote_name(model._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({', '.join(ops.quote_name(fields[c].column) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(ops.quote_name(fields[c].column) for c in conflict)}) "
        f"DO UPDATE SET "
        + ", ".join(
            f"{ops.quote_name(fields[c].column)} = EXCLUDED.{ops.quote_name(fields[c].column)}"
            for c in update
        )
    )
    params = [
        [
            adapt(row[c]) if adapt is not None and row[c] is not None else row[c]
            for c, adapt in zip(columns, adapters, strict=True)
        ]
        for row in rows
    ]
    with connection.cursor() as cursor:
        for chunk in _chunks(params, BATCH_SIZE * 4):
            cursor.executemany(sql, chunk)


_M = TypeVar("_M", bound=models.Model)


@functools.cache
def _string_fields(model: type[models.Model]) -> tuple[tuple[str, int | None], ...]:
    return tuple(
        (f.attname, f.max_length)
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField)
    )


def _storable(value: str, max_length: int | None) -> str:
    """The text without NUL characters, cut to max_length.

    PostgreSQL rejects NUL (0x00) in text and over-long values in varchar columns (SQLite
    accepts both): one odd commit message or check name must not fail a whole page forever.
    """
    if "\x00" in value:
        value = value.replace("\x00", "")
    if max_length is not None and len(value) > max_length:
        value = value[:max_length]
    return value


def _clean_strings(row: _M) -> _M:
    """Make a model instance's text storable anywhere (see _storable); return it."""
    for attname, max_length in _string_fields(type(row)):
        value = getattr(row, attname)
        if isinstance(value, str):
            setattr(row, attname, _storable(value, max_length))
    return row


def _string_cleaner(model: type[models.Model]) -> Callable[[dict[str, Any]], None]:
    """A function making a row dict's text storable in place (see _storable)."""
    spec = _string_fields(model)

    def clean(row: dict[str, Any]) -> None:
        for attname, max_length in spec:
            value = row.get(attname)
            if isinstance(value, str):
                row[attname] = _storable(value, max_length)

    return clean


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
