"""REST: GET /rate_limit, the ETag / 304 and point accounting of every other REST answer, and
the routes from a path to its resource (repositories, pulls, check runs, commits, and the
endpoints peers call: issues, one PR and its parts, statuses, users).

Choices where GitHub varies: REST checks the primary limit before `If-None-Match`, so an
exhausted token gets 403, not 304. Routes are pure (the store in, (status, body, headers)
out); bodies come from rest.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from fakehub import rest
from fakehub.limits import Budget, rate_limited
from fakehub.rest import DOCS as REST_DOCS
from fakehub.store import Repo, Store
from fakehub.views import pr_view

if TYPE_CHECKING:
    from fakehub.http import Handler

__all__ = ["answer_rest", "commit_index", "route"]

Routed = tuple[int, Any, dict[str, str]]

_REPO_PATH = re.compile(r"^/repos/([^/]+)/([^/]+)(/.*)?$")


def answer_rest(
    req: Handler, tok: str, path: str, prefix: str, query: str, log: dict[str, Any]
) -> int:
    """Answer one REST request of token hash `tok` below `prefix`; returns the status sent."""
    hub = req.hub
    if path == "/rate_limit" and req.command == "GET":
        core = hub.limiter.peek(tok, "core")
        graphql = hub.limiter.peek(tok, "graphql")
        now = int(hub.clock())
        budgets = {
            "core": _limit_values(core),
            "graphql": _limit_values(graphql),
            "search": {"limit": 30, "remaining": 30, "reset": now + 60, "used": 0},
        }
        req.send(200, rest.rate_limit_json(budgets), core.headers())
        return 200
    if hub.limiter.peek(tok, "core").remaining <= 0:
        raise rate_limited(req, tok, "core")
    params = {key: values[-1] for key, values in parse_qs(query).items()}
    api = req.base_url() + prefix
    status, body, headers = route(hub.store, req.command, api, path, params, req.path)
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    etag = '"' + hashlib.sha256(payload).hexdigest()[:40] + '"'
    headers["ETag"] = etag
    if status == 200 and _etag_matches(req.headers.get("If-None-Match"), etag):
        # docs.github.com: a 304 to a conditional request costs no primary rate-limit point.
        hub.accounting.add(tok, not_modified=1)
        req.send(304, None, {**hub.limiter.peek(tok, "core").headers(), **headers})
        return 304
    ok, budget = hub.limiter.charge(tok, "core", 1)
    if not ok:
        raise rate_limited(req, tok, "core")
    hub.accounting.add(tok, rest_points=1)
    log["cost"] = 1
    req.send(status, payload, {**budget.headers(), **headers})
    return status


def route(
    store: Store, method: str, api: str, path: str, params: dict[str, str], request_path: str
) -> Routed:
    """(status, body, headers) of `method path` (below the REST base `api`); `request_path`
    is the path as requested, query included (a redirect keeps its query)."""
    not_found = (404, {"message": "Not Found", "documentation_url": REST_DOCS}, {})
    if method != "GET":
        return not_found
    path = path.rstrip("/") or "/"
    user = re.fullmatch(r"/users/([A-Za-z0-9][A-Za-z0-9-]*(?:\[bot\])?)(/orgs)?", path)
    if user:
        if user.group(2):
            return _paginate(api + path, [], params)
        return 200, rest.public_user_json(api, user.group(1)), {}
    match = _REPO_PATH.match(path)
    if not match:
        return not_found
    owner, name, rest_path = match.group(1), match.group(2), match.group(3) or ""
    repo = store.get_repo(owner, name)
    if repo is None and (moved := store.moved_repo(owner, name)) is not None:
        return _moved(api, moved.full_name, rest_path, request_path)
    if repo is None:
        return not_found
    if rest_path == "":
        return 200, rest.repository_json(api, repo), {}
    if rest_path == "/pulls":
        return _pulls(store, api, repo, params)
    check_runs = re.fullmatch(r"/commits/([^/]+)/check-runs", rest_path)
    if check_runs:
        return _check_runs(api, repo, check_runs.group(1), params)
    single_commit = re.fullmatch(r"/commits/([^/]+)", rest_path)
    if single_commit:
        return _single_commit(store, api, repo, single_commit.group(1), params)
    return _peer_route(store, api, repo, rest_path, params) or not_found


def _paginate(url: str, items: list[Any], params: dict[str, str]) -> Routed:
    """One page of `items` by per_page (<= 100) and page, with GitHub's Link header."""
    chosen, headers = _page_of(url, items, params)
    return 200, chosen, headers


