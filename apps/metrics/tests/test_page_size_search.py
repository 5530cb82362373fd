"""The page-size search under any mix of transient faults: it converges and the rows are exact.

A page too heavy for GitHub (fakehub's `heavy_page_502`: 502 for a query asking for more nodes
than `max_nodes`) must lead to a smaller page every time it is seen, whatever other faults come
between two shrinks; 503s, 500s and dropped connections are retried at the same size with the
policy's backoff. Each seeded schedule interleaves heavy pages with 502s, 503s and drops at 5-10 %
each; the seed must end with the rows of an undisturbed seed and must have fetched pages at the
largest size GitHub answers.

Time: fakehub and the client share one InstantClock (backoffs pass at once); the client's retry
policy is the default's shape (5 tries of one request), not a more forgiving one.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from apps.integrations.github.clock import InstantClock
from apps.metrics.models import TrackedRepository
from apps.metrics.tests.seed_support import fast_retry, make_client, seed, snapshot

REPOS = [("acme/rocket", 90, 21), ("acme/engine", 60, 22)]
SCHEDULES = 12


def nodes_per_pr() -> int:
    """Nodes GitHub counts for one PR of the page query, by fakehub's own analysis of it."""
    from graphql import parse

    from apps.integrations.github.queries import FETCH_PRS_BULK_QUERY
    from fakehub.graphql_api import analyse, build_schema

    schema, document = build_schema(), parse(FETCH_PRS_BULK_QUERY)

    def nodes(first: int) -> int:
        variables = {"owner": "o", "name": "n", "first": first, "after": None}
        return analyse(schema, document, variables).nodes

    return nodes(2) - nodes(1)


