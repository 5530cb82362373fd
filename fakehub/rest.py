"""REST bodies shaped as GitHub's OpenAPI description (../shared/github/rest/openapi-subset.json).

Pure functions from stored data to JSON-ready dicts; `api` is the base URL the client used
(fakehub's own), so `url` fields and `Link` headers lead back to fakehub.

Size: over 400 lines because it is one function per REST object fakehub serves (user,
repository, pull, check run, commit, review, file, status...), each shaped as its OpenAPI schema;
splitting them would scatter the one mapping from stored data to REST.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fakehub.store import Repo, fake_sha, stable_id
from fakehub.views import pr_view

__all__ = [
    "check_run_json",
    "link_header",
    "pull_json",
    "rate_limit_json",
    "repository_json",
    "user_json",
]

GHOST = {"login": "ghost", "id": 10137, "type": "User"}
DOCS = "https://docs.github.com/rest"


def user_json(api: str, actor: dict[str, Any] | None) -> dict[str, Any]:
    """A simple-user for a dataset actor; a Bot's login gets its "[bot]" suffix, null is ghost."""
    if actor is None:
        login, user_id, kind = GHOST["login"], GHOST["id"], "User"
    elif actor.get("__typename") == "Bot":
        login = actor["login"].removesuffix("[bot]") + "[bot]"
        user_id = actor.get("databaseId") or stable_id("bot:" + login.removesuffix("[bot]"))
        kind = "Bot"
    elif actor.get("__typename") == "Mannequin":
        # The same account GraphQL shows as a Mannequin: its id, its type.
        login = actor["login"]
        user_id = actor.get("databaseId") or stable_id("mannequin:" + login.lower())
        kind = "Mannequin"
    else:
        login = actor["login"]
        user_id = actor.get("databaseId") or stable_id("user:" + login.lower())
        kind = "User"
    users = f"{api}/users/{login}"
    return {
        "login": login,
        "id": user_id,
        "node_id": ("BOT_" if kind == "Bot" else "U_") + str(user_id),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": users,
        "html_url": f"https://github.com/{login}",
        "followers_url": f"{users}/followers",
        "following_url": f"{users}/following{{/other_user}}",
        "gists_url": f"{users}/gists{{/gist_id}}",
        "starred_url": f"{users}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{users}/subscriptions",
        "organizations_url": f"{users}/orgs",
        "repos_url": f"{users}/repos",
        "events_url": f"{users}/events{{/privacy}}",
        "received_events_url": f"{users}/received_events",
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


def repository_json(api: str, repo: Repo, *, full: bool = True) -> dict[str, Any]:
    """The repository object (`full-repository` when `full`, else `repository`)."""
    base = f"{api}/repos/{repo.full_name}"
    open_count = repo.state_counts["OPEN"]
    body: dict[str, Any] = {
        "id": repo.database_id,
        "node_id": repo.node_id,
        "name": repo.name,
        "full_name": repo.full_name,
        "private": False,
        "owner": user_json(api, {"__typename": "User", "login": repo.owner}),
        "html_url": f"https://github.com/{repo.full_name}",
        "description": repo.meta.get("description"),
        "fork": False,
        "url": base,
        "archive_url": f"{base}/{{archive_format}}{{/ref}}",
        "assignees_url": f"{base}/assignees{{/user}}",
        "blobs_url": f"{base}/git/blobs{{/sha}}",
        "branches_url": f"{base}/branches{{/branch}}",
        "collaborators_url": f"{base}/collaborators{{/collaborator}}",
        "comments_url": f"{base}/comments{{/number}}",
        "commits_url": f"{base}/commits{{/sha}}",
        "compare_url": f"{base}/compare/{{base}}...{{head}}",
        "contents_url": f"{base}/contents/{{+path}}",
        "contributors_url": f"{base}/contributors",
        "deployments_url": f"{base}/deployments",
        "downloads_url": f"{base}/downloads",
        "events_url": f"{base}/events",
        "forks_url": f"{base}/forks",
        "git_commits_url": f"{base}/git/commits{{/sha}}",
        "git_refs_url": f"{base}/git/refs{{/sha}}",
        "git_tags_url": f"{base}/git/tags{{/sha}}",
        "git_url": f"git://github.com/{repo.full_name}.git",
        "issue_comment_url": f"{base}/issues/comments{{/number}}",
        "issue_events_url": f"{base}/issues/events{{/number}}",
        "issues_url": f"{base}/issues{{/number}}",
        "keys_url": f"{base}/keys{{/key_id}}",
        "labels_url": f"{base}/labels{{/name}}",
        "languages_url": f"{base}/languages",
        "merges_url": f"{base}/merges",
        "milestones_url": f"{base}/milestones{{/number}}",
        "notifications_url": f"{base}/notifications{{?since,all,participating}}",
        "pulls_url": f"{base}/pulls{{/number}}",
        "releases_url": f"{base}/releases{{/id}}",
        "ssh_url": f"git@github.com:{repo.full_name}.git",
        "stargazers_url": f"{base}/stargazers",
        "statuses_url": f"{base}/statuses/{{sha}}",
        "subscribers_url": f"{base}/subscribers",
        "subscription_url": f"{base}/subscription",
        "tags_url": f"{base}/tags",
        "teams_url": f"{base}/teams",
        "trees_url": f"{base}/git/trees{{/sha}}",
        "clone_url": f"https://github.com/{repo.full_name}.git",
        "mirror_url": None,
        "hooks_url": f"{base}/hooks",
        "svn_url": f"https://github.com/{repo.full_name}",
        "homepage": repo.meta.get("homepage"),
        "language": repo.meta.get("language"),
        "forks_count": 0,
        "forks": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "watchers": 0,
        "size": 0,
        "default_branch": repo.default_branch,
        "open_issues_count": open_count,
        "open_issues": open_count,
        "is_template": False,
        "topics": [],
        "has_issues": True,
        "has_projects": True,
        "has_wiki": True,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "visibility": "public",
        "pushed_at": repo.pushed_at,
        "created_at": repo.created_at,
        "updated_at": repo.updated_at,
        "license": None,
        "allow_forking": True,
        "web_commit_signoff_required": False,
    }
    if full:
        body["network_count"] = 0
        body["subscribers_count"] = 0
    return body


def _label_json(api: str, repo: Repo, label: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": stable_id(f"label:{repo.full_name}:{label['name']}"),
        "node_id": "LA_" + str(stable_id(f"label:{repo.full_name}:{label['name']}")),
        "url": f"{api}/repos/{repo.full_name}/labels/{label['name']}",
        "name": label["name"],
        "description": label.get("description") or "",
        "color": label["color"],
        "default": False,
    }


def _milestone_json(api: str, repo: Repo, milestone: dict[str, Any] | None, created: str) -> Any:
    if milestone is None:
        return None
    number = milestone["number"]
    url = f"{api}/repos/{repo.full_name}/milestones/{number}"
    return {
        "url": url,
        "html_url": f"https://github.com/{repo.full_name}/milestone/{number}",
        "labels_url": f"{url}/labels",
        "id": stable_id(f"milestone:{repo.full_name}:{number}"),
        "node_id": f"MI_{stable_id(f'milestone:{repo.full_name}:{number}')}",
        "number": number,
        "state": "open",
        "title": milestone["title"],
        "description": None,
        "creator": user_json(api, {"__typename": "User", "login": repo.owner}),
        "open_issues": 0,
        "closed_issues": 0,
        "created_at": created,
        "updated_at": created,
        "closed_at": None,
        "due_on": milestone.get("dueOn"),
    }


def pull_json(
    api: str, repo: Repo, pr: dict[str, Any], repo_body: dict[str, Any]
) -> dict[str, Any]:
    """A `pull-request-simple` item of GET /repos/{o}/{r}/pulls."""
    view = pr_view(repo, pr)
    number = pr["number"]
    base = f"{api}/repos/{repo.full_name}"
    url = f"{base}/pulls/{number}"
    html = f"https://github.com/{repo.full_name}/pull/{number}"
    author = user_json(api, pr["author"])
    owner = user_json(api, {"__typename": "User", "login": repo.owner})
    assignees = [user_json(api, {"__typename": "User", **a}) for a in pr.get("assignees") or []]
    head_sha = view["headRefOid"]
    return {
        "url": url,
        "id": view["databaseId"],
        "node_id": view["id"],
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": f"{base}/issues/{number}",
        "commits_url": f"{url}/commits",
        "review_comments_url": f"{url}/comments",
        "review_comment_url": f"{base}/pulls/comments{{/number}}",
        "comments_url": f"{base}/issues/{number}/comments",
        "statuses_url": f"{base}/statuses/{head_sha}",
        "number": number,
        "state": "open" if pr["state"] == "OPEN" else "closed",
        "locked": False,
        "title": pr["title"],
        "user": author,
        "body": pr["body"] or None,
        "labels": [_label_json(api, repo, label) for label in pr.get("labels") or []],
        "milestone": _milestone_json(api, repo, pr.get("milestone"), pr["createdAt"]),
        "active_lock_reason": None,
        "created_at": pr["createdAt"],
        "updated_at": pr["updatedAt"],
        "closed_at": pr["closedAt"],
        "merged_at": pr["mergedAt"],
        "merge_commit_sha": fake_sha(f"merge:{repo.full_name}#{number}")
        if pr["state"] == "MERGED"
        else None,
        "assignee": assignees[0] if assignees else None,
        "assignees": assignees,
        "requested_reviewers": [
            user_json(api, {"__typename": "User", **r}) for r in pr.get("reviewRequests") or []
        ],
        "requested_teams": [],
        "head": {
            "label": f"{repo.owner}:{view['headRefName']}",
            "ref": view["headRefName"],
            "repo": repo_body,
            "sha": head_sha,
            "user": owner,
        },
        "base": {
            "label": f"{repo.owner}:{view['baseRefName']}",
            "ref": view["baseRefName"],
            "repo": repo_body,
            "sha": view["baseRefOid"],
            "user": owner,
        },
        "_links": {
            "self": {"href": url},
            "html": {"href": html},
            "issue": {"href": f"{base}/issues/{number}"},
            "comments": {"href": f"{base}/issues/{number}/comments"},
            "review_comments": {"href": f"{url}/comments"},
            "review_comment": {"href": f"{base}/pulls/comments{{/number}}"},
            "commits": {"href": f"{url}/commits"},
            "statuses": {"href": f"{base}/statuses/{head_sha}"},
        },
        "author_association": "CONTRIBUTOR",
        "auto_merge": None,
        "draft": pr["isDraft"],
    }


def check_run_json(
    api: str, repo: Repo, pr: dict[str, Any], run_view: dict[str, Any], head_sha: str
) -> dict[str, Any]:
    """A `check-run` (statuses and conclusions in REST's lower case)."""
    suite = run_view["checkSuite"]
    app = suite["app"]
    run_id = run_view["databaseId"]
    base = f"{api}/repos/{repo.full_name}"
    owner = user_json(api, {"__typename": "User", "login": repo.owner})
    return {
        "id": run_id,
        "head_sha": head_sha,
        "node_id": run_view["id"],
        "external_id": "",
        "url": f"{base}/check-runs/{run_id}",
        "html_url": run_view["url"],
        "details_url": run_view["detailsUrl"],
        "status": run_view["status"].lower(),
        "conclusion": run_view["conclusion"].lower() if run_view["conclusion"] else None,
        "started_at": run_view["startedAt"],
        "completed_at": run_view["completedAt"],
        "output": {
            "title": None,
            "summary": None,
            "text": None,
            "annotations_count": 0,
            "annotations_url": f"{base}/check-runs/{run_id}/annotations",
        },
        "name": run_view["name"],
        "check_suite": {"id": suite["databaseId"]},
        "app": None
        if app is None
        else {
            "id": app["databaseId"],
            "slug": app["slug"],
            "node_id": app["id"],
            "owner": owner,
            "name": app["name"],
            "description": None,
            "external_url": f"https://github.com/apps/{app['slug']}",
            "html_url": f"https://github.com/apps/{app['slug']}",
            "created_at": "2018-01-01T00:00:00Z",
            "updated_at": "2018-01-01T00:00:00Z",
            "permissions": {"checks": "write", "metadata": "read"},
            "events": [],
        },
        "pull_requests": [
            {
                "id": pr_view(repo, pr)["databaseId"],
                "number": pr["number"],
                "url": f"{base}/pulls/{pr['number']}",
                "head": {
                    "ref": pr_view(repo, pr)["headRefName"],
                    "sha": head_sha,
                    "repo": {"id": repo.database_id, "url": base, "name": repo.name},
                },
                "base": {
                    "ref": pr_view(repo, pr)["baseRefName"],
                    "sha": pr_view(repo, pr)["baseRefOid"],
                    "repo": {"id": repo.database_id, "url": base, "name": repo.name},
                },
            }
        ],
    }


def rate_limit_json(budgets: dict[str, dict[str, int]]) -> dict[str, Any]:
    """GET /rate_limit: `resources` per resource, plus the legacy `rate` (core)."""
    resources = {name: dict(values) for name, values in budgets.items()}
    return {"resources": resources, "rate": dict(resources["core"])}


def link_header(url_base: str, params: dict[str, str], page: int, last_page: int) -> str | None:
    """GitHub's Link header (absolute URLs): next/last after this page, first/prev before it."""
    links = []

    def at(number: int) -> str:
        return f"{url_base}?{urlencode({**params, 'page': str(number)})}"

    if page < last_page:
        links.append(f'<{at(page + 1)}>; rel="next"')
        links.append(f'<{at(last_page)}>; rel="last"')
    if page > 1:
        links.append(f'<{at(1)}>; rel="first"')
        links.append(f'<{at(min(page - 1, last_page))}>; rel="prev"')
    return ", ".join(links) or None


# --- the endpoints peers call (Perceval, tap-github) --------------------------------------

_FILE_STATUS = {
    "ADDED": "added",
    "DELETED": "removed",
    "MODIFIED": "modified",
    "RENAMED": "renamed",
    "COPIED": "copied",
    "CHANGED": "changed",
}


def pull_full_json(
    api: str, repo: Repo, pr: dict[str, Any], repo_body: dict[str, Any]
) -> dict[str, Any]:
    """A `pull-request` (GET /repos/{o}/{r}/pulls/{n}): the list item plus counts and merge data."""
    body = pull_json(api, repo, pr, repo_body)
    merged = pr["state"] == "MERGED"
    body.update(
        {
            "merged": merged,
            "mergeable": None if pr["state"] != "OPEN" else True,
            "rebaseable": None if pr["state"] != "OPEN" else True,
            "mergeable_state": "unknown" if pr["state"] != "OPEN" else "clean",
            "merged_by": user_json(api, pr["mergedBy"]) if merged and pr["mergedBy"] else None,
            "comments": pr.get("commentCount", 0),
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": len(pr["commits"]),
            "additions": pr["additions"],
            "deletions": pr["deletions"],
            "changed_files": pr["changedFiles"],
        }
    )
    return body


def issue_json(api: str, repo: Repo, pr: dict[str, Any]) -> dict[str, Any]:
    """An item of GET /repos/{o}/{r}/issues for a PR (GitHub lists PRs as issues, with a
    `pull_request` key)."""
    number = pr["number"]
    base = f"{api}/repos/{repo.full_name}"
    url = f"{base}/issues/{number}"
    assignees = [user_json(api, {"__typename": "User", **a}) for a in pr.get("assignees") or []]
    view = pr_view(repo, pr)
    return {
        "url": url,
        "repository_url": base,
        "labels_url": f"{url}/labels{{/name}}",
        "comments_url": f"{url}/comments",
        "events_url": f"{url}/events",
        "html_url": f"https://github.com/{repo.full_name}/pull/{number}",
        "id": view["databaseId"],
        "node_id": view["id"],
        "number": number,
        "title": pr["title"],
        "user": user_json(api, pr["author"]),
        "labels": [_label_json(api, repo, label) for label in pr.get("labels") or []],
        "state": "open" if pr["state"] == "OPEN" else "closed",
        "locked": False,
        "assignee": assignees[0] if assignees else None,
        "assignees": assignees,
        "milestone": _milestone_json(api, repo, pr.get("milestone"), pr["createdAt"]),
        "comments": pr.get("commentCount", 0),
        "created_at": pr["createdAt"],
        "updated_at": pr["updatedAt"],
        "closed_at": pr["closedAt"],
        "author_association": "CONTRIBUTOR",
        "active_lock_reason": None,
        "draft": pr["isDraft"],
        "pull_request": {
            "url": f"{base}/pulls/{number}",
            "html_url": f"https://github.com/{repo.full_name}/pull/{number}",
            "diff_url": f"https://github.com/{repo.full_name}/pull/{number}.diff",
            "patch_url": f"https://github.com/{repo.full_name}/pull/{number}.patch",
            "merged_at": pr["mergedAt"],
        },
        "body": pr["body"] or None,
        "state_reason": "completed" if pr["state"] == "MERGED" else None,
    }


def commit_json(api: str, repo: Repo, commit: dict[str, Any], parent: str | None) -> dict[str, Any]:
    """A `commit` of GET /pulls/{n}/commits."""
    sha = commit["oid"]
    base = f"{api}/repos/{repo.full_name}"
    author = commit.get("author") or {}
    login = author.get("login")
    git_author = {
        "name": author.get("name") or "",
        "email": author.get("email") or "",
        "date": commit["authoredDate"],
    }
    git_committer = {**git_author, "date": commit["committedDate"]}
    user = user_json(api, {"__typename": "User", "login": login}) if login else None
    return {
        "url": f"{base}/commits/{sha}",
        "sha": sha,
        "node_id": "C_" + sha[:20],
        "html_url": f"https://github.com/{repo.full_name}/commit/{sha}",
        "comments_url": f"{base}/commits/{sha}/comments",
        "commit": {
            "url": f"{base}/git/commits/{sha}",
            "author": git_author,
            "committer": git_committer,
            "message": commit["message"],
            "comment_count": 0,
            "tree": {
                "sha": fake_sha("tree:" + sha),
                "url": f"{base}/git/trees/{fake_sha('tree:' + sha)}",
            },
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "payload": None,
                "signature": None,
                "verified_at": None,
            },
        },
        "author": user,
        "committer": user,
        "parents": []
        if parent is None
        else [
            {
                "sha": parent,
                "url": f"{base}/commits/{parent}",
                "html_url": f"https://github.com/{repo.full_name}/commit/{parent}",
            }
        ],
    }


