"""GitHubGraphQLFetcher against a real fakehub: mapping, completeness, change checks, page sizes.

Through the seed's list API, `RealProjectSeeder.fetch_prs_with_details` (the seeder drives the
fetcher, the walk writes the rows, the seeder keeps the cache): each test reads what came back,
the team's cache file, and what fakehub saw.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from apps.integrations.github.errors import NotFound
from apps.metrics.pipeline.pages import MAX_PAGE_SIZE, GitHubGraphQLFetcher
from apps.metrics.seeding.cache import PRCache
from apps.metrics.seeding.seeder import RealProjectSeeder
from apps.metrics.tests.seed_support import make_client

REPO = "acme/rocket"

pytestmark = pytest.mark.django_db


@pytest.fixture
def hub(fakehub_factory):
    return fakehub_factory(synthetic=[(REPO, 60, 3)])


def seeder_for(hub, cache_dir, *, max_prs=None, use_cache=True, **options) -> RealProjectSeeder:
    """A seeder of team "team" through a fetcher of its own, its cache in `cache_dir`."""
    fetcher = GitHubGraphQLFetcher(make_client(hub.url), **options)
    return RealProjectSeeder(
        fetcher, team_slug="team", max_prs=max_prs, use_cache=use_cache, cache_dir=cache_dir
    )


def cached(seeder: RealProjectSeeder) -> PRCache | None:
    return PRCache.load(REPO, seeder.cache_dir)


def test_it_fetches_every_pr_with_reviews_commits_files_and_check_runs(hub, tmp_path):
    prs = seeder_for(hub, tmp_path).fetch_prs_with_details(REPO)

    assert sorted(pr.number for pr in prs) == list(range(1, 61))
    assert [pr.created_at for pr in prs] == sorted((pr.created_at for pr in prs), reverse=True)
    for pr in prs[:12]:
        stored = hub.get_pr(REPO, pr.number)
        assert pr.repo_full_name == REPO
        assert pr.title == stored["title"]
        assert pr.state == stored["state"].lower()
        assert len(pr.reviews) == len(stored.get("reviews") or [])
        assert len(pr.commits) == len(stored.get("commits") or [])
        assert {f.filename for f in pr.files} == {f["path"] for f in stored.get("files") or []}
        runs = [r for suite in stored.get("checkSuites") or [] for r in suite["checkRuns"]]
        assert {c.github_check_run_id for c in pr.check_runs} == {r["databaseId"] for r in runs}
    assert any(pr.reviews for pr in prs) and any(pr.check_runs for pr in prs)


def test_a_pr_with_300_files_lands_with_300_files(hub, tmp_path):
    files = [
        {"path": f"src/module_{i:03}.py", "additions": i, "deletions": 1, "changeType": "MODIFIED"}
        for i in range(300)
    ]
    hub.upsert_pr(REPO, {"number": 7, "files": files, "changedFiles": 300})

    prs = seeder_for(hub, tmp_path).fetch_prs_with_details(REPO)

    pr7 = next(pr for pr in prs if pr.number == 7)
    assert len(pr7.files) == 300
    assert {f.filename for f in pr7.files} == {f["path"] for f in files}
    assert sum(f.additions for f in pr7.files) == sum(range(300))


def test_an_unchanged_rerun_costs_one_request_and_no_points(hub, tmp_path):
    first = seeder_for(hub, tmp_path).fetch_prs_with_details(REPO)
    hub.reset_stats()

    again = seeder_for(hub, tmp_path).fetch_prs_with_details(REPO)

    stats = hub.stats()
    assert again == first
    assert stats["requests"] == 1
    assert stats["not_modified"] == 1
    assert stats["graphql_points"] == 0


@pytest.mark.parametrize("changed", [1, 3, MAX_PAGE_SIZE, MAX_PAGE_SIZE + 2])
def test_k_changed_prs_cost_ceil_k_over_the_page_plus_one_requests(hub, tmp_path, changed):
    seeder = seeder_for(hub, tmp_path)
    seeder.fetch_prs_with_details(REPO)
    for number in range(1, changed + 1):
        hub.upsert_pr(REPO, {"number": number, "title": f"retitled {number}"})
    hub.reset_stats()

    prs = seeder_for(hub, tmp_path).fetch_prs_with_details(REPO)

    assert hub.stats()["requests"] == math.ceil(changed / MAX_PAGE_SIZE) + 1
    titles = {pr.number: pr.title for pr in prs}
    assert len(titles) == 60
    assert all(titles[n] == f"retitled {n}" for n in range(1, changed + 1))
    assert all(not titles[n].startswith("retitled") for n in range(changed + 1, 61))
    cache = cached(seeder)
    assert cache is not None and {pr.number: pr.title for pr in cache.prs} == titles


def test_a_new_pr_appears_through_the_incremental_fetch(hub, tmp_path):
    seeder_for(hub, tmp_path).fetch_prs_with_details(REPO)
    hub.upsert_pr(REPO, {"number": 61, "title": "brand new", "state": "OPEN"})

    prs = seeder_for(hub, tmp_path).fetch_prs_with_details(REPO)

    assert [pr.number for pr in prs][0] == 61
    assert len(prs) == 61


def test_max_prs_bounds_the_first_fetch_to_one_page(hub, tmp_path):
    prs = seeder_for(hub, tmp_path, max_prs=10).fetch_prs_with_details(REPO)

    assert [pr.number for pr in prs] == sorted((pr.number for pr in prs), reverse=True)
    assert len(prs) == 10
    assert hub.stats()["requests"] == 2  # the change probe and one page of 10


def test_without_the_cache_nothing_is_read_or_written(hub, tmp_path):
    seeder_for(hub, tmp_path, use_cache=False, max_prs=5).fetch_prs_with_details(REPO)
    assert list(tmp_path.iterdir()) == []


def test_heavy_pages_are_halved_then_grow_back(fakehub_factory, tmp_path):
    # Heavy PRs (number % 1000 == 500) make pages of 25 too big for this node budget.
    hub = fakehub_factory(
        synthetic=[(REPO, 600, 5)],
        faults={"rules": [{"fault": "heavy_page_502", "max_nodes": 2600}]},
    )
    seeder = seeder_for(hub, tmp_path / "a")

    prs = seeder.fetch_prs_with_details(REPO)

    assert hub.stats()["statuses"].get("502", 0) >= 1
    hub.faults(None)
    assert prs == seeder_for(hub, tmp_path / "b").fetch_prs_with_details(REPO)
    assert seeder.fetcher.counters.shrinks >= 1
    cache = cached(seeder)
    assert cache is not None and 1 <= cache.page_size <= MAX_PAGE_SIZE


def test_partial_graphql_errors_are_never_taken_as_empty_data(fakehub_factory, tmp_path):
    hub = fakehub_factory(
        synthetic=[(REPO, 60, 3)],
        faults={"seed": 4, "rules": [{"fault": "partial_errors", "probability": 0.5}]},
    )

    prs = seeder_for(hub, tmp_path / "a").fetch_prs_with_details(REPO)

    assert hub.stats()["faults_injected"] >= 1
    hub.faults(None)
    assert prs == seeder_for(hub, tmp_path / "b").fetch_prs_with_details(REPO)


def test_a_missing_repository_is_not_found_naming_it(hub, tmp_path):
    with pytest.raises(NotFound) as caught:
        seeder_for(hub, tmp_path).fetch_prs_with_details("acme/missing")
    assert "acme/missing" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_seeds_pushed_at_check_still_decides_cache_validity(hub, tmp_path):
    seeder = seeder_for(hub, tmp_path)
    seeder.fetch_prs_with_details(REPO)
    cache = cached(seeder)
    meta = seeder.fetcher.fetch_repo_metadata(REPO)
    assert cache is not None and cache.repo_pushed_at is not None
    assert cache.is_valid(datetime_of(meta.pushed_at))

    hub.push(REPO)

    assert not cache.is_valid(datetime_of(seeder.fetcher.fetch_repo_metadata(REPO).pushed_at))


def test_rest_check_runs_match_the_graphql_ones_one_request_per_pr(hub, tmp_path):
    graphql = seeder_for(hub, tmp_path / "a", max_prs=5).fetch_prs_with_details(REPO)
    hub.reset_stats()
    seeder = seeder_for(hub, tmp_path / "b", rest_check_runs=True, max_prs=5)

    rest = seeder.fetch_prs_with_details(REPO)

    assert [{c.github_check_run_id for c in pr.check_runs} for pr in rest] == [
        {c.github_check_run_id for c in pr.check_runs} for pr in graphql
    ]
    assert seeder.fetcher.counters.check_run_requests == 5
    assert hub.stats()["max_in_flight_per_token"] == 1


def test_rest_check_runs_are_skipped_when_too_few_requests_remain(hub, tmp_path):
    hub.set_limits(core_requests=8)
    lines: list[str] = []
    seeder = seeder_for(hub, tmp_path, rest_check_runs=True, log=lines.append, max_prs=5)

    prs = seeder.fetch_prs_with_details(REPO)

    assert len(prs) == 5 and all(pr.check_runs == () for pr in prs)
    assert seeder.fetcher.counters.check_run_requests == 0
    assert any("skipped" in line and "remain" in line for line in lines)


def test_rest_check_runs_say_once_per_repository_what_core_budget_remains(hub, tmp_path):
    lines: list[str] = []
    seeder = seeder_for(hub, tmp_path, rest_check_runs=True, log=lines.append, max_prs=60)

    prs = seeder.fetch_prs_with_details(REPO)  # three pages of REST check runs

    budget = [line for line in lines if "core requests remain" in line]
    assert budget == [budget[0]] and budget[0].startswith(f"{REPO}: REST check runs: 4,999 ")
    assert "resets" in budget[0]
    assert seeder.fetcher.counters.check_run_requests == len(prs) == 60


def test_rest_check_runs_warn_below_100_core_requests_and_still_fetch(fakehub_factory, tmp_path):
    hub = fakehub_factory(synthetic=[(REPO, 60, 3)], core_requests=60)
    lines: list[str] = []
    seeder = seeder_for(hub, tmp_path, rest_check_runs=True, log=lines.append, max_prs=5)

    prs = seeder.fetch_prs_with_details(REPO)

    # The probe spent one of the 60: 59 remain, enough for 5 PRs but below the warning mark.
    assert [line for line in lines if "low" in line] == [
        next(line for line in lines if line.startswith(f"{REPO}: REST rate limit low: 59 "))
    ]
    assert seeder.fetcher.counters.check_run_requests == 5
    assert any(pr.check_runs for pr in prs)
    assert hub.stats()["rest_requests"] == 6


def test_rest_check_runs_are_skipped_before_any_request_when_the_budget_cannot_finish(
    fakehub_factory, tmp_path
):
    hub = fakehub_factory(synthetic=[(REPO, 60, 3)], core_requests=14)
    lines: list[str] = []
    seeder = seeder_for(hub, tmp_path, rest_check_runs=True, log=lines.append, max_prs=5)

    prs = seeder.fetch_prs_with_details(REPO)

    # 13 remain after the probe: 5 PRs + a reserve of 10 do not fit, so no check-runs request.
    skipped = [line for line in lines if "skipped" in line]
    assert len(skipped) == 1 and "13 core requests remain (need 5 + 10)" in skipped[0]
    assert hub.stats()["rest_requests"] == 1  # the probe only
    assert len(prs) == 5 and all(pr.check_runs == () for pr in prs)


def datetime_of(value):
    from datetime import datetime

    return datetime.fromisoformat(value)


def test_pages_asked_for_unmapped_give_the_same_pages_once_mapped(fakehub_factory):
    # Synthetic #500 is heavy: it overflows its nested first pages, is held back, and comes
    # on the next page, completed by follow-ups that ride in that page's query.
    hub = fakehub_factory(synthetic=[(REPO, 600, 3)])
    fetcher = GitHubGraphQLFetcher(make_client(hub.url))
    mapped = list(fetcher.iter_pr_pages(REPO))
    unmapped = list(fetcher.iter_pr_pages(REPO, mapped=False))

    assert all(page.nodes and not page.prs for page in unmapped)
    assert all(not page.nodes for page in mapped)
    assert [fetcher.mapped(page, REPO) for page in unmapped] == [
        replace(page, nodes=unmapped_page.nodes)
        for page, unmapped_page in zip(mapped, unmapped, strict=True)
    ]
    assert any(page.held for page in unmapped)
    assert sum(len(page.prs) for page in mapped) == 600