def _page_of(
    url: str, items: list[Any], params: dict[str, str], *, most: int = 100, default: int = 30
) -> tuple[list[Any], dict[str, str]]:
    """The page of `items` that per_page (at most `most`, `default` when absent) and page ask
    for, and the headers carrying GitHub's Link to the other pages."""
    per_page = min(most, max(1, _int(params.get("per_page"), default)))
    page = max(1, _int(params.get("page"), 1))
    chosen = items[(page - 1) * per_page : page * per_page]
    headers: dict[str, str] = {}
    last_page = max(1, -(-len(items) // per_page))
    link_params = {k: v for k, v in params.items() if k != "page"}
    if link := rest.link_header(url, link_params, page, last_page):
        headers["Link"] = link
    return chosen, headers


def _peer_route(
    store: Store, api: str, repo: Repo, rest_path: str, params: dict[str, str]
) -> Routed | None:
    """The REST endpoints peers call: issues, one PR and its parts, statuses."""
    url = f"{api}/repos/{repo.full_name}{rest_path}"
    if rest_path == "/pulls/comments":
        return _paginate(url, [], params)
    if rest_path == "/issues":
        return _issues(store, api, repo, url, params)
    status = re.fullmatch(r"/commits/([^/]+)/status", rest_path)
    if status:
        number = repo.last_oids.get(status.group(1))
        if number is None:
            return None
        return 200, rest.combined_status_json(api, repo, repo.prs[number], status.group(1)), {}
    item = re.fullmatch(r"/(pulls|issues)/(\d+)(/[a-z_]+)?", rest_path)
    if not item:
        return None
    kind, number, part = item.group(1), int(item.group(2)), item.group(3) or ""
    pr = repo.prs.get(number)
    if pr is None:
        return None
    if kind == "issues":
        if part == "":
            return 200, rest.issue_json(api, repo, pr), {}
        if part == "/comments":
            comments = pr_view(repo, pr)["comments"]
            items = [rest.issue_comment_json(api, repo, pr, c) for c in comments[:]]
            return _paginate(url, items, params)
        return None
    if part == "":
        body = rest.repository_json(api, repo, full=False)
        return 200, rest.pull_full_json(api, repo, pr, body), {}
    if part == "/reviews":
        items = [rest.review_json(api, repo, pr, r) for r in pr.get("reviews") or []]
        return _paginate(url, items, params)
    if part == "/commits":
        commits = pr["commits"][:250]  # GitHub lists at most 250 commits here
        items = [
            rest.commit_json(api, repo, c, commits[i - 1]["oid"] if i else None)
            for i, c in enumerate(commits)
        ]
        return _paginate(url, items, params)
    if part == "/files":
        head = pr_view(repo, pr)["headRefOid"]
        items = [rest.file_json(api, repo, f, head) for f in pr["files"][:3000]]
        return _paginate(url, items, params)
    if part == "/comments":
        return _paginate(url, [], params)
    if part == "/requested_reviewers":
        users = [
            rest.user_json(api, {"__typename": "User", **r}) for r in pr.get("reviewRequests") or []
        ]
        return 200, {"users": users, "teams": []}, {}
    return None


def _issues(store: Store, api: str, repo: Repo, url: str, params: dict[str, str]) -> Routed:
    state = params.get("state", "open")
    if state not in ("open", "closed", "all"):
        return _validation_error("state", state)
    states = {"open": frozenset({"OPEN"}), "closed": frozenset({"CLOSED", "MERGED"})}.get(state)
    sort = params.get("sort", "created")
    field = "updatedAt" if sort == "updated" else "createdAt"
    # GitHub: /issues sorts descending unless told otherwise.
    descending = params.get("direction", "desc") != "asc"
    since = params.get("since")
    with store.lock:
        numbers = repo.rest_order(field, descending, states)
        prs = [repo.prs[n] for n in numbers]
    if since:
        prs = [pr for pr in prs if pr["updatedAt"] >= _normal_since(since)]
    chosen, headers = _page_of(url, prs, params)
    return 200, [rest.issue_json(api, repo, pr) for pr in chosen], headers


def _pulls(store: Store, api: str, repo: Repo, params: dict[str, str]) -> Routed:
    state = params.get("state", "open")
    states = {"open": frozenset({"OPEN"}), "closed": frozenset({"CLOSED", "MERGED"})}.get(state)
    if state not in ("open", "closed", "all"):
        return _validation_error("state", state)
    sort = params.get("sort", "created")
    field = "updatedAt" if sort == "updated" else "createdAt"
    # GitHub: direction defaults to desc when sort is created (or absent), else asc.
    direction = params.get("direction") or ("desc" if sort == "created" else "asc")
    url = f"{api}/repos/{repo.full_name}/pulls"
    with store.lock:
        numbers = repo.rest_order(field, direction == "desc", states)
        page_numbers, headers = _page_of(url, numbers, params)
        chosen = [repo.prs[n] for n in page_numbers]
    repo_body = rest.repository_json(api, repo, full=False)
    body = [rest.pull_json(api, repo, pr, repo_body) for pr in chosen]
    return 200, body, headers


def _check_runs(api: str, repo: Repo, ref: str, params: dict[str, str]) -> Routed:
    number = repo.last_oids.get(ref)
    if number is None:
        # A branch name: the PR whose head ref it is.
        number = next(
            (n for n, pr in repo.prs.items() if pr["headRefName"] == ref and pr["commits"]),
            None,
        )
    if number is None:
        return (
            422,
            {"message": f"No commit found for SHA: {ref}", "documentation_url": REST_DOCS},
            {},
        )
    pr = repo.prs[number]
    view = pr_view(repo, pr)
    runs = [
        run
        for commit in view["commits"][-1:]
        for suite in commit["commit"]["checkSuites"]
        for run in suite["checkRuns"]
    ]
    if name := params.get("check_name"):
        runs = [run for run in runs if run["name"] == name]
    if status := params.get("status"):
        runs = [run for run in runs if run["status"].lower() == status]
    url = f"{api}/repos/{repo.full_name}/commits/{ref}/check-runs"
    chosen, headers = _page_of(url, runs, params)
    head_sha = view["headRefOid"]
    body = {
        "total_count": len(runs),
        "check_runs": [rest.check_run_json(api, repo, pr, run, head_sha) for run in chosen],
    }
    return 200, body, headers


def _single_commit(store: Store, api: str, repo: Repo, ref: str, params: dict[str, str]) -> Routed:
    """GET /repos/{o}/{r}/commits/{ref} (docs.github.com/rest/commits/commits#get-a-commit):
    the commit with its `stats` and `files`; a SHA no PR holds is 422 "No commit found".

    Datasets keep files per PR, not per commit: a PR's only commit gets the PR's files, a
    commit among several gets none (its `stats` still hold its own line counts).
    """
    with store.lock:
        found = commit_index(repo).get(ref.lower())
        if found is None:
            return (
                422,
                {"message": f"No commit found for SHA: {ref}", "documentation_url": REST_DOCS},
                {},
            )
        number, index = found
        pr = repo.prs[number]
    commits = pr["commits"]
    commit = commits[index]
    parent = commits[index - 1]["oid"] if index else None
    body = rest.commit_json(api, repo, commit, parent)
    body["stats"] = {
        "additions": commit["additions"],
        "deletions": commit["deletions"],
        "total": commit["additions"] + commit["deletions"],
    }
    files = pr["files"] if len(commits) == 1 else []
    # GitHub pages a commit's files 300 at a time (per_page/page, with a Link header).
    url = f"{api}/repos/{repo.full_name}/commits/{ref}"
    chosen, headers = _page_of(url, files, params, most=300, default=300)
    body["files"] = [rest.file_json(api, repo, f, commit["oid"]) for f in chosen]
    return 200, body, headers


def _moved(api: str, full_name: str, rest_path: str, request_path: str) -> Routed:
    """A renamed repository's former path: 301 to the same resource under the new name.

    docs.github.com/rest/using-the-rest-api/best-practices-for-using-the-rest-api#follow-
    redirects: a 301 is a permanent redirection, the Location header holds the URL to use from
    then on; GitHub answers so for a repository that was renamed or transferred. (GitHub's
    Location may name the repository by id, /repositories/{id}/...; a client follows it
    whatever it is.)
    """
    query = urlsplit(request_path).query
    location = f"{api}/repos/{full_name}{rest_path}" + (f"?{query}" if query else "")
    body = {
        "message": "Moved Permanently",
        "url": location,
        "documentation_url": (
            "https://docs.github.com/rest/using-the-rest-api/"
            "best-practices-for-using-the-rest-api#follow-redirects"
        ),
    }
    return 301, body, {"Location": location}


def commit_index(repo: Any) -> dict[str, tuple[int, int]]:
    """{commit SHA: (PR number, index in its commits)} of `repo`, cached per repository version;
    the caller holds the store's lock."""
    cached = getattr(repo, "_commit_index", None)
    if cached is not None and cached[0] == repo.version:
        return cached[1]
    index = {
        commit["oid"].lower(): (number, position)
        for number, pr in repo.prs.items()
        for position, commit in enumerate(pr["commits"])
    }
    repo._commit_index = (repo.version, index)
    return index


def _limit_values(budget: Budget) -> dict[str, int]:
    return {
        "limit": budget.limit,
        "remaining": budget.remaining,
        "reset": budget.reset_at,
        "used": min(budget.used, budget.limit),
    }


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    bare = etag.strip('"')
    return any(
        candidate.strip().removeprefix("W/").strip('"') == bare for candidate in header.split(",")
    )


def _normal_since(since: str) -> str:
    """An ISO 8601 `since` as GitHub's `YYYY-MM-DDTHH:MM:SSZ` (comparable as text)."""
    try:
        parsed = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        return since
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _validation_error(field: str, value: str) -> Routed:
    return (
        422,
        {
            "message": "Validation Failed",
            "errors": [{"resource": "Issue", "field": field, "code": "invalid", "value": value}],
            "documentation_url": REST_DOCS,
        },
        {},
    )
