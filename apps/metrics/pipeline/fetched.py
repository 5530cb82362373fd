"""What a fetched pull request is, independent of the database.

Frozen dataclasses built once, at the edge, from GitHub's GraphQL nodes (`from_api`), and
round-tripped through JSON for the seeding cache (`to_dict` / `from_dict`). Below this module
nothing handles raw payload dicts.

Size: over 400 lines because it is one dataclass per GitHub object a PR carries (user, review,
commit, file, check run, timeline event, status context, the PR itself), each with its mapping
from the GraphQL payload; splitting them would scatter the one mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar

from apps.integrations.github.field_errors import UNAVAILABLE_KEY
from apps.metrics.dates import parse_github_datetime, to_github_iso


def _api_required_dt(value: Any, what: str) -> datetime:
    parsed = parse_github_datetime(value)
    if parsed is None:
        raise ValueError(f"pull request node without {what}")
    return parsed


def pr_node_dates(node: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """(created_at, updated_at) of a PR node, read as `FetchedPRFull.from_api` reads them: what
    a walk decides on before the node is mapped. ValueError for a node without them."""
    created_at = _api_required_dt(node.get("createdAt"), "createdAt")
    updated_at = _api_required_dt(node.get("updatedAt") or node.get("createdAt"), "updatedAt")
    return created_at, updated_at


def _nodes(connection: Any) -> list[Mapping[str, Any]]:
    """The non-null nodes of a GraphQL connection (missing or null connection: none)."""
    if not isinstance(connection, Mapping):
        return []
    return [n for n in connection.get("nodes") or () if isinstance(n, Mapping)]


def _total(connection: Any, default: int = 0) -> int:
    if isinstance(connection, Mapping) and isinstance(connection.get("totalCount"), int):
        return connection["totalCount"]
    return default


def _lower(value: Any) -> str | None:
    return str(value).lower() if value is not None else None


# GraphQL's PatchStatus -> the file status words of REST (and of our models).
_FILE_STATUS = {
    "ADDED": "added",
    "DELETED": "removed",
    "MODIFIED": "modified",
    "RENAMED": "renamed",
    "COPIED": "copied",
    "CHANGED": "changed",
}


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
                out[f.name] = to_github_iso(value)
            elif f.name in self._nested:
                out[f.name] = value.to_dict() if value is not None else None
            elif f.name in self._nested_many:
                out[f.name] = None if value is None else [item.to_dict() for item in value]
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
                value = parse_github_datetime(value)
            elif f.name in cls._nested:
                value = cls._nested[f.name].from_dict(value) if value is not None else None
            elif f.name in cls._nested_many and value is not None:
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

    @classmethod
    def from_api(cls, actor: Mapping[str, Any] | None) -> FetchedUser:
        """Map an `Actor` node (`__typename login ... on User {databaseId name email}`).

        null (a deleted account) or a node without login -> `ghost()`; a Bot's login gets the
        "[bot]" suffix REST and the web UI show (GraphQL's Bot.login lacks it); empty name and
        email (GitHub's "not public") become None.
        """
        if not isinstance(actor, Mapping) or not actor.get("login"):
            return cls.ghost()
        login = str(actor["login"])
        is_bot = actor.get("__typename") == "Bot" or login.endswith("[bot]")
        if is_bot and not login.endswith("[bot]"):
            login += "[bot]"
        github_id = actor.get("databaseId")
        return cls(
            login=login,
            github_id=int(github_id) if isinstance(github_id, int) else None,
            name=actor.get("name") or None,
            email=actor.get("email") or None,
            is_bot=is_bot,
        )


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

    @classmethod
    def from_api(cls, node: Mapping[str, Any]) -> FetchedReview:
        """Map a `PullRequestReview` node; a deleted reviewer becomes the ghost."""
        return cls(
            github_review_id=int(node["databaseId"]),
            reviewer=FetchedUser.from_api(node.get("author")),
            state=str(node.get("state") or "commented").lower(),
            body=node.get("body") or "",
            submitted_at=parse_github_datetime(node.get("submittedAt")),
        )


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

    @classmethod
    def from_api(cls, node: Mapping[str, Any]) -> FetchedCommit:
        """Map a `PullRequestCommit` node (`commit { oid ... author { name email user } }`).

        `author` is the GitHub account the commit email is linked to (its git name and email
        stand in for the account's, which the query does not ask), None when there is none.
        """
        commit = node.get("commit") if isinstance(node.get("commit"), Mapping) else node
        git_author = commit.get("author") if isinstance(commit.get("author"), Mapping) else {}
        user = git_author.get("user")
        author = None
        if isinstance(user, Mapping) and user.get("login"):
            author = FetchedUser.from_api(
                {
                    "__typename": user.get("__typename", "User"),
                    "login": user["login"],
                    "databaseId": user.get("databaseId"),
                    "name": user.get("name") or git_author.get("name"),
                    "email": user.get("email") or git_author.get("email"),
                }
            )
        return cls(
            sha=str(commit["oid"]),
            author=author,
            author_name=git_author.get("name") or "",
            author_email=git_author.get("email") or "",
            message=commit.get("message") or commit.get("messageHeadline") or "",
            authored_at=parse_github_datetime(commit.get("authoredDate") or git_author.get("date")),
            committed_at=parse_github_datetime(commit.get("committedDate")),
            additions=int(commit.get("additions") or 0),
            deletions=int(commit.get("deletions") or 0),
        )


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

    @classmethod
    def from_api(cls, node: Mapping[str, Any]) -> FetchedFile:
        """Map a `PullRequestChangedFile` (`changeType` DELETED -> "removed", as REST says)."""
        change = str(node.get("changeType") or "MODIFIED").upper()
        return cls(
            filename=str(node["path"]),
            status=_FILE_STATUS.get(change, change.lower()),
            additions=int(node.get("additions") or 0),
            deletions=int(node.get("deletions") or 0),
        )


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

    @classmethod
    def from_api(cls, node: Mapping[str, Any]) -> FetchedCheckRun | None:
        """Map a `statusCheckRollup.contexts` node; None for anything but a CheckRun with an id
        (commit statuses are `FetchedStatusContext`s)."""
        typename = node.get("__typename")
        if typename not in (None, "CheckRun") or not isinstance(node.get("databaseId"), int):
            return None
        suite = node.get("checkSuite")
        app = suite.get("app") if isinstance(suite, Mapping) else None
        return cls(
            github_check_run_id=node["databaseId"],
            name=str(node.get("name") or ""),
            status=_lower(node.get("status")) or "completed",
            conclusion=_lower(node.get("conclusion")),
            started_at=parse_github_datetime(node.get("startedAt")),
            completed_at=parse_github_datetime(node.get("completedAt")),
            app_name=app.get("name") if isinstance(app, Mapping) else None,
        )


# GraphQL timeline item types -> PRTimelineEvent.kind (the ones PullRequestFields asks for).
_TIMELINE_KINDS = {
    "ReadyForReviewEvent": "ready_for_review",
    "ConvertToDraftEvent": "convert_to_draft",
    "ReviewRequestedEvent": "review_requested",
    "ReviewRequestRemovedEvent": "review_request_removed",
    "HeadRefForcePushedEvent": "head_ref_force_pushed",
}


@dataclass(frozen=True, slots=True)
class FetchedTimelineEvent(_Serialisable):
    """One timeline event that shapes a PR's stages; `kind` as PRTimelineEvent.Kind spells it.

    `actor` None: GitHub gave none (a deleted account is the ghost); `requested_reviewer`: the
    login or team slug a review request names ("" for other kinds or a deleted reviewer).
    """

    github_id: str
    kind: str
    created_at: datetime
    actor: FetchedUser | None = None
    requested_reviewer: str = ""

    _nested: ClassVar[dict[str, type]] = {"actor": FetchedUser}
    _datetimes: ClassVar[frozenset[str]] = frozenset({"created_at"})

    @classmethod
    def from_api(cls, node: Mapping[str, Any]) -> FetchedTimelineEvent | None:
        """Map a `timelineItems` node; None for a kind we do not ask for or one without id."""
        kind = _TIMELINE_KINDS.get(str(node.get("__typename")))
        created_at = parse_github_datetime(node.get("createdAt"))
        if kind is None or not node.get("id") or created_at is None:
            return None
        return cls(
            github_id=str(node["id"]),
            kind=kind,
            created_at=created_at,
            actor=FetchedUser.from_api(node.get("actor")) if "actor" in node else None,
            requested_reviewer=_reviewer_name(node.get("requestedReviewer")) or "",
        )


@dataclass(frozen=True, slots=True)
class FetchedStatusContext(_Serialisable):
    """One commit status context (CircleCI, Jenkins, a bot...) of the PR's last commit.

    `state` lower case: "success", "failure", "error", "pending" or "expected" (GraphQL's
    StatusState). GitHub keeps the latest status per context, so `context` identifies it.
    """

    context: str
    state: str
    description: str = ""
    target_url: str = ""
    created_at: datetime | None = None
    commit_sha: str = ""

    _datetimes: ClassVar[frozenset[str]] = frozenset({"created_at"})

    @classmethod
    def from_api(cls, node: Mapping[str, Any], commit_sha: str = "") -> FetchedStatusContext | None:
        """Map a `statusCheckRollup.contexts` node; None for anything but a StatusContext.

        `commit_sha` stands in when the node does not name its commit (the rollup's commit is
        the PR's last one).
        """
        if node.get("__typename") != "StatusContext" or not node.get("context"):
            return None
        commit = node.get("commit")
        oid = commit.get("oid") if isinstance(commit, Mapping) else None
        return cls(
            context=str(node["context"]),
            state=_lower(node.get("state")) or "pending",
            description=node.get("description") or "",
            target_url=node.get("targetUrl") or "",
            created_at=parse_github_datetime(node.get("createdAt")),
            commit_sha=str(oid or commit_sha or ""),
        )


@dataclass(frozen=True, slots=True)
class FetchedPRFull(_Serialisable):
    """A pull request with everything a metrics product needs.

    Nested lists are complete up to GitHub's own caps: GitHub lists at most 3,000 files of a PR
    (docs.github.com/rest/pulls/pulls#list-pull-requests-files), so `files_complete` /
    `commits_complete` compare the rows with the PR's own counts. `unavailable` names the PR
    fields GitHub refused this token (FORBIDDEN / INSUFFICIENT_SCOPES): their data is unknown.
    """

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
    # The PR's life. None = not collected (a cache written before these were asked for).
    timeline_events: tuple[FetchedTimelineEvent, ...] | None = None
    review_threads_count: int | None = None
    review_threads_resolved_count: int | None = None
    total_comments_count: int | None = None
    status_contexts: tuple[FetchedStatusContext, ...] = ()
    unavailable: tuple[str, ...] = ()

    _nested: ClassVar[dict[str, type]] = {"author": FetchedUser, "merged_by": FetchedUser}
    _nested_many: ClassVar[dict[str, type]] = {
        "assignees": FetchedUser,
        "reviews": FetchedReview,
        "commits": FetchedCommit,
        "files": FetchedFile,
        "check_runs": FetchedCheckRun,
        "timeline_events": FetchedTimelineEvent,
        "status_contexts": FetchedStatusContext,
    }
    _datetimes: ClassVar[frozenset[str]] = frozenset(
        {"created_at", "updated_at", "merged_at", "closed_at"}
    )

    @property
    def files_complete(self) -> bool:
        """Whether every file of the PR (`changedFiles`) is listed."""
        return len(self.files) >= self.changed_files

    @property
    def commits_complete(self) -> bool:
        """Whether every commit of the PR (its commit count) is listed."""
        return len(self.commits) >= self.commits_count

    @property
    def ci_unavailable(self) -> bool:
        """Whether GitHub refused the PR's CI (checks and statuses): CI is then unknown."""
        return "statusCheckRollup" in self.unavailable

    @classmethod
    def from_api(cls, node: Mapping[str, Any], repo_full_name: str | None = None) -> FetchedPRFull:
        """Map one complete PR node of our queries (`PullRequestFields`) into a FetchedPRFull.

        `repo_full_name` defaults to the owner/name in the PR's url. The node must be complete
        (the client fills overflowing connections); this maps, it never fetches.
        """
        url = str(node.get("url") or "")
        repo = repo_full_name or _repo_from_url(url)
        state = str(node.get("state") or "OPEN").lower()
        merged_at = parse_github_datetime(node.get("mergedAt"))
        merged_by = None
        if node.get("mergedBy") is not None or merged_at is not None:
            merged_by = FetchedUser.from_api(node.get("mergedBy"))
        milestone = node.get("milestone")
        commits = tuple(FetchedCommit.from_api(n) for n in _nodes(node.get("commits")))
        rollup = node.get("statusCheckRollup")
        contexts = rollup.get("contexts") if isinstance(rollup, Mapping) else None
        check_runs = tuple(
            run for run in (FetchedCheckRun.from_api(n) for n in _nodes(contexts)) if run
        )
        timeline = node.get("timelineItems")
        timeline_events = (
            tuple(
                sorted(
                    (e for e in map(FetchedTimelineEvent.from_api, _nodes(timeline)) if e),
                    key=lambda e: (e.created_at, e.github_id),
                )
            )
            if isinstance(timeline, Mapping)
            else None
        )
        threads = node.get("reviewThreads")
        threads_count = _total(threads, -1) if isinstance(threads, Mapping) else -1
        thread_nodes = _nodes(threads)
        total_comments = node.get("totalCommentsCount")
        head_sha = commits[-1].sha if commits else ""
        status_contexts = tuple(
            status
            for status in (FetchedStatusContext.from_api(n, head_sha) for n in _nodes(contexts))
            if status
        )
        unavailable = node.get(UNAVAILABLE_KEY) or ()
        created_at, updated_at = pr_node_dates(node)
        return cls(
            repo_full_name=repo,
            number=int(node["number"]),
            node_id=str(node.get("id") or ""),
            title=node.get("title") or "",
            body=node.get("body") or "",
            state=state if state in ("open", "merged", "closed") else "open",
            is_draft=bool(node.get("isDraft")),
            author=FetchedUser.from_api(node.get("author")),
            url=url,
            created_at=created_at,
            updated_at=updated_at,
            merged_at=merged_at,
            closed_at=parse_github_datetime(node.get("closedAt")),
            merged_by=merged_by,
            additions=int(node.get("additions") or 0),
            deletions=int(node.get("deletions") or 0),
            changed_files=int(node.get("changedFiles") or 0),
            commits_count=_total(node.get("commits"), len(commits)),
            comments_count=_total(node.get("comments")),
            head_ref=node.get("headRefName") or "",
            base_ref=node.get("baseRefName") or "",
            labels=tuple(str(n["name"]) for n in _nodes(node.get("labels")) if n.get("name")),
            milestone_title=milestone.get("title") if isinstance(milestone, Mapping) else None,
            assignees=tuple(FetchedUser.from_api(n) for n in _nodes(node.get("assignees"))),
            review_requests=tuple(
                name
                for name in (
                    _reviewer_name(n.get("requestedReviewer"))
                    for n in _nodes(node.get("reviewRequests"))
                )
                if name
            ),
            linked_issues=tuple(
                int(n["number"])
                for n in _nodes(node.get("closingIssuesReferences"))
                if isinstance(n.get("number"), int)
            ),
            reviews=tuple(
                FetchedReview.from_api(n)
                for n in _nodes(node.get("reviews"))
                if isinstance(n.get("databaseId"), int)
            ),
            commits=commits,
            files=tuple(FetchedFile.from_api(n) for n in _nodes(node.get("files"))),
            check_runs=check_runs,
            timeline_events=timeline_events,
            review_threads_count=threads_count if threads_count >= 0 else None,
            # Resolved threads are counted over the nodes: known only when all came back.
            review_threads_resolved_count=sum(1 for t in thread_nodes if t.get("isResolved"))
            if threads_count >= 0 and len(thread_nodes) == threads_count
            else None,
            total_comments_count=total_comments if isinstance(total_comments, int) else None,
            status_contexts=status_contexts,
            unavailable=tuple(sorted(str(f) for f in unavailable)),
        )


def _repo_from_url(url: str) -> str:
    """owner/name from https://github.com/owner/name/pull/N (empty when it is not such a url)."""
    parts = url.split("://", 1)[-1].split("/")
    return f"{parts[1]}/{parts[2]}" if len(parts) >= 3 else ""


def _reviewer_name(reviewer: Any) -> str | None:
    """A requested reviewer: a user's or bot's login, a team's slug (or name)."""
    if not isinstance(reviewer, Mapping):
        return None
    if reviewer.get("__typename") == "Bot" and reviewer.get("login"):
        login = str(reviewer["login"])
        return login if login.endswith("[bot]") else f"{login}[bot]"
    value = reviewer.get("login") or reviewer.get("slug") or reviewer.get("name")
    return str(value) if value else None
