"""The PR's life collected end to end: fakehub's synthetic histories, seeded, stored as served."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.db.models import F

from apps.metrics.models import PRTimelineEvent, PullRequest

REPO = "acme/life"
PRS = 600

KINDS = {
    "ReadyForReviewEvent": "ready_for_review",
    "ConvertToDraftEvent": "convert_to_draft",
    "ReviewRequestedEvent": "review_requested",
    "ReviewRequestRemovedEvent": "review_request_removed",
    "HeadRefForcePushedEvent": "head_ref_force_pushed",
}


@pytest.fixture
def seeded(fakehub_factory, settings, tmp_path):
    hub = fakehub_factory(synthetic=[(REPO, PRS, 4)])
    settings.GITHUB_API_URL = hub.url
    settings.GITHUB_TOKEN = "dummy-token"
    settings.GITHUB_SEEDING_TOKENS = []
    settings.SEEDING_CACHE_DIR = tmp_path / "cache"
    call_command(
        "seed_real_projects",
        "--repo",
        REPO,
        "--team-slug",
        "life",
        "--max-prs",
        "0",
        "--days-back",
        "0",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    return hub


@pytest.mark.django_db
def test_every_timeline_event_and_thread_count_lands_as_fakehub_serves_it(seeded):
    stats = seeded.stats()
    # 600 PRs in pages of 31 (the last one trimmed to what is left), one follow-up for the
    # heavy PR #500, one REST probe: no request per PR.
    assert stats["graphql_requests"] <= 20 + 1 and stats["requests"] <= 20 + 1 + 1
    rows = {pr.github_pr_id: pr for pr in PullRequest.objects.filter(team__slug="life")}
    assert len(rows) == PRS
    stored = Counter(
        (pr_id, kind)
        for pr_id, kind in PRTimelineEvent.objects.values_list("pull_request__github_pr_id", "kind")
    )
    for number in range(1, PRS + 1):
        served = seeded.get_pr(REPO, number)
        row = rows[number]
        expected = Counter((number, KINDS[e["__typename"]]) for e in served["timelineItems"])
        assert expected == Counter({k: v for k, v in stored.items() if k[0] == number}), number
        threads = served["reviewThreads"]
        in_threads = sum(t["commentCount"] for t in threads)
        assert row.review_threads_count == len(threads)
        assert row.review_threads_resolved_count == sum(t["isResolved"] for t in threads)
        assert row.total_comments_count == served["commentCount"] + in_threads
        assert row.review_comments_count == in_threads
        assert row.comments_count == served["commentCount"]
    # The heavy PR's 60 events and 60 threads overflow their first pages of 50: completed.
    heavy = rows[500]
    assert heavy.timeline_events.count() == 60 and heavy.review_threads_count == 60


@pytest.mark.django_db
def test_the_synthetic_lives_hold_every_case_the_stages_must_handle(seeded):
    prs = PullRequest.objects.filter(team__slug="life")
    became_ready = prs.filter(timeline_events__kind="ready_for_review").distinct()
    assert became_ready.filter(ready_for_review_at__gt=F("pr_created_at")).exists()
    # Reviewed while still a draft: an earlier human review exists than the first one counted.
    reviewed_in_draft = [
        pr
        for pr in became_ready.prefetch_related("reviews")
        if pr.first_review_at is not None
        and any(
            r.submitted_at < pr.ready_for_review_at
            for r in pr.reviews.all()
            if r.reviewer_id != pr.author_id and r.submitted_at
        )
    ]
    assert reviewed_in_draft
    assert prs.filter(force_pushes_after_first_review__gt=0).exists()
    re_requested = Counter(
        PRTimelineEvent.objects.filter(kind="review_requested").values_list(
            "pull_request_id", "requested_reviewer_login"
        )
    )
    assert any(n > 1 for n in re_requested.values())
    assert prs.filter(timeline_events__kind="review_request_removed").exists()
    assert prs.filter(review_threads_count__gt=0, review_comments_count__gt=0).exists()
    # Every stage is known for some merged PR, and none is negative.
    for field in (
        "coding_time_hours",
        "pickup_time_hours",
        "review_time_hours",
        "merge_time_hours",
    ):
        assert prs.filter(**{f"{field}__isnull": False}).exists(), field
        assert not prs.filter(**{f"{field}__lt": 0}).exists(), field
    # A PR that is still a draft has no ready time and no first review.
    assert (
        not prs.filter(is_draft=True, ready_for_review_at__isnull=False)
        .exclude(timeline_events__kind="convert_to_draft")
        .exists()
    )
