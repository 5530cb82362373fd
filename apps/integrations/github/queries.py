"""The GraphQL documents the client sends: PR pages, one PR, PRs by node id, repository metadata.

Every PR document selects the same `PullRequestFields`, so a node looks alike whichever query
brought it. Nested connections (labels, assignees, review requests, closing issues, reviews,
commits, files, check-run contexts) are declared once, in `CONNECTIONS`, with the size of their
first page inside a PR page; `completion.py` asks for the rest of the ones that overflow.

Page and nested sizes follow GitHub's cost formula (docs.github.com: graphql/overview/rate-
limits-and-query-limits-for-the-graphql-api): a page of P PRs asks 1 + P x 11 "requests" (one per
PR for each of the 10 connections of `CONNECTIONS` and for `comments { totalCount }`); the cost is
that sum / 100, rounded to the nearest integer. A connection nested inside a PR's connection
(a thread's comments, say) would add P x its parent's `first`: none is selected. `PAGE_SIZE` = 31
is the largest page that rounds down to 3 points (1 + 31 x 11 = 342); 1,000 PRs are 32 pages of
31 and one of 8 (89 requests, 1 point): 97 points in 33 requests. At 25 PRs a page the same
fragment costs 3 points (276) for 40 pages: 120 points. Nodes: at most 31 x 480 + 31 = 14,911
(the limit is 500,000).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ACTOR_FRAGMENT",
    "ALL_PR_FRAGMENTS",
    "CONNECTIONS",
    "CONNECTIONS_BY_FIELD",
    "FETCH_PRS_BULK_QUERY",
    "FETCH_PRS_BY_NODE_IDS_QUERY",
    "FETCH_PRS_UPDATED_QUERY",
    "FETCH_REPO_METADATA_QUERY",
    "FETCH_SINGLE_PR_QUERY",
    "MAX_NODE_IDS",
    "PAGE_INFO",
    "PAGE_SIZE",
    "PR_FIELDS_FRAGMENT",
    "RATE_LIMIT_FIELDS",
    "ConnectionSpec",
]

PAGE_SIZE = 31  # PRs a page by default: the cheapest size by points (module docstring)

RATE_LIMIT_FIELDS = "rateLimit { cost remaining resetAt limit used }"

ACTOR_FRAGMENT = """
fragment ActorFields on Actor {
  __typename
  login
  ... on User { databaseId name email }
  ... on Bot { databaseId }
  ... on Mannequin { databaseId }
}
"""

PAGE_INFO = "pageInfo { hasNextPage endCursor }"


@dataclass(frozen=True, slots=True)
class ConnectionSpec:
    """One nested connection of a PR: where it sits, its first-page size, its selection."""

    field: str  # the PullRequest field (or the field inside `wrapper`)
    first: int  # size of the first page inside a PR page
    fragment_name: str
    on_type: str  # the connection's GraphQL type, for its fragment
    selection: str  # what each node carries
    wrapper: str | None = None  # "statusCheckRollup" for contexts
    uses_actor: bool = False
    arguments: str = ""  # more arguments of the field, e.g. timelineItems' itemTypes

    @property
    def fragment(self) -> str:
        """The named fragment selecting this connection's totalCount, pageInfo and nodes."""
        return (
            f"fragment {self.fragment_name} on {self.on_type} {{\n"
            f"  totalCount\n  {PAGE_INFO}\n  nodes {{ {self.selection} }}\n}}\n"
        )

    def selection_for(self, first: int, after: str | None = None) -> str:
        """The connection's field with `first`/`after`, inside its wrapper when it has one."""
        args = f"first: {first}" + (f", after: {after}" if after else "")
        if self.arguments:
            args += f", {self.arguments}"
        inner = f"{self.field}({args}) {{ ...{self.fragment_name} }}"
        return f"{self.wrapper} {{ {inner} }}" if self.wrapper else inner

    def get(self, pr: Mapping[str, Any]) -> dict[str, Any] | None:
        """The connection object inside a PR node (None when absent or null)."""
        holder: Any = pr.get(self.wrapper) if self.wrapper else pr
        if not isinstance(holder, Mapping):
            return None
        value = holder.get(self.field)
        return value if isinstance(value, dict) else None


