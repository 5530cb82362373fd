"""REST over real HTTP: pulls listing and its Link headers, ETag/304, check runs, rate_limit."""

from __future__ import annotations

import re

import pytest

PROBE = {"state": "all", "sort": "updated", "direction": "desc", "per_page": 1}


@pytest.fixture
def hub(fakehub_factory, clock):
    return fakehub_factory(synthetic=["acme/rocket:45:2"], clock=clock)


def test_it_lists_pulls_by_state_sort_and_direction(hub, api_for):
    api = api_for(hub)
    everything = api.get(
        "/repos/acme/rocket/pulls", params={"state": "all", "per_page": 100}
    ).json()
    assert len(everything) == 45
    created = [pr["created_at"] for pr in everything]
    assert created == sorted(created, reverse=True)
    updated = api.get(
        "/repos/acme/rocket/pulls", params={"state": "all", "sort": "updated", "per_page": 100}
    ).json()
    # GitHub: direction defaults to asc for any sort but created.
    stamps = [pr["updated_at"] for pr in updated]
    assert stamps == sorted(stamps)
    opened = api.get("/repos/acme/rocket/pulls", params={"per_page": 100}).json()
    assert {pr["state"] for pr in opened} == {"open"}
    closed = api.get("/repos/acme/rocket/pulls", params={"state": "closed", "per_page": 100}).json()
    assert len(opened) + len(closed) == 45


def test_it_pages_with_absolute_link_headers(hub, api_for):
    api = api_for(hub)
    response = api.get("/repos/acme/rocket/pulls", params={"state": "all", "per_page": 20})
    links = dict(
        (rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers["link"])
    )
    assert links["next"].startswith(hub.url + "/repos/acme/rocket/pulls?")
    assert "page=2" in links["next"] and "page=3" in links["last"]
    last = api.get(links["last"])
    assert len(last.json()) == 5
    assert 'rel="prev"' in last.headers["link"] and 'rel="next"' not in last.headers["link"]


def test_it_caps_per_page_at_100_and_takes_the_last_of_duplicated_params(hub, api_for):
    api = api_for(hub)
    body = api.get("/repos/acme/rocket/pulls?state=open&state=all&per_page=500").json()
    assert len(body) == 45


def test_it_answers_304_for_a_matching_etag_without_spending_a_point(hub, api_for):
    api = api_for(hub)
    first = api.get("/repos/acme/rocket/pulls", params=PROBE)
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]+"', etag)
    remaining = int(first.headers["x-ratelimit-remaining"])
    again = api.get("/repos/acme/rocket/pulls", params=PROBE, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert int(again.headers["x-ratelimit-remaining"]) == remaining
    assert again.headers["etag"] == etag
    stats = hub.stats()
    assert stats["not_modified"] == 1
    assert stats["rest_points"] == 1


def test_its_probe_etag_changes_whenever_a_pr_is_updated(hub, api_for, clock):
    api = api_for(hub)
    etag = api.get("/repos/acme/rocket/pulls", params=PROBE).headers["etag"]
    oldest = api.get("/repos/acme/rocket/pulls", params={**PROBE, "direction": "asc"}).json()[0][
        "number"
    ]
    hub.upsert_pr("acme/rocket", {"number": oldest, "title": "changed"})
    changed = api.get("/repos/acme/rocket/pulls", params=PROBE, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()[0]["number"] == oldest
    # The same PR updated again within the same second still moves updatedAt.
    second = changed.headers["etag"]
    hub.upsert_pr("acme/rocket", {"number": oldest, "body": "again"})
    again = api.get("/repos/acme/rocket/pulls", params=PROBE, headers={"If-None-Match": second})
    assert again.status_code == 200


def test_its_probe_etag_does_not_change_when_only_check_runs_change(hub, api_for):
    api = api_for(hub)
    etag = api.get("/repos/acme/rocket/pulls", params=PROBE).headers["etag"]
    hub.set_check_suites("acme/rocket", 1, [])
    same = api.get("/repos/acme/rocket/pulls", params=PROBE, headers={"If-None-Match": etag})
    assert same.status_code == 304


def test_it_serves_a_repository(hub, api_for):
    body = api_for(hub).get("/repos/acme/rocket").json()
    assert body["full_name"] == "acme/rocket"
    assert body["default_branch"] == "main"
    assert body["pushed_at"]


def test_it_shows_bot_logins_with_the_bot_suffix_and_ghosts_as_ghost(hub, api_for):
    hub.upsert_pr(
        "acme/rocket", {"number": 46, "author": {"__typename": "Bot", "login": "dependabot"}}
    )
    hub.upsert_pr("acme/rocket", {"number": 47, "author": None})
    body = api_for(hub).get("/repos/acme/rocket/pulls", params={"per_page": 2}).json()
    users = {pr["number"]: (pr["user"]["login"], pr["user"]["type"]) for pr in body}
    assert users == {46: ("dependabot[bot]", "Bot"), 47: ("ghost", "User")}


def test_it_lists_the_check_runs_of_a_commit(hub, api_for):
    suites = [
        {
            "app": {"name": "GitHub Actions"},
            "conclusion": None,
            "checkRuns": [
                {"databaseId": 901, "name": "build", "status": "IN_PROGRESS", "conclusion": None,
                 "startedAt": "2026-01-01T00:00:00Z", "completedAt": None},
                {"databaseId": 902, "name": "lint", "status": "COMPLETED", "conclusion": "SUCCESS",
                 "startedAt": "2026-01-01T00:00:00Z", "completedAt": "2026-01-01T00:01:00Z"},
            ],
        }
    ]  # fmt: skip
    pr = hub.set_check_suites("acme/rocket", 3, suites)
    sha = pr["commits"][-1]["oid"]
    body = api_for(hub).get(f"/repos/acme/rocket/commits/{sha}/check-runs").json()
    assert body["total_count"] == 2
    runs = {run["id"]: (run["status"], run["conclusion"]) for run in body["check_runs"]}
    assert runs == {901: ("in_progress", None), 902: ("completed", "success")}
    assert body["check_runs"][0]["head_sha"] == sha


def test_it_answers_404_for_what_it_does_not_serve(hub, api_for):
    api = api_for(hub)
    for path in ("/repos/acme/nope", "/repos/acme/rocket/nope", "/nope"):
        response = api.get(path)
        assert response.status_code == 404
        assert response.json()["message"] == "Not Found"
        assert response.headers["x-ratelimit-resource"] == "core"
        assert response.headers["etag"]


def test_its_rate_limit_endpoint_costs_nothing(hub, api_for):
    api = api_for(hub)
    api.get("/repos/acme/rocket")
    first = api.get("/rate_limit").json()
    second = api.get("/rate_limit").json()
    assert first["resources"]["core"]["used"] == second["resources"]["core"]["used"] == 1
    assert first["rate"] == first["resources"]["core"]


def test_it_serves_the_same_api_under_api_v3(hub, api_for):
    api = api_for(hub)
    response = api.get("/api/v3/repos/acme/rocket/pulls", params={"state": "all", "per_page": 10})
    assert len(response.json()) == 10
    assert f"{hub.url}/api/v3/repos/acme/rocket/pulls?" in response.headers["link"]
