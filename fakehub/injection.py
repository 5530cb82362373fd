"""Fault injection: a fault profile's rules (faults.py) fired on a live request and on a GraphQL
answer, each answered as GitHub answers that failure.

Every fired fault counts once in `faults_injected`; what a rule does is in faults.py's
docstring.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from fakehub.faults import REQUEST_KINDS, FaultRule
from fakehub.http import Answer
from fakehub.limits import secondary_limited

if TYPE_CHECKING:
    from fakehub.http import Handler
    from fakehub.server import FakeHub

__all__ = [
    "GRAPHQL_502",
    "answer_faults",
    "heavy_page_fault",
    "refuse_field",
    "request_faults",
]

STATUS_BODIES = {
    502: {"message": "Server Error"},
    503: {"message": "Service Unavailable"},
    504: {
        "message": "We couldn't respond to your request in time. Sorry about that. Please try "
        "resubmitting your request and contact us if the problem persists."
    },
}
GRAPHQL_502 = (
    "Something went wrong while executing your query. This may be the result of a timeout, "
    "or it could be a GitHub bug. Please include `{id}` when reporting this issue."
)
FORBIDDEN_MESSAGE = "Resource not accessible by integration"
SCOPES_MESSAGE = (
    "Your token has not been granted the required scopes to execute this query. The '{field}' "
    "field requires one of the following scopes: ['repo'], but your token has only been granted "
    "the: ['public_repo'] scopes. Please modify your token's scopes at: "
    "https://github.com/settings/tokens."
)


def request_faults(req: Handler, tok: str, resource: str, path: str) -> None:
    """Fire the request-level rules matching `path`: sleep (slow), or raise the Answer of a
    drop, a status or a secondary limit; a primary exhaustion spends the token's window."""
    hub = req.hub
    profile = hub.faults
    for rule in profile.matching(REQUEST_KINDS, path):
        if rule.fault == "primary_exhaustion":
            _primary_exhaustion(hub, rule, tok, resource)
            continue
        if not profile.fire(rule):
            continue
        hub.accounting.add(tok, faults_injected=1)
        if rule.fault == "slow":
            req.wait(rule.seconds)
            continue
        if rule.fault == "drop":
            raise Answer(0, None)
        if rule.fault == "status":
            raise Answer(*status_fault(rule, resource))
        if rule.fault == "secondary_limit":
            raise secondary_limited(req, tok, resource, rule.status or 403, rule.retry_after)


def status_fault(rule: FaultRule, resource: str) -> tuple[int, Any]:
    """(status, body) of a 5xx fault: GitHub's GraphQL 502 body, or its REST message."""
    status = rule.status or 502
    if resource == "graphql" and status == 502:
        request_id = secrets.token_hex(4).upper()
        return status, {
            "data": None,
            "errors": [{"message": GRAPHQL_502.format(id=request_id)}],
        }
    return status, STATUS_BODIES.get(status, {"message": "Server Error"})


def _primary_exhaustion(hub: FakeHub, rule: FaultRule, tok: str, resource: str) -> None:
    budget = hub.limiter.peek(tok, resource)
    key = (tok, resource, budget.reset_at)
    if budget.used >= rule.after_points and key not in hub.exhausted:
        hub.exhausted.add(key)
        hub.limiter.exhaust(tok, resource)
        hub.accounting.add(tok, faults_injected=1)


def heavy_page_fault(hub: FakeHub, tok: str, nodes: int) -> None:
    """Raise a 502 Answer when a `heavy_page_502` rule fires for a query of `nodes` nodes."""
    for rule in hub.faults.matching(frozenset({"heavy_page_502"}), "/graphql"):
        if nodes > rule.max_nodes and hub.faults.fire(rule):
            hub.accounting.add(tok, faults_injected=1)
            raise Answer(*status_fault(rule, "graphql"))


def answer_faults(hub: FakeHub, tok: str, body: dict[str, Any]) -> None:
    """Fire the rules that change a GraphQL answer: a partial error, refused fields."""
    for rule in hub.faults.matching(frozenset({"partial_errors"}), "/graphql"):
        if hub.faults.fire(rule) and _inject_partial_error(body):
            hub.accounting.add(tok, faults_injected=1)
            break
    for rule in hub.faults.matching(frozenset({"field_forbidden"}), "/graphql"):
        if hub.faults.fire(rule) and refuse_field(body, rule.field, rule.error_type):
            hub.accounting.add(tok, faults_injected=1)


def _inject_partial_error(body: dict[str, Any]) -> bool:
    """Null one PR node's nested field and add an `errors` entry at its path (GitHub's partial
    answer); returns False when the data holds no PR node."""
    found = _find_pr(body.get("data"), [])
    if found is None:
        return False
    node, path = found
    for key in ("files", "commits", "reviews", "labels", "statusCheckRollup", "mergedBy", "author"):
        # Field keys may be aliased; pick one that holds a value.
        if key in node and node[key] is not None:
            node[key] = None
            error_path = [*path, key]
            break
    else:
        return False
    errors = body.setdefault("errors", [])
    errors.append(
        {
            "type": "SERVICE_UNAVAILABLE",
            "path": error_path,
            "locations": [],
            "message": GRAPHQL_502.format(id=secrets.token_hex(4).upper()),
        }
    )
    return True


def refuse_field(body: dict[str, Any], field_path: str, error_type: str) -> bool:
    """Null `field_path` (dotted) in every PR node of the answer, one error per node at its path.

    What GitHub answers a token lacking the permission for a field: HTTP 200, the data it may
    read, `null` for the field and an error of type FORBIDDEN (an App installation or
    fine-grained token without the permission) or INSUFFICIENT_SCOPES (a classic PAT without
    the scope) naming the field's path. GitHub documents that GraphQL access depends on the
    App's permissions (docs.github.com/apps/creating-github-apps/registering-a-github-app/
    choosing-permissions-for-a-github-app, "Choosing permissions for GraphQL API access") but
    not its error types (github/docs#11071); the shape follows the GraphQL spec (section 7.1.2,
    "Errors": a field error nulls the field and carries its path) and answers GitHub gives.
    Returns whether a field was refused.
    """
    parts = field_path.split(".")
    refused = False
    for node, path in _all_prs(body.get("data"), []):
        holder: Any = node
        for part in parts[:-1]:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if not isinstance(holder, dict) or parts[-1] not in holder:
            continue
        holder[parts[-1]] = None
        error: dict[str, Any] = {"type": error_type, "path": [*path, *parts], "locations": []}
        if error_type == "FORBIDDEN":
            error["extensions"] = {"saml_failure": False}
            error["message"] = FORBIDDEN_MESSAGE
        else:
            error["message"] = SCOPES_MESSAGE.format(field=parts[-1])
        body.setdefault("errors", []).append(error)
        refused = True
    return refused


def _all_prs(value: Any, path: list[Any]) -> Iterable[tuple[dict[str, Any], list[Any]]]:
    """Every PR node (with its path) in an answer's data."""
    if isinstance(value, dict):
        if "number" in value and ("title" in value or "files" in value or "commits" in value):
            yield value, path
            return
        for key, child in value.items():
            yield from _all_prs(child, [*path, key])
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _all_prs(child, [*path, index])


def _find_pr(value: Any, path: list[Any]) -> tuple[dict[str, Any], list[Any]] | None:
    if isinstance(value, dict):
        if "number" in value and ("title" in value or "files" in value or "commits" in value):
            return value, path
        for key, child in value.items():
            found = _find_pr(child, [*path, key])
            if found:
                return found
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found = _find_pr(child, [*path, index])
            if found:
                return found
    return None
