"""Renamed and transferred repositories: REST's 301 from the old path, GraphQL following renames."""

from __future__ import annotations

import httpx
import pytest

from fakehub.control import FakeHubControlError
from fakehub.tests.conftest import TOKEN

PR_IDS = """query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) {
  id nameWithOwner url pullRequests(first: 5) { nodes { id number url } } } }"""


@pytest.fixture
def hub(fakehub_factory):
    return fakehub_factory(synthetic=["acme/rocket:12"])


def test_graphql_answers_the_old_name_with_the_renamed_repository_and_its_stable_ids(hub, api_for):
    api = api_for(hub)
    before = api.data(PR_IDS, {"owner": "acme", "name": "rocket"})["repository"]

    assert hub.rename_repo("acme/rocket", "acme/launcher") == "acme/launcher"

    by_old = api.data(PR_IDS, {"owner": "acme", "name": "rocket"})["repository"]
    by_new = api.data(PR_IDS, {"owner": "acme", "name": "launcher"})["repository"]
    assert by_old == by_new
    assert by_old["nameWithOwner"] == "acme/launcher"
    assert by_old["url"] == "https://github.com/acme/launcher"
    # Global ids survive the rename; URLs follow it.
    assert [n["id"] for n in by_old["pullRequests"]["nodes"]] == [
        n["id"] for n in before["pullRequests"]["nodes"]
    ]
    assert by_old["id"] == before["id"]
    assert all("/acme/launcher/pull/" in n["url"] for n in by_old["pullRequests"]["nodes"])
    node = api.data('query($id: ID!) { node(id: $id) { ... on PullRequest { number } } }',
                    {"id": before["pullRequests"]["nodes"][0]["id"]})  # fmt: skip
    assert node["node"]["number"] == before["pullRequests"]["nodes"][0]["number"]


def test_follow_renames_false_refuses_the_old_name(hub, api_for):
    hub.rename_repo("acme/rocket", "acme/launcher")
    answer = api_for(hub).graphql(
        '{ repository(owner: "acme", name: "rocket", followRenames: false) { nameWithOwner } }'
    )
    body = answer.json()
    assert body["data"] == {"repository": None}
    assert body["errors"][0]["type"] == "NOT_FOUND"


def test_rest_answers_the_old_path_with_a_301_to_the_new_one(hub):
    hub.rename_repo("acme/rocket", "octo-org/launcher")  # a transfer and a rename at once
    headers = {"Authorization": f"bearer {TOKEN}"}
    old = httpx.get(
        hub.url + "/repos/acme/rocket/pulls",
        params={"state": "all", "per_page": 2},
        headers=headers,
        timeout=30,
    )
    assert old.status_code == 301
    location = old.headers["location"]
    assert location.startswith(hub.url + "/repos/octo-org/launcher/pulls?")
    assert "per_page=2" in location
    assert old.json()["message"] == "Moved Permanently"
    followed = httpx.get(
        hub.url + "/repos/acme/rocket/pulls",
        params={"state": "all", "per_page": 2},
        headers=headers,
        timeout=30,
        follow_redirects=True,
    )
    assert followed.status_code == 200 and len(followed.json()) == 2
    assert followed.json()[0]["base"]["repo"]["full_name"] == "octo-org/launcher"
    # The Enterprise layout keeps its prefix in the Location.
    prefixed = httpx.get(hub.url + "/api/v3/repos/acme/rocket", headers=headers, timeout=30)
    assert prefixed.headers["location"] == hub.url + "/api/v3/repos/octo-org/launcher"


def test_renaming_onto_an_existing_repository_or_an_unknown_one_is_refused(hub):
    hub.add_synthetic("acme/other", 1)
    with pytest.raises(FakeHubControlError, match="400 repository acme/other already exists"):
        hub.rename_repo("acme/rocket", "acme/other")
    with pytest.raises(FakeHubControlError, match="404"):
        hub.rename_repo("acme/nothing", "acme/else")
    with pytest.raises(FakeHubControlError, match="owner/name"):
        hub.rename_repo("acme/rocket", "no-slash")
