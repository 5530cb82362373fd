"""GraphQL-shaped views of stored PRs: the dicts graphql-core's default resolvers read.

A view maps each GraphQL field of our SDL to its value; connection fields hold the full list
(the connection resolvers in `fakehub.graphql_api` slice it into pages). Views are built on
first use and cached per PR until the PR changes.

Size: over 400 lines because building the PullRequest object is one job: one mapping from a
dataset PR to every field of the SDL (checks, statuses, commits, reviews, timeline, merge data),
with the ids and URLs each nested object needs; splitting it would scatter that mapping.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, overload

from fakehub.store import Repo, fake_sha, stable_id

__all__ = ["actor_view", "mentionable_users", "pr_view", "repo_view"]

MAX_FILES = 3000  # files of a PR GitHub lists (see _build_pr_view)

_FAILING = {"FAILURE", "TIMED_OUT", "CANCELLED", "ACTION_REQUIRED", "STARTUP_FAILURE", "STALE"}


def _nid(prefix: str, text: str) -> str:
    return prefix + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


_actors: dict[tuple[str, str, Any, Any], dict[str, Any]] = {}


def actor_view(actor: dict[str, Any] | None) -> dict[str, Any] | None:
    """A User or Bot object for a dataset actor (`{"__typename", "login"}`); None stays None."""
    if actor is None:
        return None
    typename = actor.get("__typename") or "User"
    login = actor["login"]
    key = (typename, login, actor.get("name"), actor.get("databaseId"))
    view = _actors.get(key)
    if view is not None:
        return view
    if typename == "Bot":
        # GraphQL shows a Bot's login without the "[bot]" suffix REST adds.
        login = login.removesuffix("[bot]")
        view = {
            "__typename": "Bot",
            "id": _nid("BOT_", login),
            "databaseId": actor.get("databaseId") or stable_id("bot:" + login),
            "login": login,
            "url": f"https://github.com/apps/{login}",
        }
    elif typename == "Mannequin":
        # An account imported from another code host, not yet claimed by a user
        # (docs.github.com/graphql/reference/objects#mannequin).
        view = {
            "__typename": "Mannequin",
            "id": _nid("MQ_", login),
            "databaseId": actor.get("databaseId") or stable_id("mannequin:" + login.lower()),
            "login": login,
            "email": actor.get("email"),
            "createdAt": actor.get("createdAt") or "2019-01-01T00:00:00Z",
            "claimant": None,
            "url": f"https://github.com/{login}",
        }
    elif typename == "Team":
        slug = actor.get("slug") or login
        view = {
            "__typename": "Team",
            "id": _nid("T_", slug),
            "name": actor.get("name") or slug,
            "slug": slug,
        }
    else:
        view = {
            "__typename": "User",
            "id": _nid("U_", login),
            "databaseId": actor.get("databaseId") or stable_id("user:" + login.lower()),
            "login": login,
            "name": actor.get("name"),
            "email": actor.get("email") or "",
            "url": f"https://github.com/{login}",
        }
    if len(_actors) < 100_000:
        _actors[key] = view
    return view


def mentionable_users(repo: Repo) -> list[dict[str, Any]]:
    """The User views of everyone taking part in `repo`'s PRs, by login; cached per version."""
    cached = getattr(repo, "_mentionable", None)
    if cached is not None and cached[0] == repo.version:
        return cached[1]
    people: dict[str, dict[str, Any]] = {}

    def add(actor: dict[str, Any] | None) -> None:
        if actor and (actor.get("__typename") or "User") == "User":
            people.setdefault(actor["login"].lower(), {"__typename": "User", **actor})

    for pr in repo.prs.values():
        add(pr.get("author"))
        add(pr.get("mergedBy"))
        for review in pr.get("reviews") or ():
            add(review.get("author"))
        for person in (*(pr.get("assignees") or ()), *(pr.get("reviewRequests") or ())):
            add(person)
    users = [actor_view(people[login]) for login in sorted(people)]
    repo._mentionable = (repo.version, users)  # type: ignore[attr-defined]
    return users


