"""Many repositories in one GraphQL query: change checks and first PR pages, one alias each.

A GraphQL document may ask for the same field several times under aliases (docs.github.com:
graphql/guides/forming-calls-with-graphql), so `r0: repository(...) r1: repository(...)` asks
about many repositories in one request. Two documents:

- the change check (`FetchRepoChanges`): per repository its `nameWithOwner`, `pushedAt` and its
  most recently updated PR (`updatedAt`, `totalCount`). One connection of `first: 1` a
  repository: 100 repositories are 100 "requests" of GitHub's cost formula, i.e. 1 point.
- first pages (`FetchRepoFirstPages`): the same, plus the first page of PRs (newest created
  first) with every nested connection of `PullRequestFields`, as `FETCH_PRS_BULK_QUERY` asks it.

Batch sizes follow GitHub's limits (docs.github.com: graphql/overview/rate-limits-and-query-
limits-for-the-graphql-api): a call's cost is its connections' "requests" (each the product of
the `first`s above it) divided by 100, and a call may ask for at most 500,000 nodes.
`page_requests()` / `page_nodes()` count one repository's share from `CONNECTIONS`, so the sizes
follow the PR fragment as it grows. A first-page batch keeps its nodes within a fifth of the
node limit (`PAGE_BATCH_NODE_BUDGET`): a heavy call runs long on GitHub's side and is answered
502 after about ten seconds, and one 502 then costs a whole batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .errors import GraphQLFailed
from .queries import ALL_PR_FRAGMENTS, CONNECTIONS, PAGE_INFO, RATE_LIMIT_FIELDS
from .values import GraphQLResponse, PRPageResult

__all__ = [
    "CHECK_BATCH",
    "MAX_NODES",
    "PAGE_BATCH_NODE_BUDGET",
    "RepoSnapshot",
    "build_repos_query",
    "check_requests",
    "page_batch_size",
    "page_nodes",
    "page_requests",
    "query_cost",
    "read_repos_answer",
]

MAX_NODES = 500_000  # GitHub's node limit for one call
# Repositories per change-check call: 100 x (one connection of first: 1) = 100 requests, 1 point.
CHECK_BATCH = 100
# Nodes a first-page batch may ask for: a fifth of the limit (see the module docstring).
PAGE_BATCH_NODE_BUDGET = MAX_NODES // 5

_LATEST = (
    "latest: pullRequests(first: 1, orderBy: {field: UPDATED_AT, direction: DESC}) "
    "{ totalCount nodes { updatedAt } }"
)
_HEAD = f"nameWithOwner pushedAt {_LATEST}"


@dataclass(frozen=True, slots=True)
class RepoSnapshot:
    """What one alias of a many-repository query said about its repository.

    `found` False: GitHub answered NOT_FOUND for it. `failed`: its part of the answer carried
    errors (or was missing): nothing in it is trusted, the caller asks about it alone.
    `top_updated_at`: the newest PR `updatedAt` (None when it has no PR). `page`: the first
    page (a `PRPageResult` of complete nodes) when first pages were asked for and usable.
    """

    full_name: str
    found: bool = True
    failed: bool = False
    name_with_owner: str | None = None
    pushed_at: str | None = None
    top_updated_at: str | None = None
    total_count: int | None = None
    page: Any = None


def check_requests() -> int:
    """One repository's share of a change check, in GitHub's "requests": `latest` (first: 1)."""
    return 1


def page_requests(first: int) -> int:
    """One repository's share of a first-page call: `pullRequests`, `latest`, and per PR each
    nested connection plus `comments { totalCount }` (GitHub counts it as a connection)."""
    return 2 + first * (len(CONNECTIONS) + 1)


def page_nodes(first: int) -> int:
    """Nodes one repository's first page may bring (GitHub's node limit counts them)."""
    return 1 + first + first * sum(spec.first for spec in CONNECTIONS)


def query_cost(requests: int) -> int:
    """GitHub's points for a call of `requests`: divided by 100, rounded, at least 1."""
    return max(1, int(requests / 100 + 0.5))