def review_json(api: str, repo: Repo, pr: dict[str, Any], review: dict[str, Any]) -> dict[str, Any]:
    """A `pull-request-review`."""
    number = pr["number"]
    html = f"https://github.com/{repo.full_name}/pull/{number}"
    pull_url = f"{api}/repos/{repo.full_name}/pulls/{number}"
    view = pr_view(repo, pr)
    body = {
        "id": review["databaseId"],
        "node_id": f"PRR_{review['databaseId']}",
        "user": user_json(api, review["author"]),
        "body": review["body"],
        "state": review["state"],
        "html_url": f"{html}#pullrequestreview-{review['databaseId']}",
        "pull_request_url": pull_url,
        "_links": {
            "html": {"href": f"{html}#pullrequestreview-{review['databaseId']}"},
            "pull_request": {"href": pull_url},
        },
        "commit_id": view["headRefOid"],
        "author_association": "CONTRIBUTOR",
    }
    if review.get("submittedAt"):
        body["submitted_at"] = review["submittedAt"]
    return body


def file_json(api: str, repo: Repo, file: dict[str, Any], head_sha: str) -> dict[str, Any]:
    """A `diff-entry` of GET /pulls/{n}/files."""
    path = file["path"]
    return {
        "sha": fake_sha(f"blob:{head_sha}:{path}"),
        "filename": path,
        "status": _FILE_STATUS.get(file["changeType"], "modified"),
        "additions": file["additions"],
        "deletions": file["deletions"],
        "changes": file["additions"] + file["deletions"],
        "blob_url": f"https://github.com/{repo.full_name}/blob/{head_sha}/{path}",
        "raw_url": f"https://github.com/{repo.full_name}/raw/{head_sha}/{path}",
        "contents_url": f"{api}/repos/{repo.full_name}/contents/{path}?ref={head_sha}",
    }


