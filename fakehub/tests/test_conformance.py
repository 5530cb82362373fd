"""Conformance with GitHub's published descriptions: the SDL subset, REST bodies, cost formula.

References live in ../shared/github (beside the repository, or $PRHARVEST_SHARED_DIR; GitHub's
GraphQL schema may come from npm instead: fakehub/reference.py); a missing reference fails.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    build_ast_schema,
    parse,
)
from openapi_schema_validator import OAS30Validator

from fakehub.graphql_api import analyse, build_schema, cost_from_requests
from fakehub.reference import SHARED_DIR_ENV, shared_dir
from fakehub.testing import github_schema_or_fail

SHARED = shared_dir() / "github"
BUILTIN = {"String", "Int", "Float", "Boolean", "ID"}


@cache
def github_schema() -> GraphQLSchema:
    sdl = github_schema_or_fail().read_text(encoding="utf-8")
    schema = build_ast_schema(parse(sdl), assume_valid_sdl=True)
    # graphql-core 3.3 reports deprecation mismatches in GitHub's schema; they do not matter here.
    schema._validation_errors = []
    return schema


@cache
def openapi() -> dict[str, Any]:
    path = SHARED / "rest" / "openapi-subset.json"
    if not path.is_file():
        pytest.fail(
            f"GitHub's OpenAPI subset is missing: not at {path} "
            f"(set {SHARED_DIR_ENV} to the shared/ directory)",
            pytrace=False,
        )
    return json.loads(path.read_text(encoding="utf-8"))


def subset_problems(ours: GraphQLSchema, theirs: GraphQLSchema) -> list[str]:
    """Every way `ours` is not a strict subset of `theirs` (empty when it is)."""
    problems: list[str] = []
    for name, ours_type in ours.type_map.items():
        if name.startswith("__") or name in BUILTIN:
            continue
        their_type = theirs.type_map.get(name)
        if their_type is None:
            problems.append(f"type {name} is not GitHub's")
            continue
        if type(their_type) is not type(ours_type):
            problems.append(f"type {name} is a {type(ours_type).__name__} here")
            continue
        if isinstance(ours_type, GraphQLObjectType | GraphQLInterfaceType):
            assert isinstance(their_type, GraphQLObjectType | GraphQLInterfaceType)
            their_interfaces = {i.name for i in their_type.interfaces}
            for interface in ours_type.interfaces:
                if interface.name not in their_interfaces:
                    problems.append(f"{name} implements {interface.name} only here")
            for field_name, field in ours_type.fields.items():
                their_field = their_type.fields.get(field_name)
                if their_field is None:
                    problems.append(f"{name}.{field_name} is not GitHub's")
                    continue
                if str(field.type) != str(their_field.type):
                    problems.append(f"{name}.{field_name}: {field.type} vs {their_field.type}")
                for arg_name, arg in field.args.items():
                    their_arg = their_field.args.get(arg_name)
                    if their_arg is None:
                        problems.append(f"{name}.{field_name}({arg_name}) is not GitHub's")
                    elif str(arg.type) != str(their_arg.type):
                        problems.append(
                            f"{name}.{field_name}({arg_name}): {arg.type} vs {their_arg.type}"
                        )
        elif isinstance(ours_type, GraphQLInputObjectType):
            assert isinstance(their_type, GraphQLInputObjectType)
            for field_name, field in ours_type.fields.items():
                their_field = their_type.fields.get(field_name)
                if their_field is None or str(their_field.type) != str(field.type):
                    problems.append(f"input {name}.{field_name} differs from GitHub's")
        elif isinstance(ours_type, GraphQLEnumType):
            assert isinstance(their_type, GraphQLEnumType)
            for value in ours_type.values:
                if value not in their_type.values:
                    problems.append(f"enum {name}.{value} is not GitHub's")
        elif isinstance(ours_type, GraphQLUnionType):
            assert isinstance(their_type, GraphQLUnionType)
            their_members = {t.name for t in their_type.types}
            for member in ours_type.types:
                if member.name not in their_members:
                    problems.append(f"union {name} member {member.name} is not GitHub's")
        else:
            assert isinstance(ours_type, GraphQLScalarType)
    return problems


def test_its_sdl_is_a_strict_subset_of_githubs_public_schema():
    assert subset_problems(build_schema(), github_schema()) == []


def test_the_subset_check_catches_a_field_github_does_not_have():
    ours = build_ast_schema(
        parse("type Query { rateLimit: RateLimit } type RateLimit { nope: Int }")
    )
    assert subset_problems(ours, github_schema()) == ["RateLimit.nope is not GitHub's"]


def test_it_serves_every_field_the_issue_lists():
    schema = build_schema()
    pr = schema.type_map["PullRequest"]
    assert isinstance(pr, GraphQLObjectType)
    wanted = [
        "id",
        "databaseId",
        "number",
        "title",
        "body",
        "url",
        "state",
        "isDraft",
        "createdAt",
        "updatedAt",
        "mergedAt",
        "closedAt",
        "additions",
        "deletions",
        "changedFiles",
        "headRefName",
        "baseRefName",
        "author",
        "mergedBy",
        "labels",
        "milestone",
        "assignees",
        "closingIssuesReferences",
        "reviewRequests",
        "reviews",
        "comments",
        "files",
        "commits",
        "statusCheckRollup",
    ]
    assert [name for name in wanted if name not in pr.fields] == []


# --- the cost formula, against docs.github.com's worked examples ---------------------------

# docs.github.com/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api
DOC_COST_EXAMPLE = """
query {
  viewer {
    login
    repositories(first: 100) {
      edges { node { id
        issues(first: 50) {
          edges { node { id
            labels(first: 60) { edges { node { id name } } }
          } }
        }
      } }
    }
  }
}
"""
DOC_NODES_EXAMPLE_1 = """
query {
  viewer {
    repositories(first: 50) {
      edges { repository:node { name
        issues(first: 10) { totalCount edges { node { title bodyHTML } } }
      } }
    }
  }
}
"""
DOC_NODES_EXAMPLE_2 = """
query {
  viewer {
    repositories(first: 50) {
      edges { repository:node { name
        pullRequests(first: 20) { edges { pullRequest:node { title
          comments(first: 10) { edges { comment:node { bodyHTML } } } } } }
        issues(first: 20) { totalCount edges { issue:node { title bodyHTML
          comments(first: 10) { edges { comment:node { bodyHTML } } } } } }
      } }
    }
    followers(first: 10) { edges { follower:node { login } } }
  }
}
"""


def test_the_cost_matches_githubs_documented_example():
    analysis = analyse(github_schema(), parse(DOC_COST_EXAMPLE))
    # 1 + 100 + 100 * 50 = 5,101 requests -> 51.01 -> 51 points.
    assert analysis.requests == 5101
    assert analysis.cost == 51


def test_the_node_count_matches_githubs_documented_examples():
    assert analyse(github_schema(), parse(DOC_NODES_EXAMPLE_1)).nodes == 550
    assert analyse(github_schema(), parse(DOC_NODES_EXAMPLE_2)).nodes == 22_060


@pytest.mark.parametrize(
    ("requests", "points"), [(0, 1), (1, 1), (149, 1), (150, 2), (226, 2), (249, 2), (5101, 51)]
)
def test_cost_is_requests_over_100_rounded_at_least_1(requests, points):
    assert cost_from_requests(requests) == points


def test_a_full_25_pr_page_costs_about_2_points():
    from fakehub.tests.conftest import PR_PAGE

    analysis = analyse(build_schema(), parse(PR_PAGE), {"owner": "o", "name": "n"})
    assert analysis.errors == []
    assert analysis.cost == 2


def test_variables_and_fragments_count_like_literals():
    query = """query($n: Int!) { repository(owner: "o", name: "n") {
      pullRequests(first: $n) { nodes { ...F } } } }
      fragment F on PullRequest { files(first: 100) { nodes { path } } }"""
    analysis = analyse(build_schema(), parse(query), {"n": 50})
    assert analysis.requests == 51
    assert analysis.nodes == 50 + 50 * 100


# --- REST bodies against GitHub's OpenAPI description --------------------------------------


def _null_in_nullable_enums(value: Any) -> Any:
    """OAS 3.0 lets a `nullable` enum or oneOf be null; openapi-schema-validator wants null
    listed (as an enum value, or as one more oneOf branch)."""
    if isinstance(value, dict):
        out = {key: _null_in_nullable_enums(item) for key, item in value.items()}
        if out.get("nullable") is True and isinstance(out.get("enum"), list):
            out["enum"] = [*out["enum"], None]
        if out.get("nullable") is True and isinstance(out.get("oneOf"), list):
            out["oneOf"] = [*out["oneOf"], {"enum": [None]}]
        return out
    if isinstance(value, list):
        return [_null_in_nullable_enums(item) for item in value]
    return value


def validator(schema_name: str) -> OAS30Validator:
    components = _null_in_nullable_enums(openapi()["components"])
    return OAS30Validator({"components": components, "$ref": f"#/components/schemas/{schema_name}"})


def response_validator(path: str) -> OAS30Validator:
    spec = openapi()
    schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    return OAS30Validator({"components": _null_in_nullable_enums(spec["components"]), **schema})


@pytest.fixture
def served(fakehub_factory, api_for):
    hub = fakehub_factory(synthetic=["acme/rocket:40:5"])
    hub.upsert_pr("acme/rocket", {"number": 41, "author": {"__typename": "Bot", "login": "dependabot"},
                                  "milestone": {"title": "v1"}, "labels": [{"name": "deps"}],
                                  "assignees": [{"login": "ann"}], "reviewRequests": [{"login": "bo"}]})  # fmt: skip
    hub.upsert_pr("acme/rocket", {"number": 42, "author": None})
    return api_for(hub)


def test_rest_pulls_bodies_match_githubs_schema(served):
    body = served.get("/repos/acme/rocket/pulls", params={"state": "all", "per_page": 100}).json()
    assert len(body) == 42
    checker = validator("pull-request-simple")
    errors = [f"#{pr['number']}: {e.message}" for pr in body for e in checker.iter_errors(pr)]
    assert errors == []


def test_rest_repository_body_matches_githubs_schema(served):
    body = served.get("/repos/acme/rocket").json()
    assert [e.message for e in validator("full-repository").iter_errors(body)] == []


def test_rest_check_runs_body_matches_githubs_schema(served, api_for):
    sha = served.data(
        """{ repository(owner: "acme", name: "rocket") { pullRequests(first: 40) {
          nodes { statusCheckRollup { state } commits(last: 1) { nodes { commit { oid } } } } } } }"""
    )["repository"]["pullRequests"]["nodes"]
    with_checks = [n for n in sha if n["statusCheckRollup"]]
    assert with_checks
    oid = with_checks[0]["commits"]["nodes"][0]["commit"]["oid"]
    body = served.get(f"/repos/acme/rocket/commits/{oid}/check-runs").json()
    assert body["total_count"] >= 1
    checker = response_validator("/repos/{owner}/{repo}/commits/{ref}/check-runs")
    assert [e.message for e in checker.iter_errors(body)] == []


def test_rest_rate_limit_body_matches_githubs_schema(served):
    body = served.get("/rate_limit").json()
    assert [e.message for e in validator("rate-limit-overview").iter_errors(body)] == []


def test_rest_error_bodies_match_githubs_basic_error(served):
    body = served.get("/repos/acme/nope").json()
    assert [e.message for e in validator("basic-error").iter_errors(body)] == []
    assert body["message"] == "Not Found"
