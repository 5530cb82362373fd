"""Cycle-time stages per week and the previous-period comparison, against hand-computed figures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from apps.metrics.aggregates import (
    MetricsFilter,
    compare_periods,
    period_stats,
    previous_period,
    stage_medians,
    weeks_and_total,
    weeks_total_and_previous,
)
from apps.metrics.models import PullRequest, Team

pytestmark = pytest.mark.django_db

NOW = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)  # a Wednesday


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, 0, tzinfo=UTC)


def merged_pr(team: Team, number: int, merged: datetime, **stages: object) -> PullRequest:
    return PullRequest.objects.create(
        team=team,
        github_repo="acme/web",
        github_pr_id=number,
        state="merged",
        pr_created_at=merged - timedelta(days=1),
        pr_updated_at=merged,
        merged_at=merged,
        closed_at=merged,
        cycle_time_hours=24.0,
        **stages,
    )


@pytest.fixture
def team() -> Team:
    team = Team.objects.create(name="Acme", slug="acme")
    # Week of 11 March: three PRs; one whose stages are unknown (collected without a timeline).
    merged_pr(team, 1, at(12), coding_time_hours=10.0, pickup_time_hours=2.0,
              review_time_hours=4.0, merge_time_hours=1.0, review_threads_count=2,
              review_comments_count=5)  # fmt: skip
    merged_pr(team, 2, at(13), coding_time_hours=20.0, pickup_time_hours=6.0,
              review_time_hours=None, merge_time_hours=None, review_threads_count=0,
              review_comments_count=0)  # fmt: skip
    merged_pr(team, 3, at(14))
    # Week of 18 March: one PR.
    merged_pr(team, 4, at(18, 6), coding_time_hours=1.0, pickup_time_hours=0.5,
              review_time_hours=3.0, merge_time_hours=2.0)  # fmt: skip
    # Before the range: its previous period is 1 March 12:00 to 11 March (9.5 days).
    merged_pr(team, 5, at(5), coding_time_hours=30.0, pickup_time_hours=10.0)
    return team


def test_each_week_gets_the_median_of_each_stage_over_the_prs_that_have_it(team: Team):
    weeks = stage_medians(MetricsFilter.last_weeks(team, 2, now=NOW))
    assert [w.week for w in weeks] == [date(2024, 3, 11), date(2024, 3, 18)]
    first, second = weeks
    assert first.merged == 3
    assert (first.coding, first.pickup) == (15.0, 4.0)  # medians of 10, 20 and of 2, 6
    assert (first.review, first.merge) == (4.0, 1.0)  # #2 and #3 have no review/merge stage
    assert (second.coding, second.pickup, second.review, second.merge) == (1.0, 0.5, 3.0, 2.0)
    assert first.as_dict()["coding"] == 15.0


def test_a_week_without_merged_prs_has_unknown_stages_not_zero(team: Team):
    weeks = stage_medians(MetricsFilter.last_weeks(team, 4, now=NOW))
    empty = weeks[0]
    assert empty.merged == 0
    assert (empty.coding, empty.pickup, empty.review, empty.merge) == (None, None, None, None)


def test_review_depth_counts_only_prs_whose_threads_are_known(team: Team):
    stats = period_stats(MetricsFilter.last_weeks(team, 2, now=NOW))
    assert stats.threads_per_pr == 1.0  # 2 threads over the 2 PRs with a known count
    assert stats.review_comments_per_pr == 2.5


def test_the_previous_period_has_the_same_length_and_ends_where_the_range_starts(team: Team):
    flt = MetricsFilter.last_weeks(team, 2, now=NOW)
    before = previous_period(flt)
    assert before.end == flt.start and before.end - before.start == flt.end - flt.start
    changes = compare_periods(flt)
    assert (changes["merged"].current, changes["merged"].previous) == (4.0, 1.0)
    assert changes["merged"].delta == 3.0 and changes["merged"].relative == 3.0
    # Coding medians: 10 (of 1, 10, 20) now, 30 before.
    assert changes["coding_time_p50_hours"].delta == pytest.approx(-20.0)
    # Nothing reviewed before: the change is unknown, not a 100 % rise.
    assert changes["review_time_p50_hours"].previous is None
    assert changes["review_time_p50_hours"].delta is None
    assert changes["review_time_p50_hours"].relative is None


@pytest.mark.parametrize(
    "make_filter",
    [
        lambda team: MetricsFilter.last_weeks(team, 2, now=NOW),
        # Not whole weeks: the previous period (9 to 13 March) cuts the week of 11 March.
        lambda team: MetricsFilter.between(team, date(2024, 3, 14), date(2024, 3, 18)),
        lambda team: MetricsFilter.last_weeks(team, 1, now=NOW, repo="acme/none"),
    ],
    ids=["two-weeks", "mid-week", "nothing-merged"],
)
def test_both_periods_in_two_queries_match_each_period_computed_alone(
    team: Team, make_filter: Callable[[Team], MetricsFilter], django_assert_num_queries
) -> None:
    flt = make_filter(team)
    alone = (*weeks_and_total(flt), period_stats(previous_period(flt)))
    queries = 2 if alone[1].merged or alone[2].merged else 1
    with django_assert_num_queries(queries):
        together = weeks_total_and_previous(flt)
    assert together == alone
