"""Follow-ups carried by the next PR page: the rest of a page's overflowing connections.

A PR whose files, commits, reviews (any connection of `CONNECTIONS`) overflow their first
page needs more of them. Instead of a request of its own after each page (`completion.py`),
the next page's query carries those follow-ups under aliases beside `repository`:

    query FetchPRsBulk(..., $k0: ID!, $k0_files: String) {
      rateLimit { ... }
      repository(owner: $owner, name: $name) { ... pullRequests(...) { ... } }
      k0: node(id: $k0) { ... on PullRequest { id files(first: 100, after: $k0_files) {...} } }
    }

Each carried connection adds one "request" of GitHub's cost formula (its `first` under a
single node), so a 25-PR page carrying up to 23 connections still costs 2 points, and more
cost at most the point a separate follow-up would have cost, without its request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from .completion import FOLLOW_UP_PAGE
from .queries import ALL_PR_FRAGMENTS, CONNECTIONS_BY_FIELD, PAGE_INFO, RATE_LIMIT_FIELDS

__all__ = ["CARRY_ALIAS", "build_page_query_with_carry"]

CARRY_ALIAS = "k"  # carried PR i answers under alias f"k{i}"


def build_page_query_with_carry(
    order: Literal["CREATED_AT", "UPDATED_AT"],
    carry: Sequence[tuple[str, Mapping[str, str | None]]],
) -> tuple[str, dict[str, Any]]:
    """The PR page document of `order` carrying [(pr_node_id, {connection: after_cursor})].

    Its page variables are the usual ones (`owner`, `name`, `first`, `after`); the carried
    ones are returned.
    """
    operation = "FetchPRsBulk" if order == "CREATED_AT" else "FetchPRsUpdated"
    var_defs = ["$owner: String!", "$name: String!", "$first: Int!", "$after: String"]
    variables: dict[str, Any] = {}
    parts: list[str] = []
    for i, (node_id, cursors) in enumerate(carry):
        alias = f"{CARRY_ALIAS}{i}"
        var_defs.append(f"${alias}: ID!")
        variables[alias] = node_id
        selections = []
        for field, cursor in cursors.items():
            var = f"{alias}_{field}"
            var_defs.append(f"${var}: String")
            variables[var] = cursor
            selections.append(CONNECTIONS_BY_FIELD[field].selection_for(FOLLOW_UP_PAGE, f"${var}"))
        parts.append(
            f"  {alias}: node(id: ${alias}) {{ ... on PullRequest {{ id {' '.join(selections)} }} }}"
        )
    query = (
        f"query {operation}({', '.join(var_defs)}) {{\n"
        f"  {RATE_LIMIT_FIELDS}\n"
        "  repository(owner: $owner, name: $name) {\n"
        "    nameWithOwner pushedAt updatedAt\n"
        "    pullRequests(first: $first, after: $after, "
        f"orderBy: {{field: {order}, direction: DESC}}) {{\n"
        f"      totalCount\n      {PAGE_INFO}\n"
        "      nodes { ...PullRequestFields }\n"
        "    }\n  }\n" + "\n".join(parts) + "\n}\n" + ALL_PR_FRAGMENTS
    )
    return query, variables
