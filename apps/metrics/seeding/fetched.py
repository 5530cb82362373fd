"""What a fetched pull request is, independent of the database.

Frozen dataclasses built once, at the edge, from GitHub's GraphQL nodes (`from_api`), and
round-tripped through JSON for the seeding cache (`to_dict` / `from_dict`). Below this module
nothing handles raw payload dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar


def _dt_to_str(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt_from_str(value: str | None) -> datetime | None:
    if not value:
        return None
    # GitHub writes UTC as a trailing "Z"; fromisoformat in 3.11 accepts it.
    return datetime.fromisoformat(value)


class _Serialisable:
    """JSON round-trip shared by the fetched values: datetimes as ISO 8601, tuples as lists."""

    __slots__ = ()

    _nested: ClassVar[dict[str, type]] = {}
    _nested_many: ClassVar[dict[str, type]] = {}
    _datetimes: ClassVar[frozenset[str]] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.name in self._datetimes:
                out[f.name] = _dt_to_str(value)
            elif f.name in self._nested:
                out[f.name] = value.to_dict() if value is not None else None
            elif f.name in self._nested_many:
                out[f.name] = [item.to_dict() for item in value]
            elif isinstance(value, tuple):
                out[f.name] = list(value)
            else:
                out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]):  # type: ignore[no-untyped-def]
        kwargs: dict[str, Any] = {}
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name not in data:
                continue  # older cache files: the dataclass default applies
            value = data[f.name]
            if f.name in cls._datetimes:
                value = _dt_from_str(value)
            elif f.name in cls._nested:
                value = cls._nested[f.name].from_dict(value) if value is not None else None
            elif f.name in cls._nested_many:
                value = tuple(cls._nested_many[f.name].from_dict(item) for item in value)
            elif isinstance(value, list):
                value = tuple(value)
            kwargs[f.name] = value
        return cls(**kwargs)


@dataclass(frozen=True, slots=True)
class FetchedUser(_Serialisable):
    """A GitHub account as seen on a PR: author, reviewer, assignee, commit author."""

    login: str
    github_id: int | None = None
    name: str | None = None
    email: str | None = None
    is_bot: bool = False

    GHOST_LOGIN: ClassVar[str] = "ghost"

    @classmethod
    def ghost(cls) -> FetchedUser:
        """The placeholder GitHub shows for a deleted account (`author: null`)."""
        return cls(login=cls.GHOST_LOGIN)

    @property
    def is_ghost(self) -> bool:
        return self.login == self.GHOST_LOGIN and self.github_id is None


@dataclass(frozen=True, slots=True)
class FetchedReview(_Serialisable):
    """One submitted review; `state` is lower case (approved, changes_requested, ...)."""

    github_review_id: int
    reviewer: FetchedUser
    state: str
    body: str = ""
    submitted_at: datetime | None = None

    _nested: ClassVar[dict[str, type]] = {"reviewer": FetchedUser}
    _datetimes: ClassVar[frozenset[str]] = frozenset({"submitted_at"})


@dataclass(frozen=True, slots=True)
class FetchedCommit(_Serialisable):
    """One commit of a PR; `author` is None when its email is linked to no GitHub account."""

    sha: str
    author: FetchedUser | None
    author_name: str = ""
    author_email: str = ""
    message: str = ""
    authored_at: datetime | None = None
    committed_at: datetime | None = None
    additions: int = 0
    deletions: int = 0

    _nested: ClassVar[dict[str, type]] = {"author": FetchedUser}
    _datetimes: ClassVar[frozenset[str]] = frozenset({"authored_at", "committed_at"})


@dataclass(frozen=True, slots=True)
class FetchedFile(_Serialisable):
    """One changed file; `status` as REST spells it (added, modified, removed, renamed, ...)."""

    filename: str
    status: str
    additions: int = 0
    deletions: int = 0

    @property
    def changes(self) -> int:
        return self.additions + self.deletions


@dataclass(frozen=True, slots=True)
class FetchedCheckRun(_Serialisable):
    """One CI check run of the PR's last commit; status and conclusion lower case."""

    github_check_run_id: int
    name: str
    status: str
    conclusion: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    app_name: str | None = None

    _datetimes: ClassVar[frozenset[str]] = frozenset({"started_at", "completed_at"})

    @property
    def duration_seconds(self) -> int | None:
        if self.started_at is None or self.completed_at is None:
            return None
        return max(0, int((self.completed_at - self.started_at).total_seconds()))


@dataclass(frozen=True, slots=True)
class FetchedPRFull(_Serialisable):
    """A pull request with everything a metrics product needs, complete (nothing capped)."""

    repo_full_name: str
    number: int
    node_id: str
    title: str
    body: str
    state: str  # "open" | "merged" | "closed"
    is_draft: bool
    author: FetchedUser
    url: str
    created_at: datetime
    updated_at: datetime
    merged_at: datetime | None = None
    closed_at: datetime | None = None
    merged_by: FetchedUser | None = None
    additions: int = 0
    deletions: int = 0
    changed_files: int = 0
    commits_count: int = 0
    comments_count: int = 0
    head_ref: str = ""
    base_ref: str = ""
    labels: tuple[str, ...] = ()
    milestone_title: str | None = None
    assignees: tuple[FetchedUser, ...] = ()
    review_requests: tuple[str, ...] = ()
    linked_issues: tuple[int, ...] = ()
    reviews: tuple[FetchedReview, ...] = ()
    commits: tuple[FetchedCommit, ...] = ()
    files: tuple[FetchedFile, ...] = ()
    check_runs: tuple[FetchedCheckRun, ...] = ()

    _nested: ClassVar[dict[str, type]] = {"author": FetchedUser, "merged_by": FetchedUser}
    _nested_many: ClassVar[dict[str, type]] = {
        "assignees": FetchedUser,
        "reviews": FetchedReview,
        "commits": FetchedCommit,
        "files": FetchedFile,
        "check_runs": FetchedCheckRun,
    }
    _datetimes: ClassVar[frozenset[str]] = frozenset(
        {"created_at", "updated_at", "merged_at", "closed_at"}
    )
