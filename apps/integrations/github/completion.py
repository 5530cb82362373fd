"""Complete PR nodes: follow-up queries fill the nested connections that overflow a first page.

A nested connection (files, commits, reviews, check runs, labels, ...) that overflows its first
page is filled by follow-up queries that address the PRs by node id (`node(id:)` with one alias
per PR), batching all overflowing connections of all PRs of a page into as few requests as
possible, looping until nothing overflows. The client sends each follow-up (with its retries);
this module builds the documents and merges the answers into the nodes, in place.

A PR node that came back with an error path (partial data) is never completed here: the client
re-fetches it alone. `broken_node_indexes` finds those nodes in an answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .errors import GraphQLFailed
from .queries import ACTOR_FRAGMENT, CONNECTIONS, CONNECTIONS_BY_FIELD, RATE_LIMIT_FIELDS
from .values import GraphQLResponse

__all__ = [
    "FOLLOW_UP_PAGE",
    "MAX_CONNECTIONS_PER_FOLLOW_UP",
    "FollowUp",
    "broken_node_indexes",
    "build_connections_query",
    "complete_nodes",
    "error_under",
    "has_number",
    "merge_follow_up",
    "overflowing",
]

FOLLOW_UP_PAGE = 100  # GitHub's maximum `first`
MAX_CONNECTIONS_PER_FOLLOW_UP = 40  # 40 x 100 nodes: far below the node limit, 1 point

# Sends one follow-up document (query, variables, number of PRs in it) and returns an answer
# without errors: the client's retries live behind it.
FollowUp = Callable[[str, Mapping[str, Any], int], GraphQLResponse]

Cursors = dict[str, str | None]  # {connection field: endCursor to continue after}


def build_connections_query(
    requests: Sequence[tuple[str, Mapping[str, str | None]]],
) -> tuple[str, dict[str, Any]]:
    """The follow-up document for [(pr_node_id, {connection_field: after_cursor})].

    One alias per PR (`pr0: node(id: $id0) { ... on PullRequest { files(first: 100, after:
    $c0_files) {...} } }`), every overflowing connection of that PR inside it.
    """
    var_defs: list[str] = []
    variables: dict[str, Any] = {}
    parts: list[str] = []
    used: set[str] = set()
    for i, (node_id, cursors) in enumerate(requests):
        var_defs.append(f"$id{i}: ID!")
        variables[f"id{i}"] = node_id
        selections = []
        for conn_field, cursor in cursors.items():
            spec = CONNECTIONS_BY_FIELD[conn_field]
            var = f"c{i}_{conn_field}"
            var_defs.append(f"${var}: String")
            variables[var] = cursor
            selections.append(spec.selection_for(FOLLOW_UP_PAGE, f"${var}"))
            used.add(conn_field)
        parts.append(
            f"  pr{i}: node(id: $id{i}) {{ ... on PullRequest {{ id {' '.join(selections)} }} }}"
        )
    fragments = "".join(CONNECTIONS_BY_FIELD[f].fragment for f in sorted(used))
    if any(CONNECTIONS_BY_FIELD[f].uses_actor for f in used):
        fragments += ACTOR_FRAGMENT
    query = (
        f"query FetchPRConnections({', '.join(var_defs)}) {{\n  {RATE_LIMIT_FIELDS}\n"
        + "\n".join(parts)
        + "\n}\n"
        + fragments
    )
    return query, variables


def overflowing(node: Mapping[str, Any]) -> Cursors:
    """{connection field: endCursor} for each nested connection with more pages."""
    out: Cursors = {}
    for spec in CONNECTIONS:
        conn = spec.get(node)
        if conn is None:
            continue
        info = conn.get("pageInfo") or {}
        if info.get("hasNextPage") and info.get("endCursor"):
            out[spec.field] = info["endCursor"]
    return out


def complete_nodes(
    nodes: Sequence[dict[str, Any]], follow_up: FollowUp, repo: str | None
) -> tuple[int, int]:
    """Fill every overflowing nested connection of `nodes` in place; (points, requests)."""
    pending: dict[str, tuple[dict[str, Any], Cursors]] = {}
    for node in nodes:
        cursors = overflowing(node)
        if cursors:
            pending[node["id"]] = (node, cursors)
    cost = 0
    requests = 0
    while pending:
        batch = _next_batch(pending)
        query, variables = build_connections_query(batch)
        response = follow_up(query, variables, len(batch))
        cost += response.cost
        requests += 1
        for i, (node_id, cursors) in enumerate(batch):
            node, all_cursors = pending[node_id]
            fetched = response.data.get(f"pr{i}")
            if not isinstance(fetched, Mapping):
                raise GraphQLFailed(
                    [{"message": f"PR node {node_id} vanished during follow-up queries"}],
                    retryable=True,
                    repo=repo,
                )
            for conn_field in cursors:
                _merge_page(node, fetched, conn_field, all_cursors, repo)
            if not all_cursors:
                del pending[node_id]
    return cost, requests


def _next_batch(
    pending: Mapping[str, tuple[dict[str, Any], Cursors]],
) -> list[tuple[str, Cursors]]:
    """The next follow-up's [(node id, cursors)]: at most MAX_CONNECTIONS_PER_FOLLOW_UP in all."""
    batch: list[tuple[str, Cursors]] = []
    budget = MAX_CONNECTIONS_PER_FOLLOW_UP
    for node_id, (_node, cursors) in pending.items():
        if budget <= 0:
            break
        chosen = dict(list(cursors.items())[:budget])
        budget -= len(chosen)
        batch.append((node_id, chosen))
    return batch


