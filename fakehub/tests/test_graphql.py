"""GraphQL over real HTTP: GitHub's shapes, cursors, nested paging, node lookups, errors."""

from __future__ import annotations

import pytest

from fakehub.reference import shared_dir
from fakehub.tests.conftest import PR_PAGE

DATA = shared_dir() / "data"


@pytest.fixture
def rocket(fakehub_factory, clock):
    return fakehub_factory(synthetic=["acme/rocket:60:3"], clock=clock)


def page(api, **variables):
    return api.data(PR_PAGE, {"owner": "acme", "name": "rocket", **variables})["repository"][
        "pullRequests"
    ]


def test_it_answers_a_pr_page_in_githubs_shape(rocket, api_for):
    api = api_for(rocket)
    data = api.data(PR_PAGE, {"owner": "acme", "name": "rocket"})
    prs = data["repository"]["pullRequests"]
    assert prs["totalCount"] == 60
    assert len(prs["nodes"]) == 25
    assert prs["pageInfo"]["hasNextPage"] is True
    node = prs["nodes"][0]
    assert set(node["files"]) == {"totalCount", "pageInfo", "nodes"}
    assert node["url"] == f"https://github.com/acme/rocket/pull/{node['number']}"
    assert node["state"] in {"OPEN", "CLOSED", "MERGED"}
    assert data["rateLimit"]["cost"] == 2


def test_it_orders_by_created_at_descending_and_pages_with_cursors(rocket, api_for):
    api = api_for(rocket)
    seen: list[tuple[str, int]] = []
    after = None
    while True:
        prs = page(api, first=25, after=after)
        seen.extend((n["createdAt"], n["number"]) for n in prs["nodes"])
        if not prs["pageInfo"]["hasNextPage"]:
            break
        after = prs["pageInfo"]["endCursor"]
    assert len(seen) == 60
    assert seen == sorted(seen, reverse=True)
    assert len({number for _, number in seen}) == 60


def test_its_cursors_stay_valid_when_prs_are_inserted_and_updated(rocket, api_for, clock):
    api = api_for(rocket)
    first = page(api, first=10)
    after = first["pageInfo"]["endCursor"]
    expected = page(api, first=10, after=after)["nodes"]
    clock.advance(60)
    rocket.upsert_pr("acme/rocket", {"number": 1000, "title": "brand new"})
    rocket.upsert_pr("acme/rocket", {"number": first["nodes"][0]["number"], "title": "edited"})
    again = page(api, first=10, after=after)["nodes"]
    assert [n["number"] for n in again] == [n["number"] for n in expected]


def test_it_keeps_updated_at_descending_order_right_after_an_update(rocket, api_for, clock):
    api = api_for(rocket)
    before = page(api, first=25, order="UPDATED_AT")["nodes"]
    oldest = page(api, first=1, order="UPDATED_AT", direction="ASC")["nodes"][0]["number"]
    clock.advance(3600)
    rocket.upsert_pr("acme/rocket", {"number": oldest, "labels": [{"name": "bumped"}]})
    after = page(api, first=25, order="UPDATED_AT")["nodes"]
    assert after[0]["number"] == oldest
    assert after[0]["labels"]["nodes"] == [{"name": "bumped", "color": "ededed"}]
    assert [n["number"] for n in after[1:]] == [n["number"] for n in before[:24]]
    stamps = [n["updatedAt"] for n in after]
    assert stamps == sorted(stamps, reverse=True)


def test_it_filters_by_states(rocket, api_for):
    api = api_for(rocket)
    merged = page(api, first=100, states=["MERGED"])
    open_ = page(api, first=100, states=["OPEN"])
    everything = page(api, first=100)
    assert {n["state"] for n in merged["nodes"]} == {"MERGED"}
    assert merged["totalCount"] == len(merged["nodes"])
    assert merged["totalCount"] + open_["totalCount"] <= everything["totalCount"]


def test_it_pages_last_and_before_backwards(rocket, api_for):
    api = api_for(rocket)
    query = """query($before: String) { repository(owner: "acme", name: "rocket") {
      pullRequests(last: 5, before: $before, orderBy: {field: CREATED_AT, direction: ASC}) {
        pageInfo { hasPreviousPage startCursor } nodes { number createdAt } } } }"""
    forward = page(api, first=60, direction="ASC")["nodes"]
    last = api.data(query)["repository"]["pullRequests"]
    assert [n["number"] for n in last["nodes"]] == [n["number"] for n in forward[-5:]]
    earlier = api.data(query, {"before": last["pageInfo"]["startCursor"]})
    assert [n["number"] for n in earlier["repository"]["pullRequests"]["nodes"]] == [
        n["number"] for n in forward[-10:-5]
    ]


