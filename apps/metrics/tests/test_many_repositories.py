"""Many repositories per GraphQL query: the client's batched calls, seeding and sync rounds.

Against fakehub over real HTTP, with real SQLite / PostgreSQL; requests and points are
fakehub's own accounting.
"""

from __future__ import annotations

import math
from io import StringIO

import pytest
from django.core.management import call_command
from graphql import parse

from apps.integrations.github.client import GitHubGraphQLClient
from apps.integrations.github.repos import (
    PAGE_BATCH_NODE_BUDGET,
    build_repos_query,
    page_batch_size,
    page_nodes,
    page_requests,
    query_cost,
)
from apps.metrics.models import PullRequest, Team, TrackedRepository
from apps.metrics.pipeline.pages import MAX_PAGE_SIZE
from apps.metrics.sync.round import MIN_BATCH, sync_round
from fakehub.graphql_api import analyse, build_schema

TOKEN = "ghp_many_repositories_tests"
REPOS = [f"org/r{i:02d}" for i in range(1, MIN_BATCH + 3)]  # 12: a round that batches


def test_fakehub_counts_a_first_page_batch_as_the_client_computes_it():
    schema = build_schema()
    size = page_batch_size(25)
    query, variables = build_repos_query([("o", f"r{i}") for i in range(size)], first=25)
    counted = analyse(schema, parse(query), variables)
    assert counted.errors == []
    assert counted.requests == size * page_requests(25)
    assert counted.nodes == size * page_nodes(25) <= PAGE_BATCH_NODE_BUDGET
    # One more repository would pass the budget: the size is the largest that fits.
    assert (size + 1) * page_nodes(25) > PAGE_BATCH_NODE_BUDGET


def test_a_change_check_of_a_hundred_repositories_costs_one_point(fakehub_factory):
    names = [f"o/c{i:03d}" for i in range(100)]
    hub = fakehub_factory(synthetic=[(n, 3, i + 1) for i, n in enumerate(names)])
    with GitHubGraphQLClient(TOKEN, base_url=hub.url) as client:
        snapshots = client.fetch_repositories(names)
    stats = hub.stats()
    assert (stats["requests"], stats["graphql_points"]) == (1, 1)
    assert [s.full_name for s in snapshots] == names
    assert all(s.found and not s.failed and s.total_count == 3 for s in snapshots)
    assert all(s.name_with_owner == s.full_name and s.top_updated_at for s in snapshots)


def test_first_pages_come_back_complete_and_an_unknown_repository_says_so(fakehub_factory):
    # #500 of a 510-PR synthetic repository is heavy (180 files, 130 commits, 60 reviews):
    # it sits on the first page, newest first, and must come back complete.
    hub = fakehub_factory(synthetic=[("o/big", 510, 1), ("o/small", 7, 2)])
    with GitHubGraphQLClient(TOKEN, base_url=hub.url) as client:
        big, missing, small = client.fetch_repositories(["o/big", "o/missing", "o/small"], first=25)
    assert not missing.found and missing.page is None
    assert (len(small.page.nodes), small.page.has_next_page, small.total_count) == (7, False, 7)
    assert (len(big.page.nodes), big.page.has_next_page, big.page.total_count) == (25, True, 510)
    heavy = next(node for node in big.page.nodes if node["number"] == 500)
    assert len(heavy["files"]["nodes"]) == 180
    assert len(heavy["commits"]["nodes"]) == 130
    assert len(heavy["reviews"]["nodes"]) == 60
    stats = hub.stats()
    expected = query_cost(3 * page_requests(25))  # the unknown one is asked about too
    assert stats["graphql_requests"] == 2  # the batch and one follow-up for #500
    assert stats["graphql_points"] - 1 == expected


# --- sync rounds --------------------------------------------------------------------------------


@pytest.fixture
def org(fakehub_factory, settings):
    synthetic = [(name, 5 + 4 * i, i + 1) for i, name in enumerate(REPOS)]
    synthetic[-1] = (REPOS[-1], 60, 99)  # more than one page: its walk goes on from page 1
    hub = fakehub_factory(synthetic=synthetic)
    settings.GITHUB_API_URL = hub.url
    settings.GITHUB_TOKEN = TOKEN
    settings.GITHUB_APP_ID = ""
    settings.REDIS_URL = ""
    team = Team.objects.create(name="Org", slug="org")
    for name in REPOS:
        TrackedRepository.objects.create(team=team, full_name=name)
    return hub


