"""POST /graphql: the query parsed, priced and charged, run against the store, and answered
(after GitHub's modelled time to run it, and the faults that change an answer).

Choices where GitHub varies:
- An invalid GraphQL document (parse, validation or pagination errors) costs 1 point.
- A query costing more than what remains is refused as primary exhaustion (limits.py) and
  spends the rest of the window.
"""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

from fakehub.graphql_api import Context, analyse, run
from fakehub.http import Answer
from fakehub.injection import GRAPHQL_502, answer_faults, heavy_page_fault, refuse_field
from fakehub.limits import rate_limited
from fakehub.server_time import ServerTime, returned_nodes
from fakehub.store import iso

if TYPE_CHECKING:
    from fakehub.http import Handler

__all__ = ["answer_graphql"]


def answer_graphql(req: Handler, tok: str, raw: bytes, log: dict[str, Any]) -> int:
    """Answer one GraphQL request of token hash `tok`; returns the status sent."""
    hub = req.hub
    try:
        payload = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Answer(
            400,
            {
                "message": "Problems parsing JSON",
                "documentation_url": "https://docs.github.com/graphql",
            },
        ) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        raise Answer(
            200,
            {"errors": [{"message": "A query attribute must be specified and must be a string."}]},
        )
    query: str = payload["query"]
    variables = payload.get("variables")
    if not isinstance(variables, dict):
        variables = None
    operation_name = payload.get("operationName")
    if not isinstance(operation_name, str):
        operation_name = None
    document, errors = hub.documents.get(query)
    analysis = None
    if document is not None:
        analysis = analyse(hub.schema, document, variables, operation_name)
        errors = analysis.errors
    cost = 1 if errors or analysis is None else analysis.cost
    if document is not None and analysis is not None and not errors:
        heavy_page_fault(hub, tok, analysis.nodes)
    ok, budget = hub.limiter.charge(tok, "graphql", cost)
    if not ok:
        raise rate_limited(req, tok, "graphql")
    hub.accounting.add(tok, graphql_points=cost)
    log["cost"] = cost
    if errors or document is None:
        req.send(200, {"errors": errors}, budget.headers())
        return 200
    assert analysis is not None
    context = Context(
        hub.store,
        {
            "cost": cost,
            "limit": budget.limit,
            "remaining": budget.remaining,
            "used": budget.used,
            "resetAt": iso(budget.reset_at),
            "nodeCount": analysis.nodes,
        },
    )
    body = run(hub.schema, document, context, variables, operation_name)
    if hub.server_time is not None:
        _take_server_time(req, hub.server_time, tok, body)
    answer_faults(hub, tok, body)
    for field_path in hub.missing_scopes.get(tok, ()):
        refuse_field(body, field_path, "INSUFFICIENT_SCOPES")
    req.send(200, body, budget.headers())
    return 200


def _take_server_time(req: Handler, model: ServerTime, tok: str, body: dict[str, Any]) -> None:
    """Take as long as GitHub would for this answer; past its limit, a 502 at the limit.

    docs.github.com (graphql/overview/rate-limits-and-query-limits-for-the-graphql-api
    #timeouts): a request processed for more than 10 seconds is terminated. The points were
    charged before: a timed-out query counts against the primary limit (github.blog/
    changelog/2025-07-21-including-timeouts-in-primary-rate-limits).
    """
    modelled = model.seconds(returned_nodes(body.get("data")))
    if modelled > model.limit_seconds:
        req.hub.accounting.add(
            tok, server_time_ms=round(model.limit_seconds * 1000), server_timeouts=1
        )
        req.wait(model.limit_seconds * model.scale)
        request_id = secrets.token_hex(4).upper()
        raise Answer(
            502, {"data": None, "errors": [{"message": GRAPHQL_502.format(id=request_id)}]}
        )
    req.hub.accounting.add(tok, server_time_ms=round(modelled * 1000))
    req.wait(modelled * model.scale)