def test_it_pages_the_nested_connections_of_a_heavy_pr(fakehub_factory, api_for):
    hub = fakehub_factory(synthetic=["acme/heavy:500"])
    api = api_for(hub)
    query = """query($n: Int!, $after: String) { repository(owner: "acme", name: "heavy") {
      pullRequest(number: $n) { files(first: 100, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { path } } } } }"""
    first = api.data(query, {"n": 500})["repository"]["pullRequest"]["files"]
    assert first["totalCount"] == 180
    assert len(first["nodes"]) == 100 and first["pageInfo"]["hasNextPage"] is True
    rest = api.data(query, {"n": 500, "after": first["pageInfo"]["endCursor"]})
    second = rest["repository"]["pullRequest"]["files"]
    assert len(second["nodes"]) == 80 and second["pageInfo"]["hasNextPage"] is False
    paths = [f["path"] for f in first["nodes"] + second["nodes"]]
    assert paths == [f["path"] for f in hub.get_pr("acme/heavy", 500)["files"]]


def test_it_serves_the_rest_of_a_pr_by_node_id_with_aliases(fakehub_factory, api_for):
    hub = fakehub_factory(synthetic=["acme/heavy:500"])
    api = api_for(hub)
    ids = api.data(
        """{ repository(owner: "acme", name: "heavy") {
          a: pullRequest(number: 500) { id } b: pullRequest(number: 499) { id } } }"""
    )["repository"]
    query = """query($a: ID!, $b: ID!) {
      a: node(id: $a) { ... on PullRequest { number commits(first: 100, after: "Y3Vyc29yOnYyOjk5")
        { totalCount nodes { commit { oid } } } } }
      b: node(id: $b) { ... on PullRequest { number } }
      many: nodes(ids: [$a, $b]) { ... on PullRequest { number } } }"""
    data = api.data(query, {"a": ids["a"]["id"], "b": ids["b"]["id"]})
    assert data["a"]["number"] == 500 and data["b"]["number"] == 499
    assert len(data["a"]["commits"]["nodes"]) == 30  # 130 commits, from offset 100
    assert [n["number"] for n in data["many"]] == [500, 499]


def test_it_answers_an_unknown_repository_with_null_and_not_found(fakehub, api_for):
    response = api_for(fakehub).graphql('{ repository(owner: "no", name: "such") { id } }')
    body = response.json()
    assert response.status_code == 200
    assert body["data"] == {"repository": None}
    assert body["errors"][0]["type"] == "NOT_FOUND"
    assert body["errors"][0]["path"] == ["repository"]
    assert "no/such" in body["errors"][0]["message"]


def test_it_answers_an_unknown_node_id_with_not_found(fakehub, api_for):
    body = api_for(fakehub).graphql('{ node(id: "PR_bogus") { id } }').json()
    assert body["data"] == {"node": None}
    assert body["errors"] == [
        {
            "type": "NOT_FOUND",
            "path": ["node"],
            "locations": [{"line": 1, "column": 3}],
            "message": "Could not resolve to a node with the global id of 'PR_bogus'",
        }
    ]


def test_it_answers_each_unknown_id_in_nodes_with_null_and_its_own_not_found(rocket, api_for):
    api = api_for(rocket)
    known = api.data(
        '{ repository(owner: "acme", name: "rocket") { pullRequest(number: 7) { id } } }'
    )
    query = """query($ids: [ID!]!) { found: nodes(ids: $ids) { ... on PullRequest { number } } }"""
    body = api.graphql(
        query, {"ids": ["nope", known["repository"]["pullRequest"]["id"], "PR_bogus"]}
    ).json()
    assert body["data"] == {"found": [None, {"number": 7}, None]}
    assert [(e["type"], e["path"], e["message"]) for e in body["errors"]] == [
        ("NOT_FOUND", ["found", 0], "Could not resolve to a node with the global id of 'nope'"),
        ("NOT_FOUND", ["found", 2], "Could not resolve to a node with the global id of 'PR_bogus'"),
    ]


def test_it_rejects_an_invalid_document_with_validation_errors(rocket, api_for):
    body = api_for(rocket).graphql('{ repository(owner: "acme", name: "rocket") { nope } }').json()
    assert "data" not in body
    assert "Cannot query field 'nope' on type 'Repository'." in body["errors"][0]["message"]


def test_it_rejects_a_syntax_error(rocket, api_for):
    body = api_for(rocket).graphql("{ repository(").json()
    assert body["errors"][0]["message"].startswith("Syntax Error")


