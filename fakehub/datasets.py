"""Load fakehub datasets: folders of repo.json + prs.jsonl, in the format of docs/DATASETS.md.

The loader validates what fakehub relies on and fills every optional key with its default, so the
server can index nodes without guarding each access. Bad input raises `DatasetError` with one line
naming the file (and line) at fault. Dates are normalised to GitHub's `YYYY-MM-DDTHH:MM:SSZ`, so
they sort as strings.

Beyond docs/DATASETS.md, two optional PR keys carry the PR's life (the synthetic generator
writes them; recorded histories have none): `timelineItems`, a list of `{"__typename":
ReadyForReviewEvent | ConvertToDraftEvent | ReviewRequestedEvent | ReviewRequestRemovedEvent |
HeadRefForcePushedEvent, "createdAt", "actor", "requestedReviewer"?: {"login"} or a Team's
{"__typename": "Team", "slug"}}` in time order, and `reviewThreads`, a list of `{"path",
"isResolved", "isOutdated"?, "commentCount"}`.

Size: over 400 lines because validating the dataset format is one job: a check and a default
for every key of a PR (files, commits, reviews, checks, timeline, threads, auto-merge...), and
the small checkers they share (`_require`, `_enum`, `_date`, ...) that name the file and line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "CHANGE_TYPES",
    "CHECK_CONCLUSIONS",
    "CHECK_STATUSES",
    "PR_STATES",
    "REVIEW_STATES",
    "TIMELINE_TYPES",
    "DatasetError",
    "load_dataset_dir",
    "load_repository",
    "normalize_pr",
    "normalize_repo",
    "write_dataset_dir",
]

# Enum values as GitHub's public GraphQL schema defines them (PullRequestState, PatchStatus,
# PullRequestReviewState, CheckStatusState, CheckConclusionState).
PR_STATES = frozenset({"OPEN", "CLOSED", "MERGED"})
CHANGE_TYPES = frozenset({"ADDED", "MODIFIED", "DELETED", "RENAMED", "COPIED", "CHANGED"})
TIMELINE_TYPES = frozenset(
    {
        "ConvertToDraftEvent",
        "HeadRefForcePushedEvent",
        "ReadyForReviewEvent",
        "ReviewRequestRemovedEvent",
        "ReviewRequestedEvent",
    }
)
REVIEW_STATES = frozenset({"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"})
CHECK_STATUSES = frozenset(
    {"QUEUED", "IN_PROGRESS", "COMPLETED", "PENDING", "REQUESTED", "WAITING"}
)
CHECK_CONCLUSIONS = frozenset(
    {
        "SUCCESS",
        "FAILURE",
        "NEUTRAL",
        "CANCELLED",
        "SKIPPED",
        "TIMED_OUT",
        "ACTION_REQUIRED",
        "STALE",
        "STARTUP_FAILURE",
    }
)
# Mannequin: an account imported from another code host (docs.github.com/graphql/reference/
# objects#mannequin).
ACTOR_TYPES = frozenset({"User", "Bot", "Mannequin"})
# GitHub's default label colour, used when a dataset gives a label without one.
DEFAULT_LABEL_COLOR = "ededed"

_CANONICAL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_FULL_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*)/[A-Za-z0-9._-]+")


class DatasetError(Exception):
    """A dataset that fakehub cannot serve; the message is one line naming the file at fault."""


class _Invalid(DatasetError):
    """A problem inside one JSON value; the loader adds the file and line to the message."""


def load_dataset_dir(path: str | Path) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Return (repo, PRs) for the repository folder at `path`, or for each one inside it."""
    root = Path(path)
    if not root.exists():
        raise DatasetError(f"{root}: dataset folder not found")
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder (give the folder holding repo.json)")
    if (root / "repo.json").exists():
        folders = [root]
    else:
        folders = sorted(child for child in root.iterdir() if (child / "repo.json").is_file())
        if not folders:
            raise DatasetError(f"{root}: no repo.json here nor in any sub-folder")
    loaded: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    seen: dict[str, Path] = {}
    for folder in folders:
        repo, prs = load_repository(folder)
        name = repo["nameWithOwner"].lower()
        if name in seen:
            raise DatasetError(
                f"{folder / 'repo.json'}: repository {repo['nameWithOwner']} is already loaded "
                f"from {seen[name]}"
            )
        seen[name] = folder
        loaded.append((repo, prs))
    return loaded


