"""fakehub's lean executor answers exactly as graphql-core's `execute` does on our schema."""

from __future__ import annotations

import json

import pytest
from graphql import parse

from fakehub.graphql_api import Context, run
from fakehub.server import FakeHub
from fakehub.tests.conftest import PR_PAGE

QUERIES = [
    (PR_PAGE, {"owner": "acme", "name": "rocket"}),
    (PR_PAGE, {"owner": "acme", "name": "rocket", "order": "UPDATED_AT", "states": ["OPEN"]}),
    (PR_PAGE, {"owner": "acme", "name": "missing"}),
    (
        """query($n: Int!) { repository(owner: "acme", name: "rocket") {
          a: pullRequest(number: $n) { ...Files number author { __typename login } }
          b: pullRequest(number: 99999) { number } } }
          fragment Files on PullRequest { files(first: 3, after: "Y3Vyc29yOnYyOjA=") {
            edges { cursor node { path } } pageInfo { startCursor endCursor hasNextPage } } }""",
        {"n": 500},
    ),
    (
        """query($ids: [ID!]!, $skip: Boolean!) { nodes(ids: $ids) { __typename id
          ... on PullRequest { title @skip(if: $skip) number @include(if: $skip) } }
          rateLimit { cost remaining } }""",
        {"ids": ["PR_YWNtZS9yb2NrZXQjMQ", "PR_bogus"], "skip": True},
    ),
    (
        """{ node(id: "PR_YWNtZS9yb2NrZXQjNTAw") { ... on PullRequest {
          reviews(last: 5, states: [APPROVED, COMMENTED]) { totalCount nodes { state } }
          commits(last: 2) { nodes { commit { oid statusCheckRollup { state } } } } } } }""",
        {},
    ),
    (
        """query($n: Int!) { repository(owner: "acme", name: "rocket") { pullRequest(number: $n) {
          totalCommentsCount
          timelineItems(first: 4, itemTypes: [REVIEW_REQUESTED_EVENT, HEAD_REF_FORCE_PUSHED_EVENT]) {
            totalCount pageInfo { hasNextPage endCursor }
            nodes { __typename ... on ReviewRequestedEvent { id createdAt actor { login }
              requestedReviewer { __typename ... on User { login } } }
              ... on HeadRefForcePushedEvent { id createdAt } } }
          reviewThreads(first: 3) { totalCount edges { cursor node { id isResolved path } } } } } }""",
        {"n": 500},
    ),
    ("query($x: Int!) { rateLimit { cost } }", {}),  # a missing variable
]


@pytest.fixture(scope="module")
def hub():
    return FakeHub(synthetic=[("acme/rocket", 520, 9)])


@pytest.mark.parametrize(("query", "variables"), QUERIES)
def test_both_executors_give_the_same_answer(hub, query, variables):
    document = parse(query)
    context = Context(hub.store, {"cost": 1, "remaining": 4999})
    fast = run(hub.schema, document, context, variables, None)
    reference = run(hub.schema, document, context, variables, None, use_fast=False)
    assert json.dumps(fast, sort_keys=True) == json.dumps(reference, sort_keys=True)
