"""Follow-ups carried by the next page: a heavy PR costs no request of its own, rows unchanged.

Against fakehub (real HTTP) and the real database. Synthetic PR #500 is heavy (180 files, 130
commits, 60 reviews, 40 check runs): in a 600-PR repository it sits on page 5 of 25, newest first.
"""

from __future__ import annotations

import itertools

import pytest

from apps.metrics.models import PullRequest, TrackedRepository
from apps.metrics.seeding.seeder import RealProjectSeeder
from apps.metrics.tests.seed_support import make_client, make_fetcher, snapshot

REPO = "acme/heavy"


def seed_with(hub, team: str, *, carry: bool, should_stop=lambda: False):
    fetcher = make_fetcher(make_client(hub.url), None, carry_follow_ups=carry)
    seeder = RealProjectSeeder(fetcher, team_slug=team, should_stop=should_stop)
    return seeder.seed_repo(REPO)


@pytest.mark.django_db
def test_a_heavy_prs_follow_ups_ride_in_the_next_page_and_the_rows_are_the_same(fakehub):
    fakehub.add_synthetic(REPO, 600, seed=3)
    seed_with(fakehub, "per-page", carry=False)
    per_page = fakehub.stats()
    fakehub.reset_stats()

    result = seed_with(fakehub, "carried", carry=True)

    carried = fakehub.stats()
    assert result.completed
    # 24 pages and the probe; the per-page path adds a follow-up for page 5.
    assert (carried["graphql_requests"], per_page["graphql_requests"]) == (24, 25)
    assert carried["graphql_points"] <= per_page["graphql_points"]
    assert snapshot("carried") == snapshot("per-page")
    heavy = PullRequest.objects.get(team__slug="carried", github_pr_id=500)
    assert (heavy.files.count(), heavy.commits.count(), heavy.reviews.count()) == (180, 130, 60)


@pytest.mark.django_db
def test_a_walk_stopped_while_a_pr_is_held_back_resumes_with_it_exactly(fakehub):
    fakehub.add_synthetic(REPO, 600, seed=3)
    seed_with(fakehub, "clean", carry=True)
    pages = itertools.count()

    first = seed_with(fakehub, "stopped", carry=True, should_stop=lambda: next(pages) >= 4)

    # Stopped after page 5: #500 is still completing (its follow-ups would ride in page 6),
    # so it is not written; the checkpoint names it.
    assert first.interrupted and first.prs == 124
    tracked = TrackedRepository.objects.get(team__slug="stopped")
    heavy_id = PullRequest.objects.get(team__slug="clean", github_pr_id=500).github_node_id
    assert tracked.checkpoint["held"] == [heavy_id]
    assert not PullRequest.objects.filter(team__slug="stopped", github_pr_id=500).exists()
    fakehub.reset_stats()

    second = seed_with(fakehub, "stopped", carry=True)

    assert second.completed and second.source == "resumed"
    assert snapshot("stopped") == snapshot("clean")
    # Pages 6-24, #500 by node id and its own follow-up: no page fetched twice.
    assert fakehub.stats()["graphql_requests"] == 19 + 2
