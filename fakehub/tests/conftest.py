"""Helpers for fakehub's own tests: a GraphQL/REST client of a running fakehub, a settable clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fakehub.control import FakeHubControl

TOKEN = "ghp_test_token_one"


class ManualClock:
    """The clock seam fakehub takes: time moves only when a test says so."""

    def __init__(self, start: float = 1_780_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Api:
    """A GitHub API client of a fakehub, as a user's code would talk to it (httpx, a token)."""

    def __init__(self, control: FakeHubControl, token: str | None = TOKEN) -> None:
        headers = {"Authorization": f"bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=control.url, headers=headers, timeout=30)

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        return self.http.post("/graphql", json={"query": query, "variables": variables or {}})

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of a query that must answer without errors."""
        response = self.graphql(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def api_for() -> Iterator[Any]:
    """api_for(control, token=TOKEN) -> Api; clients are closed at teardown."""
    made: list[Api] = []

    def make(control: FakeHubControl, token: str | None = TOKEN) -> Api:
        api = Api(control, token)
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()


PR_PAGE = """
query($owner: String!, $name: String!, $first: Int = 25, $after: String,
      $order: IssueOrderField = CREATED_AT, $direction: OrderDirection = DESC,
      $states: [PullRequestState!]) {
  rateLimit { limit cost remaining used resetAt nodeCount }
  repository(owner: $owner, name: $name) {
    nameWithOwner pushedAt
    pullRequests(first: $first, after: $after, states: $states,
                 orderBy: {field: $order, direction: $direction}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor }
      nodes {
        id databaseId number title body url state isDraft createdAt updatedAt mergedAt closedAt
        additions deletions changedFiles headRefName baseRefName
        author { __typename login ... on User { databaseId name } }
        mergedBy { login }
        labels(first: 20) { totalCount nodes { name color } }
        milestone { title number dueOn }
        assignees(first: 10) { totalCount nodes { login } }
        closingIssuesReferences(first: 10) { totalCount nodes { number title } }
        reviewRequests(first: 10) { totalCount nodes { requestedReviewer { ... on User { login } } } }
        reviews(first: 50) { totalCount pageInfo { hasNextPage endCursor }
          nodes { databaseId author { login } state body submittedAt } }
        comments { totalCount }
        files(first: 100) { totalCount pageInfo { hasNextPage endCursor }
          nodes { path additions deletions changeType } }
        commits(first: 100) { totalCount pageInfo { hasNextPage endCursor }
          nodes { commit { oid message messageHeadline authoredDate committedDate additions
                           deletions author { name email date user { login } } } } }
        statusCheckRollup { state contexts(first: 50) { totalCount pageInfo { hasNextPage endCursor }
          nodes { __typename
            ... on CheckRun { databaseId name status conclusion startedAt completedAt
                              checkSuite { app { name } } }
            ... on StatusContext { context state createdAt } } } }
      }
    }
  }
}
"""
