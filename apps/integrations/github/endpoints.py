"""Where GitHub's two APIs live, from the REST base URL: the one place the GraphQL URL is derived.

docs.github.com, "Forming calls with GraphQL" (graphql/guides/forming-calls-with-graphql#the-
graphql-endpoint): GitHub.com answers GraphQL at `https://api.github.com/graphql`; GitHub
Enterprise Server serves REST under `http(s)://HOSTNAME/api/v3` and GraphQL at
`http(s)://HOSTNAME/api/graphql` (enterprise-server docs, "Getting started with the REST API",
and the same GraphQL page). So a REST base ending in `/api/v3` has its GraphQL endpoint beside
it, not below it; any other base (api.github.com, a proxy, fakehub) has it at `/graphql`.
"""

from __future__ import annotations

__all__ = ["GHES_REST_SUFFIX", "graphql_url_for"]

GHES_REST_SUFFIX = "/api/v3"


def graphql_url_for(api_url: str, override: str | None = None) -> str:
    """The GraphQL endpoint for the REST base `api_url`; `override` (GITHUB_GRAPHQL_URL) wins.

    `https://api.github.com` -> `https://api.github.com/graphql`;
    `https://ghe.example.com/api/v3` -> `https://ghe.example.com/api/graphql`.
    """
    if override and override.strip():
        return override.strip().rstrip("/")
    base = api_url.strip().rstrip("/")
    if base.lower().endswith(GHES_REST_SUFFIX):
        return base[: -len(GHES_REST_SUFFIX)] + "/api/graphql"
    return base + "/graphql"
