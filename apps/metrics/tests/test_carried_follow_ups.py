"""Follow-ups carried by the next page: a heavy PR costs no request of its own, rows unchanged.

Against fakehub (real HTTP) and the real database. Synthetic PR #500 is heavy (180 files, 130
commits, 60 reviews, 40 check runs): in a 600-PR repository, newest first, it sits on page
HEAVY_PAGE of PAGES (synthetic PRs are created in number order), before the last page.
"""

from __future__ import annotations

import itertools
import math

import pytest

from apps.metrics.models import PullRequest, TrackedRepository
from apps.metrics.pipeline.pages import MAX_PAGE_SIZE
from apps.metrics.seeding.seeder import RealProjectSeeder
from apps.metrics.tests.seed_support import make_client, make_fetcher, snapshot

REPO = "acme/heavy"
TOTAL = 600
HEAVY = 500
PAGES = math.ceil(TOTAL / MAX_PAGE_SIZE)
HEAVY_PAGE = (TOTAL - HEAVY) // MAX_PAGE_SIZE + 1  # 1-based, newest created first


def seed_with(hub, team: str, *, carry: bool, should_stop=lambda: False):
    fetcher = make_fetcher(make_client(hub.url), carry_follow_ups=carry)
    seeder = RealProjectSeeder(fetcher, team_slug=team, should_stop=should_stop, use_cache=False)
    return seeder.seed_repo(REPO)


@pytest.mark.django_db
def test_a_heavy_prs_follow_ups_ride_in_the_next_page_and_the_rows_are_the_same(fakehub):
    assert HEAVY_PAGE < PAGES  # a next page exists for #500's follow-ups to ride in
    fakehub.add_synthetic(REPO, TOTAL, seed=3)
    seed_with(fakehub, "per-page", carry=False)
    per_page = fakehub.stats()
    fakehub.reset_stats()

    result = seed_with(fakehub, "carried", carry=True)

    carried = fakehub.stats()
    assert result.completed
    # Every page, nothing more (the probe is REST); the per-page path adds #500's follow-up.
    assert (result.pages, carried["graphql_requests"]) == (PAGES, PAGES)
    assert per_page["graphql_requests"] == PAGES + 1
    assert carried["graphql_points"] <= per_page["graphql_points"]
    assert snapshot("carried") == snapshot("per-page")
    heavy = PullRequest.objects.get(team__slug="carried", github_pr_id=HEAVY)
    assert (heavy.files.count(), heavy.commits.count(), heavy.reviews.count()) == (180, 130, 60)


@pytest.mark.django_db
def test_a_walk_stopped_while_a_pr_is_held_back_resumes_with_it_exactly(fakehub):
    assert HEAVY_PAGE < PAGES  # the walk can stop on #500's page, before its last
    fakehub.add_synthetic(REPO, TOTAL, seed=3)
    seed_with(fakehub, "clean", carry=True)
    pages = itertools.count()

    # should_stop is asked as each page arrives: True on HEAVY_PAGE's arrival.
    first = seed_with(
        fakehub, "stopped", carry=True, should_stop=lambda: next(pages) >= HEAVY_PAGE - 1
    )

    # Stopped after #500's page: #500 is still completing (its follow-ups would ride in the
    # next page), so it is not written; the checkpoint names it.
    assert first.interrupted and first.pages == HEAVY_PAGE
    assert first.prs == HEAVY_PAGE * MAX_PAGE_SIZE - 1
    tracked = TrackedRepository.objects.get(team__slug="stopped")
    heavy_id = PullRequest.objects.get(team__slug="clean", github_pr_id=HEAVY).github_node_id
    assert tracked.checkpoint["held"] == [heavy_id]
    assert not PullRequest.objects.filter(team__slug="stopped", github_pr_id=HEAVY).exists()
    fakehub.reset_stats()

    second = seed_with(fakehub, "stopped", carry=True)

    assert second.completed and second.source == "resumed"
    assert snapshot("stopped") == snapshot("clean")
    # The pages after #500's, #500 by node id and its own follow-up: no page fetched twice.
    assert fakehub.stats()["graphql_requests"] == (PAGES - HEAVY_PAGE) + 2