def page_batch_size(first: int) -> int:
    """Repositories whose first pages of `first` PRs go in one call: within the node budget."""
    return max(1, min(CHECK_BATCH, PAGE_BATCH_NODE_BUDGET // page_nodes(first)))


def build_repos_query(
    repos: Sequence[tuple[str, str]],
    first: int | None = None,
    order: Literal["CREATED_AT", "UPDATED_AT"] = "CREATED_AT",
) -> tuple[str, dict[str, Any]]:
    """The document for `repos` ([(owner, name)]): a change check, or first pages of `first`.

    Alias `r{i}` answers for `repos[i]`.
    """
    if not repos:
        raise ValueError("no repository to ask about")
    if first is not None and not 1 <= first <= 100:
        raise ValueError(f"first must be between 1 and 100, not {first}")
    var_defs: list[str] = []
    variables: dict[str, Any] = {}
    parts: list[str] = []
    body = _HEAD
    if first is not None:
        var_defs.append("$first: Int!")
        variables["first"] = first
        body += (
            f" pullRequests(first: $first, orderBy: {{field: {order}, direction: DESC}}) "
            f"{{ totalCount {PAGE_INFO} nodes {{ ...PullRequestFields }} }}"
        )
    for i, (owner, name) in enumerate(repos):
        var_defs += [f"$o{i}: String!", f"$n{i}: String!"]
        variables[f"o{i}"] = owner
        variables[f"n{i}"] = name
        parts.append(f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{ {body} }}")
    operation = "FetchRepoFirstPages" if first is not None else "FetchRepoChanges"
    query = (
        f"query {operation}({', '.join(var_defs)}) {{\n  {RATE_LIMIT_FIELDS}\n"
        + "\n".join(parts)
        + "\n}\n"
        + (ALL_PR_FRAGMENTS if first is not None else "")
    )
    return query, variables


def read_repos_answer(
    response: GraphQLResponse, repos: Sequence[str], first: int | None
) -> list[RepoSnapshot]:
    """One `RepoSnapshot` per repository ("owner/name") of `build_repos_query`, in order.

    The pages' nodes are returned as answered: the caller completes them (all together).
    """
    unplaced = [e for e in response.errors if not str((e.get("path") or [""])[0]).startswith("r")]
    if unplaced:
        raise GraphQLFailed(unplaced, retryable=True, detail="many-repository query failed")
    snapshots: list[RepoSnapshot] = []
    for i, full in enumerate(repos):
        alias = f"r{i}"
        errors = [e for e in response.errors if (e.get("path") or [None])[0] == alias]
        raw = response.data.get(alias)
        if raw is None and errors and all(e.get("type") == "NOT_FOUND" for e in errors):
            snapshots.append(RepoSnapshot(full, found=False))
            continue
        if errors or not isinstance(raw, Mapping):
            snapshots.append(RepoSnapshot(full, failed=True))
            continue
        latest = raw.get("latest") if isinstance(raw.get("latest"), Mapping) else {}
        top = [n for n in latest.get("nodes") or [] if isinstance(n, Mapping)]
        page = None
        if first is not None:
            connection = raw.get("pullRequests")
            page_nodes_ = connection.get("nodes") if isinstance(connection, Mapping) else None
            if not isinstance(page_nodes_, list) or not all(
                isinstance(n, dict) for n in page_nodes_
            ):
                snapshots.append(RepoSnapshot(full, failed=True))
                continue
            assert isinstance(connection, Mapping)
            info = connection.get("pageInfo") or {}
            page = PRPageResult(
                nodes=page_nodes_,
                pushed_at=raw.get("pushedAt"),
                total_count=int(connection.get("totalCount") or 0),
                end_cursor=info.get("endCursor"),
                has_next_page=bool(info.get("hasNextPage")),
                cost=0,  # the call's points are the batch's, counted by the client
                requests=0,
            )
        snapshots.append(
            RepoSnapshot(
                full,
                name_with_owner=raw.get("nameWithOwner"),
                pushed_at=raw.get("pushedAt"),
                top_updated_at=top[0].get("updatedAt") if top else None,
                total_count=int(latest.get("totalCount") or 0),
                page=page,
            )
        )
    return snapshots