def load_repository(folder: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return (repo, PRs) read from one folder holding repo.json and prs.jsonl."""
    folder = Path(folder)
    repo_file = folder / "repo.json"
    prs_file = folder / "prs.jsonl"
    if not repo_file.is_file():
        raise DatasetError(f"{repo_file}: file not found")
    if not prs_file.is_file():
        raise DatasetError(f"{prs_file}: file not found")
    try:
        raw_repo = json.loads(repo_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{repo_file}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{repo_file}: cannot read: {_one_line(exc)}") from None
    try:
        repo = normalize_repo(raw_repo)
    except _Invalid as exc:
        raise DatasetError(f"{repo_file}: {exc}") from None

    prs: list[dict[str, Any]] = []
    numbers: dict[int, int] = {}
    ids = _RepoIds()
    for lineno, raw in _iter_json_lines(prs_file):
        try:
            pr = normalize_pr(raw, ids)
        except _Invalid as exc:
            raise DatasetError(f"{prs_file}:{lineno}: {exc}") from None
        first = numbers.setdefault(pr["number"], lineno)
        if first != lineno:
            raise DatasetError(
                f"{prs_file}:{lineno}: duplicate PR number {pr['number']} (first on line {first})"
            )
        prs.append(pr)
    _fill_repo_dates(repo, prs)
    return repo, prs


def write_dataset_dir(folder: str | Path, repo: dict[str, Any], prs: list[dict[str, Any]]) -> Path:
    """Write one repository as repo.json + prs.jsonl into `folder` (created); returns it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "repo.json").write_text(
        json.dumps(repo, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    with (folder / "prs.jsonl").open("w", encoding="utf-8") as handle:
        for pr in prs:
            handle.write(json.dumps(pr, ensure_ascii=False, separators=(",", ":")) + "\n")
    return folder


def _iter_json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, decoded value) for each non-blank line, streaming the file."""
    try:
        with path.open(encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield lineno, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DatasetError(
                        f"{path}:{lineno}: invalid JSON at column {exc.colno}: {exc.msg}"
                    ) from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8: {_one_line(exc)}") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {_one_line(exc)}") from None


def normalize_repo(raw: Any) -> dict[str, Any]:
    """Return repo.json's object checked, with defaultBranch, pushedAt, createdAt present.

    Raises DatasetError (one line, without the file name) for bad input.
    """
    if not isinstance(raw, dict):
        raise _Invalid(f"expected a JSON object, got {_kind(raw)}")
    name = raw.get("nameWithOwner")
    if not isinstance(name, str) or not _FULL_NAME.fullmatch(name):
        raise _Invalid(f'nameWithOwner must be "owner/name", got {_show(name)}')
    repo = dict(raw)
    branch = repo.setdefault("defaultBranch", "main")
    if not isinstance(branch, str) or not branch:
        raise _Invalid(f"defaultBranch must be a non-empty string, got {_show(branch)}")
    for key in ("pushedAt", "createdAt"):
        repo[key] = _date(repo.get(key), key, nullable=True)
    return repo


def _fill_repo_dates(repo: dict[str, Any], prs: list[dict[str, Any]]) -> None:
    """Default pushedAt to the latest commit or merge, createdAt to the earliest PR."""
    if repo["pushedAt"] is None:
        latest = [pr["mergedAt"] for pr in prs if pr["mergedAt"]]
        latest.extend(pr["commits"][-1]["committedDate"] for pr in prs if pr["commits"])
        repo["pushedAt"] = max(latest, default=None)
    if repo["createdAt"] is None:
        repo["createdAt"] = min((pr["createdAt"] for pr in prs), default=None)


class _RepoIds:
    """Ids that must be unique across one repository, and milestone numbers handed out."""

    __slots__ = ("check_runs", "milestones", "reviews")

    def __init__(self) -> None:
        self.reviews: set[int] = set()
        self.check_runs: set[int] = set()
        self.milestones: dict[str, int] = {}


def normalize_pr(raw: Any, ids: _RepoIds | None = None) -> dict[str, Any]:
    """Return one prs.jsonl node checked, with every optional key filled; DatasetError if bad.

    The top-level dict is copied; nested objects are filled in place. `ids` tracks review and
    check-run ids across a repository (unique there); None checks the node alone. Idempotent.
    """
    if ids is None:
        ids = _RepoIds()
    if not isinstance(raw, dict):
        raise _Invalid(f"expected a JSON object, got {_kind(raw)}")
    pr = dict(raw)
    number = pr.get("number")
    if not _is_int(number) or number < 1:
        raise _Invalid(f"number must be a positive integer, got {_show(number)}")
    try:
        _fill_pr(pr, ids)
    except _Invalid as exc:
        raise _Invalid(f"PR #{number}: {exc}") from None
    return pr


def _fill_pr(pr: dict[str, Any], ids: _RepoIds) -> None:
    _require(pr, "title", str)
    if pr.get("body") is None:
        pr["body"] = ""
    _require(pr, "body", str)
    _enum(pr, "state", PR_STATES)
    _require(pr, "isDraft", bool)
    pr["createdAt"] = _date(_get(pr, "createdAt"), "createdAt")
    pr["updatedAt"] = _date(_get(pr, "updatedAt"), "updatedAt")
    pr["mergedAt"] = _date(_get(pr, "mergedAt"), "mergedAt", nullable=True)
    pr["closedAt"] = _date(_get(pr, "closedAt"), "closedAt", nullable=True)
    for key in ("baseRefName", "headRefName"):
        _require(pr, key, str, nullable=True)
    pr["author"] = _actor(_get(pr, "author"), "author")
    pr["mergedBy"] = _actor(_get(pr, "mergedBy"), "mergedBy")
    for key in ("additions", "deletions", "changedFiles"):
        _count(pr, key)

    files = _list(pr, "files", required=True)
    for index, item in enumerate(files):
        where = f"files[{index}]"
        _object(item, where)
        _require(item, "path", str, where)
        _count(item, "additions", where)
        _count(item, "deletions", where)
        _enum(item, "changeType", CHANGE_TYPES, where)

    commits = _list(pr, "commits", required=True)
    for index, commit in enumerate(commits):
        where = f"commits[{index}]"
        _object(commit, where)
        _require(commit, "oid", str, where)
        _require(commit, "messageHeadline", str, where)
        if commit.get("message") is None:
            commit["message"] = commit["messageHeadline"]
        _require(commit, "message", str, where)
        commit["authoredDate"] = _date(_get(commit, "authoredDate", where), f"{where}.authoredDate")
        commit["committedDate"] = _date(
            _get(commit, "committedDate", where), f"{where}.committedDate"
        )
        author = _get(commit, "author", where)
        if author is not None:
            _object(author, f"{where}.author")
            _require(author, "name", str, f"{where}.author", nullable=True)
            _require(author, "email", str, f"{where}.author", nullable=True)
            author.setdefault("login", None)
            _require(author, "login", str, f"{where}.author", nullable=True)
        _count(commit, "additions", where)
        _count(commit, "deletions", where)

    for index, label in enumerate(_list(pr, "labels")):
        where = f"labels[{index}]"
        _object(label, where)
        _require(label, "name", str, where)
        if label.get("color") is None:
            label["color"] = DEFAULT_LABEL_COLOR
        _require(label, "color", str, where)

    milestone = pr.setdefault("milestone", None)
    if milestone is not None:
        _object(milestone, "milestone")
        _require(milestone, "title", str, "milestone")
        if milestone.get("number") is None:
            # Milestone.number is non-null on GitHub: one number per distinct title.
            milestone["number"] = ids.milestones.setdefault(
                milestone["title"], len(ids.milestones) + 1
            )
        _require(milestone, "number", int, "milestone")
        milestone["dueOn"] = _date(milestone.get("dueOn"), "milestone.dueOn", nullable=True)

    for key in ("assignees", "reviewRequests"):
        for index, person in enumerate(_list(pr, key)):
            _object(person, f"{key}[{index}]")
            _require(person, "login", str, f"{key}[{index}]")

    for index, issue in enumerate(_list(pr, "closingIssuesReferences")):
        where = f"closingIssuesReferences[{index}]"
        _object(issue, where)
        _require(issue, "number", int, where)
        if issue.get("title") is None:
            issue["title"] = f"Issue #{issue['number']}"
        _require(issue, "title", str, where)

    for index, review in enumerate(_list(pr, "reviews")):
        where = f"reviews[{index}]"
        _object(review, where)
        _unique_id(review, where, ids.reviews, "review")
        review["author"] = _actor(_get(review, "author", where), f"{where}.author")
        _enum(review, "state", REVIEW_STATES, where)
        review["submittedAt"] = _date(
            review.get("submittedAt"), f"{where}.submittedAt", nullable=True
        )
        if review.get("body") is None:
            review["body"] = ""
        _require(review, "body", str, where)

    for index, suite in enumerate(_list(pr, "checkSuites")):
        where = f"checkSuites[{index}]"
        _object(suite, where)
        app = suite.setdefault("app", None)
        if app is not None:
            _object(app, f"{where}.app")
            _require(app, "name", str, f"{where}.app")
        suite.setdefault("conclusion", None)
        _enum(suite, "conclusion", CHECK_CONCLUSIONS, where, nullable=True)
        for run_index, run in enumerate(_list(suite, "checkRuns", where=where)):
            run_where = f"{where}.checkRuns[{run_index}]"
            _object(run, run_where)
            _unique_id(run, run_where, ids.check_runs, "check run")
            _require(run, "name", str, run_where)
            _enum(run, "status", CHECK_STATUSES, run_where)
            run.setdefault("conclusion", None)
            _enum(run, "conclusion", CHECK_CONCLUSIONS, run_where, nullable=True)
            for key in ("startedAt", "completedAt"):
                run[key] = _date(run.get(key), f"{run_where}.{key}", nullable=True)

    pr.setdefault("commentCount", 0)
    _count(pr, "commentCount")
    _fill_auto_merge(pr)


MERGE_METHODS = frozenset({"MERGE", "REBASE", "SQUASH"})
MERGE_QUEUE_STATES = frozenset({"AWAITING_CHECKS", "LOCKED", "MERGEABLE", "QUEUED", "UNMERGEABLE"})


def _fill_auto_merge(pr: dict[str, Any]) -> None:
    """Optional `autoMergeRequest` {enabledAt, enabledBy, mergeMethod, ...} and
    `mergeQueueEntry` {enqueuedAt, enqueuer, position, state, ...}: absent or null when off."""
    auto = pr.get("autoMergeRequest")
    if auto is not None:
        _object(auto, "autoMergeRequest")
        auto["enabledAt"] = _date(
            auto.get("enabledAt"), "autoMergeRequest.enabledAt", nullable=True
        )
        auto["enabledBy"] = _actor(auto.get("enabledBy"), "autoMergeRequest.enabledBy")
        auto.setdefault("mergeMethod", "MERGE")
        _enum(auto, "mergeMethod", MERGE_METHODS, "autoMergeRequest")
    entry = pr.get("mergeQueueEntry")
    if entry is not None:
        _object(entry, "mergeQueueEntry")
        entry["enqueuedAt"] = _date(
            _get(entry, "enqueuedAt", "mergeQueueEntry"), "mergeQueueEntry.enqueuedAt"
        )
        entry["enqueuer"] = _actor(entry.get("enqueuer"), "mergeQueueEntry.enqueuer")
        entry.setdefault("position", 1)
        _count(entry, "position", "mergeQueueEntry")
        entry.setdefault("state", "QUEUED")
        _enum(entry, "state", MERGE_QUEUE_STATES, "mergeQueueEntry")

    for index, item in enumerate(_list(pr, "timelineItems")):
        where = f"timelineItems[{index}]"
        _object(item, where)
        _enum(item, "__typename", TIMELINE_TYPES, where)
        item["createdAt"] = _date(_get(item, "createdAt", where), f"{where}.createdAt")
        item["actor"] = _actor(item.get("actor"), f"{where}.actor")
        if item["__typename"] in ("ReviewRequestedEvent", "ReviewRequestRemovedEvent"):
            reviewer = item.setdefault("requestedReviewer", None)
            if reviewer is not None:
                _object(reviewer, f"{where}.requestedReviewer")
                is_team = reviewer.setdefault("__typename", "User") == "Team"
                _require(
                    reviewer, "slug" if is_team else "login", str, f"{where}.requestedReviewer"
                )

    for index, thread in enumerate(_list(pr, "reviewThreads")):
        where = f"reviewThreads[{index}]"
        _object(thread, where)
        _require(thread, "isResolved", bool, where)
        _require(thread, "path", str, where)
        thread.setdefault("commentCount", 1)
        _count(thread, "commentCount", where)


# --- small checks; each raises _Invalid with the key path at fault -------------------------


def _get(obj: dict[str, Any], key: str, where: str = "") -> Any:
    if key not in obj:
        raise _Invalid(f"missing key {_path(where, key)}")
    return obj[key]


def _require(
    obj: dict[str, Any], key: str, kind: type, where: str = "", *, nullable: bool = False
) -> None:
    value = _get(obj, key, where)
    if value is None and nullable:
        return
    # bool is an int subclass in Python; a JSON true is never a count or a number.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = {str: "a string", int: "an integer", bool: "true or false"}.get(kind, str(kind))
        if nullable:
            expected += " or null"
        raise _Invalid(f"{_path(where, key)} must be {expected}, got {_show(value)}")


def _count(obj: dict[str, Any], key: str, where: str = "") -> None:
    value = _get(obj, key, where)
    if not _is_int(value) or value < 0:
        raise _Invalid(f"{_path(where, key)} must be a non-negative integer, got {_show(value)}")


def _enum(
    obj: dict[str, Any],
    key: str,
    allowed: frozenset[str],
    where: str = "",
    *,
    nullable: bool = False,
) -> None:
    value = _get(obj, key, where)
    if value is None and nullable:
        return
    if value not in allowed:
        raise _Invalid(
            f"{_path(where, key)} must be one of {', '.join(sorted(allowed))}, got {_show(value)}"
        )


def _list(obj: dict[str, Any], key: str, *, required: bool = False, where: str = "") -> list[Any]:
    if required:
        value = _get(obj, key, where)
    else:
        value = obj.get(key)
        if value is None:
            value = obj[key] = []
    if not isinstance(value, list):
        raise _Invalid(f"{_path(where, key)} must be a list, got {_kind(value)}")
    return value


def _object(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise _Invalid(f"{where} must be an object, got {_kind(value)}")


def _actor(value: Any, where: str) -> dict[str, Any] | None:
    """Check a `{"__typename": "User"|"Bot", "login": ...}` actor; null is a deleted user."""
    if value is None:
        return None
    _object(value, where)
    _require(value, "login", str, where)
    typename = value.setdefault("__typename", "User")
    if typename not in ACTOR_TYPES:
        raise _Invalid(f"{where}.__typename must be User, Bot or Mannequin, got {_show(typename)}")
    return value


def _unique_id(obj: dict[str, Any], where: str, seen: set[int], what: str) -> None:
    value = _get(obj, "databaseId", where)
    if not _is_int(value) or value < 1:
        raise _Invalid(f"{where}.databaseId must be a positive integer, got {_show(value)}")
    if value in seen:
        raise _Invalid(f"{where}.databaseId {value} is already used by another {what}")
    seen.add(value)


def _date(value: Any, where: str, *, nullable: bool = False) -> str | None:
    """Return an ISO 8601 date as GitHub writes it (UTC, seconds, `Z`)."""
    if value is None:
        if nullable:
            return None
        raise _Invalid(f"{where} must be an ISO 8601 date, got null")
    if isinstance(value, str):
        if _CANONICAL_DATE.fullmatch(value):
            return value
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise _Invalid(f"{where} must be an ISO 8601 date with a time zone, got {_show(value)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