def _merge_page(
    node: dict[str, Any],
    fetched: Mapping[str, Any],
    conn_field: str,
    cursors: Cursors,
    repo: str | None,
) -> None:
    """Append the follow-up page of `conn_field` to `node`; move or drop its cursor."""
    spec = CONNECTIONS_BY_FIELD[conn_field]
    page = spec.get(fetched)
    target = spec.get(node)
    if page is None or target is None:
        raise GraphQLFailed(
            [{"message": f"{conn_field} missing from a follow-up answer"}],
            retryable=True,
            repo=repo,
        )
    target["nodes"] = list(target.get("nodes") or []) + list(page.get("nodes") or [])
    info = page.get("pageInfo") or {}
    target["pageInfo"] = dict(info)
    if info.get("hasNextPage") and info.get("endCursor"):
        cursors[conn_field] = info["endCursor"]
    else:
        cursors.pop(conn_field, None)


def merge_follow_up(
    node: dict[str, Any],
    fetched: Mapping[str, Any],
    asked: Iterable[str],
    cursors: Cursors,
    repo: str | None,
) -> None:
    """Merge a follow-up answer (`fetched`: the PR as answered, with the `asked` connections)
    into `node`; `cursors` keeps the connections still overflowing (emptied when complete)."""
    for conn_field in list(asked):
        _merge_page(node, fetched, conn_field, cursors, repo)


def error_under(error: Mapping[str, Any], prefix: tuple[str, ...]) -> bool:
    """Whether a GraphQL error's path points into one item of the list at `prefix`."""
    path = error.get("path") or []
    return (
        len(path) > len(prefix)
        and tuple(path[: len(prefix)]) == prefix
        and isinstance(path[len(prefix)], int)
    )


def broken_node_indexes(errors: Iterable[Mapping[str, Any]], prefix: tuple[str, ...]) -> set[int]:
    """Indexes of the list at `prefix` whose items came back with errors (partial data)."""
    return {int(e["path"][len(prefix)]) for e in errors if error_under(e, prefix)}


def has_number(node: Any) -> bool:
    """Whether an answered PR node still names its PR (so it can be re-fetched alone)."""
    return isinstance(node, Mapping) and isinstance(node.get("number"), int)