def repo_view(repo: Repo) -> dict[str, Any]:
    """The Repository object (pullRequests/pullRequest are resolved from `_repo`)."""
    return {
        "__typename": "Repository",
        "_repo": repo,
        "id": repo.node_id,
        "databaseId": repo.database_id,
        "name": repo.name,
        "nameWithOwner": repo.full_name,
        "url": f"https://github.com/{repo.full_name}",
        "createdAt": repo.created_at,
        "pushedAt": repo.pushed_at,
        "updatedAt": repo.updated_at,
        "defaultBranchRef": {
            "id": _nid("REF_", f"{repo.full_name}:{repo.default_branch}"),
            "name": repo.default_branch,
            "prefix": "refs/heads/",
        },
    }


class _Comments(Sequence[dict[str, Any]]):
    """A PR's `commentCount` comments, made up on demand (datasets only carry the count)."""

    def __init__(self, pr_key: str, count: int, created_at: str) -> None:
        self._key, self._count, self._created_at = pr_key, count, created_at

    def __len__(self) -> int:
        return self._count

    def _one(self, index: int) -> dict[str, Any]:
        return {
            "id": _nid("IC_", f"{self._key}:{index}"),
            "databaseId": stable_id(f"comment:{self._key}:{index}"),
            "body": f"Comment {index + 1}",
            "createdAt": self._created_at,
            "author": None,
        }

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self._one(i) for i in range(*index.indices(self._count))]
        if not -self._count <= index < self._count:
            raise IndexError(index)
        return self._one(index % self._count)


def _suite_status(runs: list[dict[str, Any]], conclusion: str | None) -> str:
    if not runs:
        return "COMPLETED" if conclusion else "QUEUED"
    statuses = {run["status"] for run in runs}
    if statuses == {"COMPLETED"}:
        return "COMPLETED"
    return "IN_PROGRESS" if "IN_PROGRESS" in statuses else "QUEUED"


def _rollup_state(runs: list[dict[str, Any]], statuses: list[dict[str, Any]]) -> str:
    """GitHub's combined state: failure wins, then pending, else success."""
    if any(run["conclusion"] in _FAILING for run in runs):
        return "FAILURE"
    if any(status["state"] in ("FAILURE", "ERROR") for status in statuses):
        return "ERROR" if any(s["state"] == "ERROR" for s in statuses) else "FAILURE"
    if any(run["status"] != "COMPLETED" for run in runs) or any(
        status["state"] in ("PENDING", "EXPECTED") for status in statuses
    ):
        return "PENDING"
    return "SUCCESS"


def pr_view(repo: Repo, pr: dict[str, Any]) -> dict[str, Any]:
    """The PullRequest object for a stored PR, cached on the repository until the PR changes."""
    number = pr["number"]
    cached = repo.views.get(number)
    if cached is not None and cached["_pr"] is pr:
        return cached
    view = _build_pr_view(repo, pr)
    repo.views[number] = view
    return view