# Sizes by cost: every connection inside a 25-PR page costs 25 "requests" whatever its `first`,
# so the sizes only trade payload against follow-ups: most PRs fit, heavy ones get one more round.
CONNECTIONS: tuple[ConnectionSpec, ...] = (
    ConnectionSpec("labels", 20, "LabelPage", "LabelConnection", "name"),
    ConnectionSpec(
        "assignees", 20, "AssigneePage", "UserConnection", "login databaseId name email"
    ),
    ConnectionSpec(
        "reviewRequests",
        20,
        "ReviewRequestPage",
        "ReviewRequestConnection",
        # Only `login`/`slug` per type: selecting `name` on both User (String) and Team
        # (String!) is a "Fields 'name' conflict" for graphql-core.
        "requestedReviewer { __typename ... on User { login } ... on Bot { login } "
        "... on Team { slug } }",
    ),
    ConnectionSpec("closingIssuesReferences", 20, "ClosingIssuePage", "IssueConnection", "number"),
    ConnectionSpec(
        "reviews",
        50,
        "ReviewPage",
        "PullRequestReviewConnection",
        "databaseId state body submittedAt author { ...ActorFields }",
        uses_actor=True,
    ),
    ConnectionSpec(
        "commits",
        100,
        "CommitPage",
        "PullRequestCommitConnection",
        "commit { oid message messageHeadline authoredDate committedDate additions deletions "
        "author { name email user { login databaseId } } }",
    ),
    ConnectionSpec(
        "files",
        100,
        "FilePage",
        "PullRequestChangedFileConnection",
        "path changeType additions deletions",
    ),
    ConnectionSpec(
        "contexts",
        50,
        "ContextPage",
        "StatusCheckRollupContextConnection",
        "__typename ... on CheckRun { databaseId name status conclusion startedAt completedAt "
        "checkSuite { app { name } } } "
        "... on StatusContext { context state description targetUrl createdAt commit { oid } }",
        wrapper="statusCheckRollup",
    ),
    # The events that shape a PR's stages (apps/metrics/pr_metrics.py), oldest first
    # (docs.github.com: graphql/reference/objects#pullrequest, timelineItems; enums#
    # pullrequesttimelineitemsitemtype).
    ConnectionSpec(
        "timelineItems",
        50,
        "TimelineItemPage",
        "PullRequestTimelineItemsConnection",
        "__typename "
        "... on ReadyForReviewEvent { id createdAt actor { ...ActorFields } } "
        "... on ConvertToDraftEvent { id createdAt actor { ...ActorFields } } "
        "... on ReviewRequestedEvent { id createdAt actor { ...ActorFields } "
        "requestedReviewer { __typename ... on User { login } ... on Bot { login } "
        "... on Team { slug } } } "
        "... on ReviewRequestRemovedEvent { id createdAt actor { ...ActorFields } "
        "requestedReviewer { __typename ... on User { login } ... on Bot { login } "
        "... on Team { slug } } } "
        "... on HeadRefForcePushedEvent { id createdAt actor { ...ActorFields } }",
        uses_actor=True,
        arguments="itemTypes: [READY_FOR_REVIEW_EVENT, CONVERT_TO_DRAFT_EVENT, "
        "REVIEW_REQUESTED_EVENT, REVIEW_REQUEST_REMOVED_EVENT, HEAD_REF_FORCE_PUSHED_EVENT]",
    ),
    # Threads: count and resolved count. A thread's `comments { totalCount }` would cost one
    # request per thread slot of every PR (31 x 50 a page); review comments are counted from
    # `totalCommentsCount` instead (apps/metrics/pipeline/fetched.py).
    ConnectionSpec(
        "reviewThreads",
        50,
        "ReviewThreadPage",
        "PullRequestReviewThreadConnection",
        "isResolved",
    ),
)
CONNECTIONS_BY_FIELD = {spec.field: spec for spec in CONNECTIONS}

PR_FIELDS_FRAGMENT = (
    """
fragment PullRequestFields on PullRequest {
  id databaseId number title body url state isDraft
  createdAt updatedAt mergedAt closedAt
  additions deletions changedFiles headRefName baseRefName
  author { ...ActorFields }
  mergedBy { ...ActorFields }
  milestone { title }
  comments { totalCount }
  totalCommentsCount
"""
    + "".join(f"  {spec.selection_for(spec.first)}\n" for spec in CONNECTIONS)
    + "}\n"
)

ALL_PR_FRAGMENTS = (
    PR_FIELDS_FRAGMENT + ACTOR_FRAGMENT + "".join(spec.fragment for spec in CONNECTIONS)
)


def _pr_list_query(name: str, order_field: str) -> str:
    return (
        f"query {name}($owner: String!, $name: String!, $first: Int!, $after: String) {{\n"
        f"  {RATE_LIMIT_FIELDS}\n"
        "  repository(owner: $owner, name: $name) {\n"
        "    nameWithOwner pushedAt updatedAt\n"
        "    pullRequests(first: $first, after: $after, "
        f"orderBy: {{field: {order_field}, direction: DESC}}) {{\n"
        f"      totalCount\n      {PAGE_INFO}\n"
        "      nodes { ...PullRequestFields }\n"
        "    }\n  }\n}\n" + ALL_PR_FRAGMENTS
    )


# Newest first by creation: a stable order, so a full walk resumes from its cursor.
FETCH_PRS_BULK_QUERY = _pr_list_query("FetchPRsBulk", "CREATED_AT")
# Most recently updated first: an incremental walk stops at the watermark.
FETCH_PRS_UPDATED_QUERY = _pr_list_query("FetchPRsUpdated", "UPDATED_AT")

FETCH_SINGLE_PR_QUERY = (
    "query FetchSinglePR($owner: String!, $name: String!, $number: Int!) {\n"
    f"  {RATE_LIMIT_FIELDS}\n"
    "  repository(owner: $owner, name: $name) {\n"
    "    nameWithOwner pushedAt\n"
    "    pullRequest(number: $number) { ...PullRequestFields }\n"
    "  }\n}\n" + ALL_PR_FRAGMENTS
)

# PRs by node id (the CI re-poll): `nodes(ids:)` takes up to 100 ids; a node id no longer
# resolving comes back null with a NOT_FOUND error at ["nodes", i] (docs.github.com:
# graphql/reference/queries#nodes).
MAX_NODE_IDS = 100
FETCH_PRS_BY_NODE_IDS_QUERY = (
    "query FetchPRsByNodeIds($ids: [ID!]!) {\n"
    f"  {RATE_LIMIT_FIELDS}\n"
    "  nodes(ids: $ids) { ... on PullRequest { ...PullRequestFields } }\n"
    "}\n" + ALL_PR_FRAGMENTS
)

# The cheap change check: 1 point.
FETCH_REPO_METADATA_QUERY = (
    "query FetchRepoMetadata($owner: String!, $name: String!) {\n"
    f"  {RATE_LIMIT_FIELDS}\n"
    "  repository(owner: $owner, name: $name) {\n"
    "    nameWithOwner pushedAt updatedAt defaultBranchRef { name }\n"
    "  }\n}\n"
)