def issue_comment_json(
    api: str, repo: Repo, pr: dict[str, Any], comment: dict[str, Any]
) -> dict[str, Any]:
    """An issue comment (the PR conversation; datasets carry only their count)."""
    base = f"{api}/repos/{repo.full_name}"
    return {
        "id": comment["databaseId"],
        "node_id": comment["id"],
        "url": f"{base}/issues/comments/{comment['databaseId']}",
        "html_url": f"https://github.com/{repo.full_name}/pull/{pr['number']}#issuecomment-{comment['databaseId']}",
        "issue_url": f"{base}/issues/{pr['number']}",
        "body": comment["body"],
        "user": user_json(api, None),
        "created_at": comment["createdAt"],
        "updated_at": comment["createdAt"],
        "author_association": "NONE",
    }


def public_user_json(api: str, login: str) -> dict[str, Any]:
    """GET /users/{login}: a public user (or a Bot, by its "[bot]" suffix)."""
    kind = "Bot" if login.endswith("[bot]") else "User"
    body = user_json(api, {"__typename": kind, "login": login})
    body.update(
        {
            "name": None,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": 0,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": "2015-01-01T00:00:00Z",
            "updated_at": "2015-01-01T00:00:00Z",
        }
    )
    return body


def combined_status_json(api: str, repo: Repo, pr: dict[str, Any], sha: str) -> dict[str, Any]:
    """GET /commits/{ref}/status from the PR's status contexts (fakehub's `statusContexts`)."""
    base = f"{api}/repos/{repo.full_name}"
    statuses = []
    for index, status in enumerate(pr.get("statusContexts") or []):
        created = status.get("createdAt") or pr["updatedAt"]
        statuses.append(
            {
                "id": stable_id(f"status:{sha}:{index}"),
                "node_id": f"SC_{stable_id(f'status:{sha}:{index}')}",
                "url": f"{base}/statuses/{sha}",
                "avatar_url": None,
                "state": status["state"].lower(),
                "description": status.get("description"),
                "target_url": status.get("targetUrl"),
                "context": status["context"],
                "created_at": created,
                "updated_at": created,
            }
        )
    states = {s["state"] for s in statuses}
    state = (
        "failure"
        if states & {"failure", "error"}
        else "pending"
        if not statuses or "pending" in states
        else "success"
    )
    return {
        "state": state,
        "statuses": statuses,
        "sha": sha,
        "total_count": len(statuses),
        "repository": repository_json(api, repo, full=False),
        "commit_url": f"{base}/commits/{sha}",
        "url": f"{base}/commits/{sha}/status",
    }