def _build_pr_view(repo: Repo, pr: dict[str, Any]) -> dict[str, Any]:
    number = pr["number"]
    full = repo.full_name
    key = f"{repo.id_name}#{number}"  # ids survive a rename; URLs follow it
    url = f"https://github.com/{full}/pull/{number}"
    commits = pr["commits"]
    last_oid = commits[-1]["oid"] if commits else fake_sha(f"head:{key}")

    suites: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    for index, suite in enumerate(pr.get("checkSuites") or []):
        app = suite.get("app")
        suite_view: dict[str, Any] = {
            "id": _nid("CS_", f"{key}:{index}"),
            "databaseId": stable_id(f"suite:{key}:{index}"),
            "app": None
            if app is None
            else {
                "id": _nid("A_", app["name"]),
                "databaseId": stable_id("app:" + app["name"]),
                "name": app["name"],
                "slug": app.get("slug") or app["name"].lower().replace(" ", "-"),
            },
            "conclusion": suite.get("conclusion"),
            "status": _suite_status(suite.get("checkRuns") or [], suite.get("conclusion")),
        }
        suite_runs = []
        for run in suite.get("checkRuns") or []:
            run_view = {
                "__typename": "CheckRun",
                "id": _nid("CR_", str(run["databaseId"])),
                "databaseId": run["databaseId"],
                "name": run["name"],
                "status": run["status"],
                "conclusion": run.get("conclusion"),
                "startedAt": run.get("startedAt"),
                "completedAt": run.get("completedAt"),
                "detailsUrl": f"https://github.com/{full}/runs/{run['databaseId']}",
                "url": f"https://github.com/{full}/runs/{run['databaseId']}",
                "checkSuite": suite_view,
            }
            suite_runs.append(run_view)
        suite_view["checkRuns"] = suite_runs
        suites.append(suite_view)
        runs.extend(suite_runs)
    statuses = [
        {
            "__typename": "StatusContext",
            "id": _nid("SC_", f"{key}:{index}"),
            "context": status["context"],
            "state": status["state"],
            "createdAt": status.get("createdAt") or pr["updatedAt"],
            "description": status.get("description"),
            "targetUrl": status.get("targetUrl"),
        }
        for index, status in enumerate(pr.get("statusContexts") or [])
    ]

    commit_views = []
    for index, commit in enumerate(commits):
        author = commit.get("author")
        login = author.get("login") if author else None
        commit_view: dict[str, Any] = {
            "id": _nid("C_", f"{full}:{commit['oid']}"),
            "oid": commit["oid"],
            "message": commit["message"],
            "messageHeadline": commit["messageHeadline"],
            "authoredDate": commit["authoredDate"],
            "committedDate": commit["committedDate"],
            "additions": commit["additions"],
            "deletions": commit["deletions"],
            "url": f"https://github.com/{full}/commit/{commit['oid']}",
            "author": None
            if author is None
            else {
                "name": author.get("name"),
                "email": author.get("email"),
                "date": commit["authoredDate"],
                "user": actor_view({"__typename": "User", "login": login}) if login else None,
            },
            "checkSuites": [],
            "statusCheckRollup": None,
        }
        if index == len(commits) - 1:
            commit_view["checkSuites"] = suites
        commit_views.append(
            {
                "id": _nid("PURC_", f"{key}:{commit['oid']}"),
                "url": f"{url}/commits/{commit['oid']}",
                "commit": commit_view,
            }
        )
    # A status names the commit it was set on: the PR's head (the rollup's commit).
    head_commit = commit_views[-1]["commit"] if commit_views else None
    for status in statuses:
        status["commit"] = head_commit
    rollup = None
    if runs or statuses:
        rollup = {
            "id": _nid("SCR_", f"{key}:{last_oid}"),
            "state": _rollup_state(runs, statuses),
            "contexts": runs + statuses,
            "commit": commit_views[-1]["commit"] if commit_views else None,
        }
        if commit_views:
            commit_views[-1]["commit"]["statusCheckRollup"] = rollup

    milestone = pr.get("milestone")
    view = {
        "__typename": "PullRequest",
        "_pr": pr,
        "_repo": repo,
        "id": "PR_" + base64.urlsafe_b64encode(key.encode()).decode().rstrip("="),
        "databaseId": pr.get("databaseId") or (repo.database_id % 20_000) * 100_000 + number,
        "number": number,
        "title": pr["title"],
        "body": pr["body"],
        "url": url,
        "state": pr["state"],
        "isDraft": pr["isDraft"],
        "createdAt": pr["createdAt"],
        "updatedAt": pr["updatedAt"],
        "mergedAt": pr["mergedAt"],
        "closedAt": pr["closedAt"],
        "merged": pr["state"] == "MERGED",
        "closed": pr["state"] != "OPEN",
        "additions": pr["additions"],
        "deletions": pr["deletions"],
        "changedFiles": pr["changedFiles"],
        "headRefName": pr["headRefName"] or f"pr-{number}",
        "baseRefName": pr["baseRefName"] or repo.default_branch,
        "headRefOid": last_oid,
        "baseRefOid": fake_sha(f"base:{key}"),
        "author": actor_view(pr["author"]),
        "mergedBy": actor_view(pr["mergedBy"]),
        "milestone": None
        if milestone is None
        else {
            "id": _nid("MI_", f"{full}:{milestone['number']}"),
            "number": milestone["number"],
            "title": milestone["title"],
            "dueOn": milestone.get("dueOn"),
        },
        # "How many comments this pull request has received": its conversation's comments and
        # its review threads' comments (docs.github.com: graphql/reference/objects#pullrequest).
        "totalCommentsCount": pr.get("commentCount", 0)
        + sum(thread["commentCount"] for thread in pr.get("reviewThreads") or ()),
        "labels": [
            {
                "id": _nid("LA_", f"{full}:{label['name']}"),
                "name": label["name"],
                "color": label["color"],
            }
            for label in pr.get("labels") or []
        ],
        "assignees": [actor_view({"__typename": "User", **a}) for a in pr.get("assignees") or []],
        "closingIssuesReferences": [
            {
                "id": _nid("I_", f"{full}#{issue['number']}"),
                "number": issue["number"],
                "title": issue["title"],
                "url": f"https://github.com/{full}/issues/{issue['number']}",
            }
            for issue in pr.get("closingIssuesReferences") or []
        ],
        "reviewRequests": [
            {
                "id": _nid("RR_", f"{key}:{index}"),
                "requestedReviewer": actor_view({"__typename": "User", **request}),
            }
            for index, request in enumerate(pr.get("reviewRequests") or [])
        ],
        "reviews": [
            {
                "id": _nid("PRR_", str(review["databaseId"])),
                "databaseId": review["databaseId"],
                "author": actor_view(review["author"]),
                "state": review["state"],
                "body": review["body"],
                "submittedAt": review["submittedAt"],
                "createdAt": review["submittedAt"] or pr["createdAt"],
            }
            for review in pr.get("reviews") or []
        ],
        "comments": _Comments(key, pr.get("commentCount", 0), pr["createdAt"]),
        "timelineItems": [
            _timeline_item_view(key, index, item)
            for index, item in enumerate(pr.get("timelineItems") or [])
        ],
        "reviewThreads": [
            {
                "id": _nid("PRRT_", f"{key}:{index}"),
                "isResolved": thread["isResolved"],
                "isOutdated": thread.get("isOutdated", False),
                "path": thread["path"],
            }
            for index, thread in enumerate(pr.get("reviewThreads") or [])
        ],
        # docs.github.com/rest/pulls/pulls#list-pull-requests-files: "Responses include a
        # maximum of 3000 files"; GitHub's GraphQL `files` lists the same capped set, while
        # `changedFiles` keeps the PR's own count.
        "files": pr["files"][:MAX_FILES],
        "commits": commit_views,
        "statusCheckRollup": rollup,
    }
    view["autoMergeRequest"] = _auto_merge_view(pr.get("autoMergeRequest"), view)
    view["mergeQueueEntry"] = _merge_queue_view(pr.get("mergeQueueEntry"), view, key, commit_views)
    return view


