"""The GitHub client shared by seeding and production sync, and the GraphQL documents it sends.

One job a module: `queries` (the documents, fragments and nested sizes, with their cost),
`completion` (follow-up queries filling nested connections that overflow their first page),
`values` (what the client returns and the listener hears), `client` (GitHubGraphQLClient:
requests, limits, budget, retries). Every name the single module had is importable from here.
"""

from .client import DEFAULT_BASE_URL, MAX_PRIMARY_WAITS, Checker, GitHubGraphQLClient
from .completion import FOLLOW_UP_PAGE, MAX_CONNECTIONS_PER_FOLLOW_UP, build_connections_query
from .queries import (
    ACTOR_FRAGMENT,
    ALL_PR_FRAGMENTS,
    CONNECTIONS,
    CONNECTIONS_BY_FIELD,
    FETCH_PRS_BULK_QUERY,
    FETCH_PRS_BY_NODE_IDS_QUERY,
    FETCH_PRS_UPDATED_QUERY,
    FETCH_REPO_METADATA_QUERY,
    FETCH_SINGLE_PR_QUERY,
    MAX_NODE_IDS,
    PAGE_INFO,
    PAGE_SIZE,
    PR_FIELDS_FRAGMENT,
    RATE_LIMIT_FIELDS,
    ConnectionSpec,
)
from .values import (
    ClientListener,
    ClientStats,
    GraphQLResponse,
    PRPageResult,
    RepoMetadata,
    RequestInfo,
    RestResponse,
)

__all__ = [
    "ACTOR_FRAGMENT",
    "ALL_PR_FRAGMENTS",
    "CONNECTIONS",
    "CONNECTIONS_BY_FIELD",
    "DEFAULT_BASE_URL",
    "FETCH_PRS_BULK_QUERY",
    "FETCH_PRS_BY_NODE_IDS_QUERY",
    "FETCH_PRS_UPDATED_QUERY",
    "FETCH_REPO_METADATA_QUERY",
    "FETCH_SINGLE_PR_QUERY",
    "FOLLOW_UP_PAGE",
    "MAX_CONNECTIONS_PER_FOLLOW_UP",
    "MAX_NODE_IDS",
    "MAX_PRIMARY_WAITS",
    "PAGE_INFO",
    "PAGE_SIZE",
    "PR_FIELDS_FRAGMENT",
    "RATE_LIMIT_FIELDS",
    "Checker",
    "ClientListener",
    "ClientStats",
    "ConnectionSpec",
    "GitHubGraphQLClient",
    "GraphQLResponse",
    "PRPageResult",
    "RepoMetadata",
    "RequestInfo",
    "RestResponse",
    "build_connections_query",
]