def largest_answered(max_nodes: int) -> int:
    """The largest page fakehub answers under `heavy_page_502` with `max_nodes`."""
    from apps.metrics.pipeline.pages import MAX_PAGE_SIZE

    return max(1, min(MAX_PAGE_SIZE, max_nodes // nodes_per_pr()))


def page_sizes(request_log: Path, status: int) -> list[int]:
    """`first` of every PR page request (FetchPRsBulk) answered `status`, in the log's order."""
    sizes = []
    for line in request_log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if "FetchPRsBulk" in (entry.get("query") or "") and entry.get("status") == status:
            sizes.append(int(entry["variables"]["first"]))
    return sizes


def schedule(seed_value: int) -> dict[str, Any]:
    """Heavy pages plus 502, 503 and dropped connections at 5-10 % each (GraphQL only)."""
    rng = random.Random(seed_value)
    return {
        "seed": seed_value,
        "rules": [
            {"fault": "heavy_page_502", "max_nodes": rng.choice([1500, 2500, 5000])},
            {"fault": "status", "status": 502, "probability": rng.uniform(0.05, 0.1)},
            {"fault": "status", "status": 503, "probability": rng.uniform(0.05, 0.1)},
            {"fault": "drop", "probability": rng.uniform(0.05, 0.1), "path": "/graphql"},
        ],
    }


def clean_and_faulty(fakehub_factory, tmp_path, profile, policy):
    clock = InstantClock()
    log = tmp_path / "requests.jsonl"
    hub = fakehub_factory(synthetic=REPOS, clock=clock.now, request_log=log)
    repos = [name for name, _, _ in REPOS]
    seed(make_client(hub.url, clock=clock), repos, team_slug="clean", cache_dir=tmp_path / "a")
    hub.faults(profile)
    hub.reset_stats()
    start = log.stat().st_size
    client = make_client(hub.url, clock=clock, retry=policy)
    results = seed(client, repos, team_slug="faulty", cache_dir=tmp_path / "b")
    faulty_log = tmp_path / "faulty.jsonl"
    with log.open("rb") as handle:
        handle.seek(start)
        faulty_log.write_bytes(handle.read())
    return hub, results, faulty_log


@pytest.mark.django_db
@pytest.mark.parametrize("max_nodes", [1500, 5000])
def test_a_503_between_two_shrinks_leads_to_a_retry_at_that_size_and_then_a_smaller_page(
    max_nodes, fakehub_factory, tmp_path
):
    # Every page above the largest answered is too heavy; every 3rd GraphQL request is a 503.
    profile = {
        "rules": [
            {"fault": "heavy_page_502", "max_nodes": max_nodes},
            {"fault": "status", "status": 503, "every": 3, "path": "/graphql"},
        ]
    }
    largest = largest_answered(max_nodes)
    hub, results, log = clean_and_faulty(
        fakehub_factory, tmp_path, profile, fast_retry(3, attempts=5)
    )

    assert all(r.completed for r in results)
    assert snapshot("faulty") == snapshot("clean")
    answered = page_sizes(log, 200)
    assert page_sizes(log, 503), "the schedule put 503s between the shrinks"
    # The search ends on the largest page GitHub answers; the next walk starts near it (at
    # most the next probe, half-way to the smallest size that failed), not at the cap.
    assert max(answered) == largest
    for repo in TrackedRepository.objects.filter(team__slug="faulty"):
        assert 1 <= repo.page_size <= 2 * largest
    if max_nodes == 1500:
        from apps.metrics.pipeline.pages import MAX_PAGE_SIZE

        cap = MAX_PAGE_SIZE  # each heavy answer, a smaller page
        assert page_sizes(log, 502)[:3] == [cap, cap // 2, cap // 4]


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("seed_value", range(1, SCHEDULES + 1))
def test_a_seed_under_heavy_pages_mixed_with_5xx_and_drops_converges_and_ends_exact(
    seed_value, fakehub_factory, tmp_path
):
    profile = schedule(seed_value)
    largest = largest_answered(profile["rules"][0]["max_nodes"])
    hub, results, log = clean_and_faulty(
        fakehub_factory, tmp_path, profile, fast_retry(seed_value, attempts=5)
    )

    assert all(r.completed for r in results), profile
    assert snapshot("faulty") == snapshot("clean"), profile
    answered = page_sizes(log, 200)
    # Never above what GitHub answers; back above half of it after every shrink that noise
    # caused (a 502 that was not about size still halves the page once).
    assert largest // 2 < max(answered) <= largest, (profile, answered)
    stats = hub.stats()
    assert stats["statuses"].get("503", 0) + stats["statuses"].get("0", 0) > 0, profile
    assert stats["max_in_flight_per_token"] == 1, profile


@pytest.mark.django_db
def test_the_page_cap_is_the_setting_or_the_fetchers_option_within_githubs_1_to_100(
    fakehub_factory, settings
):
    from apps.metrics.pipeline.pages import MAX_PAGE_SIZE, GitHubGraphQLFetcher

    hub = fakehub_factory(synthetic=[("acme/rocket", 130, 21)])

    def first_page_size(**options: Any) -> int:
        fetcher = GitHubGraphQLFetcher(make_client(hub.url), **options)
        pages = fetcher.iter_pr_pages("acme/rocket", page_size=100)
        return len(next(pages).prs)

    settings.GITHUB_MAX_PAGE_SIZE = 0
    assert first_page_size() == MAX_PAGE_SIZE
    settings.GITHUB_MAX_PAGE_SIZE = 50
    assert first_page_size() == 50
    assert first_page_size(max_page_size=100) == 100  # the option wins over the setting
    assert first_page_size(max_page_size=500) == 100  # GitHub's `first` is at most 100


def test_the_seed_refuses_a_page_cap_outside_1_to_100_in_one_line():
    from django.core.management import CommandError, call_command

    for bad in ("0", "101", "many"):
        with pytest.raises(CommandError) as caught:
            call_command("seed_real_projects", "--repo", "acme/rocket", "--max-page-size", bad)
        assert "--max-page-size" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.django_db
def test_a_page_at_the_default_cap_costs_no_more_points_per_pr_than_a_page_of_25(
    fakehub_factory,
):
    from apps.integrations.github.queries import FETCH_PRS_BULK_QUERY
    from apps.metrics.pipeline.pages import MAX_PAGE_SIZE

    hub = fakehub_factory(synthetic=[("acme/rocket", 120, 21)])
    client = make_client(hub.url)

    def points_per_pr(first: int) -> float:
        variables = {"owner": "acme", "name": "rocket", "first": first, "after": None}
        return client.execute(FETCH_PRS_BULK_QUERY, variables).cost / first

    # GitHub rounds a query's cost to whole points: the cap sits where a page is cheapest.
    assert points_per_pr(MAX_PAGE_SIZE) <= points_per_pr(25)
    assert 1 <= MAX_PAGE_SIZE <= 100


@pytest.mark.django_db
def test_the_default_cap_is_the_cheapest_page_per_pr_that_keeps_42_requests_per_1000_prs(
    fakehub_factory,
):
    from apps.integrations.github.queries import FETCH_PRS_BULK_QUERY
    from apps.metrics.pipeline.pages import MAX_PAGE_SIZE

    hub = fakehub_factory(synthetic=[("acme/rocket", 60, 21)])
    client = make_client(hub.url)

    def points_per_pr(first: int) -> float:
        variables = {"owner": "acme", "name": "rocket", "first": first, "after": None}
        return client.execute(FETCH_PRS_BULK_QUERY, variables).cost / first

    # The PR query's shape sets where GitHub's rounding favours a page: a connection more per
    # PR moves the cheapest page (bench/bench_page_size.py measures the trade-offs). Pages below
    # 25 PRs would need more than 42 requests for 1,000 PRs (the page floor plus the probe).
    costs = {n: points_per_pr(n) for n in range(25, 51)}
    cheapest = min(costs, key=lambda n: (costs[n], -n))
    assert cheapest == MAX_PAGE_SIZE, (
        f"set MAX_PAGE_SIZE to {cheapest}: {costs[cheapest]:.4f} pt/PR"
    )