def _auto_merge_view(auto: dict[str, Any] | None, pr: dict[str, Any]) -> dict[str, Any] | None:
    """PullRequest.autoMergeRequest: set while auto-merge is enabled on an open PR
    (docs.github.com/graphql/reference/objects#automergerequest)."""
    if not auto:
        return None
    return {
        "authorEmail": auto.get("authorEmail"),
        "commitBody": auto.get("commitBody"),
        "commitHeadline": auto.get("commitHeadline"),
        "enabledAt": auto.get("enabledAt"),
        "enabledBy": actor_view(auto.get("enabledBy")),
        "mergeMethod": auto.get("mergeMethod") or "MERGE",
        "pullRequest": pr,
    }


def _merge_queue_view(
    entry: dict[str, Any] | None,
    pr: dict[str, Any],
    key: str,
    commit_views: list[dict[str, Any]],
) -> dict[str, Any] | None:
    """PullRequest.mergeQueueEntry: the PR's place in its base branch's merge queue
    (docs.github.com/graphql/reference/objects#mergequeueentry)."""
    if not entry:
        return None
    return {
        "id": _nid("MQE_", key),
        "baseCommit": None,
        "headCommit": commit_views[-1]["commit"] if commit_views else None,
        "enqueuedAt": entry["enqueuedAt"],
        "enqueuer": actor_view(entry.get("enqueuer")) or actor_view({"login": "ghost"}),
        "estimatedTimeToMerge": entry.get("estimatedTimeToMerge"),
        "jump": bool(entry.get("jump", False)),
        "position": int(entry.get("position", 1)),
        "pullRequest": pr,
        "solo": bool(entry.get("solo", False)),
        "state": entry.get("state") or "QUEUED",
    }


def _timeline_item_view(pr_key: str, index: int, item: dict[str, Any]) -> dict[str, Any]:
    """A timeline event of a PR (ReadyForReviewEvent, ReviewRequestedEvent, ...)."""
    view: dict[str, Any] = {
        "__typename": item["__typename"],
        "id": _nid("TE_", f"{pr_key}:{index}"),
        "createdAt": item["createdAt"],
        "actor": actor_view(item.get("actor")),
    }
    if "requestedReviewer" in item:
        view["requestedReviewer"] = actor_view(item["requestedReviewer"])
    return view