def round_of(batch: bool):
    from apps.metrics.sync.github import build_client

    tracked = list(TrackedRepository.objects.select_related("team").order_by("full_name"))
    with build_client(on_limit="wait") as client:
        return sync_round(tracked, client, batch=batch)


def rows() -> list[tuple]:
    return sorted(
        PullRequest.objects.values_list("github_repo", "github_pr_id", "title", "pr_updated_at")
    )


@pytest.mark.django_db
def test_a_cold_round_asks_for_first_pages_together_and_stores_what_one_by_one_stores(org):
    cold = round_of(batch=True)
    batched = rows()
    stats = org.stats()
    sizes = [5 + 4 * i for i in range(len(REPOS) - 1)] + [60]
    pages = sum(math.ceil(n / MAX_PAGE_SIZE) for n in sizes)
    assert pages > len(REPOS)  # some walks go on after their first page
    first_page_calls = math.ceil(len(REPOS) / page_batch_size(MAX_PAGE_SIZE))
    assert first_page_calls < len(REPOS)  # first pages do go together
    assert len(batched) == sum(sizes)
    assert all(r.error == "" for r in cold.results) and len(cold.results) == len(REPOS)
    # The first-page calls, then every page after a first one.
    expected = first_page_calls + pages - len(REPOS)
    assert (stats["graphql_requests"], stats["rest_requests"]) == (expected, 0)
    assert set(TrackedRepository.objects.values_list("checkpoint", flat=True)) == {None}

    PullRequest.objects.all().delete()
    TrackedRepository.objects.update(watermark=None, etag="", checkpoint=None)
    org.reset_stats()
    round_of(batch=False)
    assert rows() == batched
    # One by one: a probe each, and every page.
    assert org.stats()["requests"] == len(REPOS) + pages


@pytest.mark.django_db
def test_an_unchanged_round_costs_one_request_and_one_point_and_writes_nothing(org):
    round_of(batch=True)
    before = rows()
    org.reset_stats()

    again = round_of(batch=True)

    stats = org.stats()
    assert (stats["requests"], stats["graphql_points"]) == (1, 1)
    # Those with CI still running go through sync_repository (their re-poll is not due yet).
    assert [r.mode for r in again.results] == ["unchanged"] * len(REPOS)
    assert again.unchanged >= len(REPOS) // 2
    assert rows() == before
    assert set(TrackedRepository.objects.values_list("status", flat=True)) == {"ok"}


@pytest.mark.django_db
def test_a_round_after_one_change_fetches_only_that_repository(org):
    round_of(batch=True)
    org.reset_stats()
    org.upsert_pr(REPOS[3], {"number": 2, "title": "changed between rounds"})

    changed = round_of(batch=True)

    stats = org.stats()
    # The change check, then the changed repository's incremental page: no probe.
    assert (stats["graphql_requests"], stats["rest_requests"]) == (2, 0)
    assert [r.repository for r in changed.results if r.mode != "unchanged"] == [REPOS[3]]
    title = PullRequest.objects.get(github_repo=REPOS[3], github_pr_id=2).title
    assert title == "changed between rounds"


@pytest.mark.django_db
def test_a_repository_synced_alone_after_a_batched_round_is_a_free_304_from_then_on(org):
    round_of(batch=True)
    org.reset_stats()
    out = StringIO()
    call_command("sync_repositories", "--repo", REPOS[0], stdout=out, stderr=out)
    call_command("sync_repositories", "--repo", REPOS[0], stdout=out, stderr=out)
    stats = org.stats()
    # The first probe learns the ETag (200, nothing newer than the watermark), the second is 304.
    assert (stats["requests"], stats["not_modified"], stats["graphql_points"]) == (2, 1, 0)
    assert f"{REPOS[0]}: unchanged" in out.getvalue()


@pytest.mark.django_db
def test_sync_repositories_per_repo_keeps_the_free_probes(org):
    round_of(batch=True)
    call_command("sync_repositories", "--per-repo", stdout=StringIO())  # learns the ETags
    org.reset_stats()
    call_command("sync_repositories", "--per-repo", stdout=StringIO())
    stats = org.stats()
    assert (stats["requests"], stats["not_modified"], stats["graphql_points"]) == (
        len(REPOS),
        len(REPOS),
        0,
    )