def test_it_requires_first_or_last_on_connections(rocket, api_for):
    body = (
        api_for(rocket)
        .graphql(
            '{ repository(owner: "acme", name: "rocket") { pullRequests { nodes { number } } } }'
        )
        .json()
    )
    assert body["errors"][0]["type"] == "MISSING_PAGINATION_BOUNDARIES"
    assert "`pullRequests`" in body["errors"][0]["message"]


def test_it_answers_a_total_count_only_connection_without_first(rocket, api_for):
    data = api_for(rocket).data(
        '{ repository(owner: "acme", name: "rocket") { pullRequests { totalCount } } }'
    )
    assert data["repository"]["pullRequests"]["totalCount"] == 60


def test_it_refuses_more_than_100_records(rocket, api_for):
    body = (
        api_for(rocket)
        .graphql(
            '{ repository(owner: "acme", name: "rocket") { pullRequests(first: 101) { totalCount } } }'
        )
        .json()
    )
    assert body["errors"][0]["type"] == "EXCESSIVE_PAGINATION"
    assert "exceeds the `first` limit of 100 records" in body["errors"][0]["message"]


def test_it_refuses_a_query_over_500000_nodes(rocket, api_for):
    body = (
        api_for(rocket)
        .graphql(
            """{ repository(owner: "acme", name: "rocket") { pullRequests(first: 100) { nodes {
          commits(first: 100) { nodes { commit { checkSuites(first: 100) { nodes {
            checkRuns(first: 100) { nodes { name } } } } } } } } } } }"""
        )
        .json()
    )
    assert "data" not in body
    assert body["errors"][0]["type"] == "MAX_NODE_LIMIT_EXCEEDED"
    assert "exceeds the maximum limit of 500,000" in body["errors"][0]["message"]


def test_it_shows_bot_logins_without_the_bot_suffix(fakehub, api_for):
    fakehub.add_synthetic("acme/bots", 10)
    fakehub.upsert_pr(
        "acme/bots",
        {"number": 77, "author": {"__typename": "Bot", "login": "dependabot"}},
    )
    data = api_for(fakehub).data(
        """{ repository(owner: "acme", name: "bots") { pullRequest(number: 77) {
          author { __typename login } } } }"""
    )
    assert data["repository"]["pullRequest"]["author"] == {
        "__typename": "Bot",
        "login": "dependabot",
    }


def test_it_maps_commit_author_logins_to_user_login(fakehub, api_for):
    fakehub.add_synthetic("acme/c", 1)
    commit = {
        "oid": "a" * 40,
        "messageHeadline": "x",
        "authoredDate": "2026-01-01T00:00:00Z",
        "committedDate": "2026-01-01T00:00:00Z",
        "author": {"name": "Ann", "email": "ann@example.com", "login": "ann"},
        "additions": 1,
        "deletions": 0,
    }
    unlinked = {**commit, "oid": "b" * 40, "author": {"name": "Bo", "email": "b@x", "login": None}}
    fakehub.upsert_pr("acme/c", {"number": 1, "commits": [commit, unlinked]})
    data = api_for(fakehub).data(
        """{ repository(owner: "acme", name: "c") { pullRequest(number: 1) {
          commits(first: 10) { nodes { commit { author { name email date user { login } } } } } } } }"""
    )
    authors = [n["commit"]["author"] for n in data["repository"]["pullRequest"]["commits"]["nodes"]]
    assert authors[0] == {
        "name": "Ann",
        "email": "ann@example.com",
        "date": "2026-01-01T00:00:00Z",
        "user": {"login": "ann"},
    }
    assert authors[1]["user"] is None


