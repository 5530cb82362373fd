"""One GitHub API request from arrival to answer: where the API is served, the token, the
counts, the App token exchange, latency and request faults; then GraphQL (graphql_route.py)
or REST (rest_routes.py) answers it.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fakehub.accounting import token_hash
from fakehub.auth import bearer, installation_token_answer
from fakehub.graphql_route import answer_graphql
from fakehub.http import Answer, Hangup
from fakehub.injection import request_faults
from fakehub.limits import Budget
from fakehub.rest import DOCS as REST_DOCS
from fakehub.rest_routes import answer_rest

if TYPE_CHECKING:
    from fakehub.http import Handler

__all__ = ["GHES_GRAPHQL", "GHES_REST", "api_path", "serve_api"]

# docs.github.com/enterprise-server, "Getting started with the REST API" (REST at
# http(s)://HOSTNAME/api/v3) and "Forming calls with GraphQL" (GraphQL at
# http(s)://HOSTNAME/api/graphql).
GHES_REST = "/api/v3"
GHES_GRAPHQL = "/api/graphql"


def api_path(path: str, *, ghes: bool) -> tuple[str, str | None]:
    """(REST prefix, API path) of a request path; the path is None where no API is served.

    api.github.com: GraphQL at /graphql only, REST at the root. REST is also answered below
    /api/v3 there, for peers that take an Enterprise-style base URL (Perceval's
    --enterprise-url), but never GraphQL: GitHub serves no /api/v3/graphql anywhere.
    GHES mode: REST only below /api/v3, GraphQL only at /api/graphql, nothing at the root.
    """
    if path == GHES_GRAPHQL:
        return "", "/graphql" if ghes else None
    if path.startswith(GHES_REST + "/") or path == GHES_REST:
        rest_path = path[len(GHES_REST) :] or "/"
        return GHES_REST, None if rest_path == "/graphql" else rest_path
    return "", None if ghes else path


def serve_api(req: Handler, path: str, query: str, raw: bytes) -> None:
    """Answer one API request (the `ApiRoute` the HTTP server dispatches to)."""
    hub = req.hub
    started = hub.clock()
    prefix, route_path = api_path(path, ghes=hub.ghes)
    resource = "graphql" if route_path == "/graphql" else "core"
    kind = "graphql_requests" if resource == "graphql" else "rest_requests"
    log: dict[str, Any] = {
        "time": datetime.fromtimestamp(started, UTC).isoformat(timespec="milliseconds"),
        "method": req.command,
        "path": req.path,
        "token": None,
        "status": None,
        "cost": 0,
    }
    token = bearer(req.headers.get("Authorization"))
    tok = token_hash(token) if token else None
    log["token"] = tok
    status = 500
    req.record = log
    try:
        if route_path is None:
            # Not where this GitHub serves its API: no token check, no point spent.
            hub.accounting.add(tok, requests=1)
            status = 404
            req.send(404, {"message": "Not Found", "documentation_url": REST_DOCS})
            return
        app_route = re.fullmatch(r"/app/installations/(\d+)/access_tokens", route_path)
        if app_route and req.command == "POST":
            hub.accounting.add(tok, requests=1, rest_requests=1)
            answer = installation_token_answer(hub.tokens, hub.clock, token, hub.app_public_key)
            status = answer[0]
            req.send(*answer)
            return
        if not token or not hub.tokens.valid(token):
            hub.accounting.add(tok, requests=1, **{kind: 1})
            unauth = Budget(resource, 60, 0, int(hub.clock()) + 3600).headers()
            status = 401
            req.send(401, {"message": "Bad credentials", "documentation_url": REST_DOCS}, unauth)
            return
        assert tok is not None
        req.limit_note = None
        req.flight = hub.accounting.begin(tok, req.client_gone)
        try:
            status = _authorised(req, tok, resource, kind, route_path, prefix, query, raw, log)
        finally:
            req.limit_note = None
            req.land()
    except (BrokenPipeError, ConnectionResetError):
        status = 499  # recorded here only if the client left before an answer was begun
    finally:
        # Requests that ended without send or drop (a fakehub bug: its 500 follows).
        req.settle(status)


def _authorised(
    req: Handler,
    tok: str,
    resource: str,
    kind: str,
    path: str,
    prefix: str,
    query: str,
    raw: bytes,
    log: dict[str, Any],
) -> int:
    """A request with a valid token: counted, delayed, faulted, then answered; the status."""
    hub = req.hub
    free = path == "/rate_limit"
    counts = {"requests": 1, kind: 1}
    if not free and hub.accounting.check_limited(tok, resource):
        counts["requests_while_limited"] = 1
    hub.accounting.add(tok, **counts)
    if resource == "graphql":
        try:
            payload = json.loads(raw or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            payload = None
        if isinstance(payload, dict):
            log["query"] = payload.get("query")
            log["variables"] = payload.get("variables")
    try:
        if hub.latency:
            req.wait(hub.latency)
        request_faults(req, tok, resource, path)
        if resource == "graphql":
            if req.command != "POST":
                raise Answer(404, {"message": "Not Found", "documentation_url": REST_DOCS})
            return answer_graphql(req, tok, raw, log)
        return answer_rest(req, tok, path, prefix, query, log)
    except Hangup as hangup:
        req.drop(hangup.status)
        return hangup.status
    except Answer as answer:
        headers = answer.headers
        if not any(name.startswith("x-ratelimit") for name in headers):
            headers = {**hub.limiter.peek(tok, resource).headers(), **headers}
        if answer.status == 0:
            req.drop(0)
            return 0
        req.send(answer.status, answer.body, headers)
        return answer.status