def test_it_serves_check_suites_on_the_last_commit_and_the_rollup(fakehub, api_for):
    fakehub.add_synthetic("acme/ci", 1)
    suites = [
        {
            "app": {"name": "GitHub Actions"},
            "conclusion": "FAILURE",
            "checkRuns": [
                {"databaseId": 11, "name": "lint", "status": "COMPLETED", "conclusion": "SUCCESS",
                 "startedAt": "2026-01-01T00:00:00Z", "completedAt": "2026-01-01T00:01:00Z"},
                {"databaseId": 12, "name": "test", "status": "COMPLETED", "conclusion": "FAILURE",
                 "startedAt": "2026-01-01T00:00:00Z", "completedAt": "2026-01-01T00:05:00Z"},
            ],
        }
    ]  # fmt: skip
    fakehub.set_check_suites("acme/ci", 1, suites)
    data = api_for(fakehub).data(
        """{ repository(owner: "acme", name: "ci") { pullRequest(number: 1) {
          statusCheckRollup { state contexts(first: 1) { totalCount pageInfo { hasNextPage }
            nodes { ... on CheckRun { databaseId name checkSuite { app { name } } } } } }
          commits(last: 1) { nodes { commit { checkSuites(first: 10) { totalCount nodes {
            app { name } conclusion checkRuns(first: 10) { nodes { databaseId conclusion } } } } } } }
        } } }"""
    )
    pr = data["repository"]["pullRequest"]
    assert pr["statusCheckRollup"]["state"] == "FAILURE"
    contexts = pr["statusCheckRollup"]["contexts"]
    assert contexts["totalCount"] == 2 and contexts["pageInfo"]["hasNextPage"] is True
    assert contexts["nodes"] == [
        {"databaseId": 11, "name": "lint", "checkSuite": {"app": {"name": "GitHub Actions"}}}
    ]
    suite = pr["commits"]["nodes"][0]["commit"]["checkSuites"]["nodes"][0]
    assert suite["conclusion"] == "FAILURE"
    assert [r["databaseId"] for r in suite["checkRuns"]["nodes"]] == [11, 12]


def test_it_serves_a_real_dataset(fakehub_factory, api_for):
    hub = fakehub_factory(data=[DATA / "antiwork-gumroad"])
    data = api_for(hub).data(
        """{ repository(owner: "antiwork", name: "gumroad") { pushedAt
          pullRequests(first: 100) { totalCount nodes { number state author { login } } } } }"""
    )
    prs = data["repository"]["pullRequests"]
    assert prs["totalCount"] == 10 == len(prs["nodes"])
    assert {n["state"] for n in prs["nodes"]} == {"MERGED"}


def test_it_answers_a_rate_limit_only_query_for_one_point(fakehub, api_for):
    data = api_for(fakehub).data("{ rateLimit { limit cost remaining used resetAt nodeCount } }")
    assert data["rateLimit"]["cost"] == 1
    assert data["rateLimit"]["nodeCount"] == 0
    assert data["rateLimit"]["remaining"] == data["rateLimit"]["limit"] - 1


def test_it_refuses_a_body_that_is_not_json(fakehub, api_for):
    response = api_for(fakehub).http.post("/graphql", content=b"{not json")
    assert response.status_code == 400
    assert response.json()["message"] == "Problems parsing JSON"


def test_a_pr_lists_at_most_3000_files_while_changed_files_keeps_its_count(rocket, api_for):
    files = [
        {"path": f"gen/f{i:04}.txt", "additions": 1, "deletions": 0, "changeType": "ADDED"}
        for i in range(3500)
    ]
    rocket.upsert_pr("acme/rocket", {"number": 7, "files": files})
    query = """query($after: String) { repository(owner: "acme", name: "rocket") {
      pullRequest(number: 7) { changedFiles files(first: 100, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { path } } } } }"""
    api = api_for(rocket)
    seen: list[str] = []
    after = None
    while True:
        pr = api.data(query, {"after": after})["repository"]["pullRequest"]
        seen += [node["path"] for node in pr["files"]["nodes"]]
        if not pr["files"]["pageInfo"]["hasNextPage"]:
            break
        after = pr["files"]["pageInfo"]["endCursor"]
    assert (pr["changedFiles"], pr["files"]["totalCount"], len(seen)) == (3500, 3000, 3000)
    assert seen == [f"gen/f{i:04}.txt" for i in range(3000)]


def test_a_status_context_names_its_commit(fakehub_factory, api_for):
    hub = fakehub_factory()
    hub.add_synthetic("acme/ci", 20, seed=1, ci="statuses")
    query = """{ repository(owner: "acme", name: "ci") { pullRequests(first: 20) { nodes {
      commits(last: 1) { nodes { commit { oid } } }
      statusCheckRollup { contexts(first: 50) { statusContextCount checkRunCount nodes {
        __typename ... on StatusContext { context state description targetUrl commit { oid } }
      } } } } } } }"""
    nodes = api_for(hub).data(query)["repository"]["pullRequests"]["nodes"]
    with_ci = [n for n in nodes if n["statusCheckRollup"]]
    assert with_ci
    for node in with_ci:
        head = node["commits"]["nodes"][0]["commit"]["oid"]
        contexts = node["statusCheckRollup"]["contexts"]
        assert contexts["checkRunCount"] == 0 and contexts["statusContextCount"] > 0
        assert {c["__typename"] for c in contexts["nodes"]} == {"StatusContext"}
        assert all(c["commit"]["oid"] == head for c in contexts["nodes"])
