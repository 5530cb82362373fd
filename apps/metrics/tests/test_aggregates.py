"""Team aggregates checked against figures computed by hand, on SQLite and on PostgreSQL.

The per-PR metric fields are set directly here (what apps/metrics/pr_metrics.py would store),
so these tests pin the aggregation only: populations, weeks, percentiles, shares, load.
"""

from __future__ import annotations

import random
import statistics
from datetime import UTC, date, datetime, timedelta

import pytest

from apps.metrics.aggregates import MetricsFilter, previous_period, team_report, weekly_stats
from apps.metrics.models import PRReview, PullRequest, Team, TeamMember
from apps.metrics.percentiles import P50, P75, percentile_of_sorted
from apps.metrics.pipeline.fetched import FetchedCheckRun, FetchedPRFull, FetchedReview, FetchedUser
from apps.metrics.pipeline.writer import save_pull_requests

pytestmark = pytest.mark.django_db

# A Wednesday: the current week starts Monday 2024-03-18.
NOW = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, 0, tzinfo=UTC)


def make_pr(
    team: Team,
    number: int,
    author: TeamMember | None,
    *,
    created: datetime,
    merged: datetime | None = None,
    first_review: datetime | None = None,
    size: str = "S",
    ci: bool | None = None,
    rounds: int = 0,
    after_review: int = 0,
    repo: str = "acme/web",
    state: str | None = None,
) -> PullRequest:
    """A PR row with its stored metrics derived from the given times, as the writer stores them."""
    return PullRequest.objects.create(
        team=team,
        github_repo=repo,
        github_pr_id=number,
        title=f"PR {number}",
        state=state or ("merged" if merged else "open"),
        author=author,
        pr_created_at=created,
        pr_updated_at=merged or created,
        merged_at=merged,
        closed_at=merged,
        first_review_at=first_review,
        cycle_time_hours=(merged - created).total_seconds() / 3600 if merged else None,
        time_to_first_review_hours=(first_review - created).total_seconds() / 3600
        if first_review
        else None,
        review_rounds=rounds,
        commits_after_first_review=after_review,
        ci_passed=ci,
        size_bucket=size,
        is_bot_author=bool(author and author.is_bot),
    )


def review(pr: PullRequest, reviewer: TeamMember, state: str, when: datetime, rid: int) -> None:
    PRReview.objects.create(
        pull_request=pr, github_review_id=rid, reviewer=reviewer, state=state, submitted_at=when
    )


@pytest.fixture
def acme() -> Team:
    """Two weeks of merged PRs covering ghosts, bots, self-reviews, no reviews and open PRs.

    Week of 03-11: #1 alice 24h (bob reviewed after 2h, S, CI ok, 1 round), #2 ghost 72h (no
    review, XL, CI failed), #3 dependabot 1h (XS, CI ok), #4 carol 10h (self-review only, M, no
    CI). Week of 03-18: #5 bob 5h in acme/api (alice reviewed after 1h, S, CI ok, 2 rounds).
    Outside the population: #6 open, #7 closed unmerged, #8 merged before the range, and another
    team's merged PR.
    """
    team = Team.objects.create(name="Acme", slug="acme")
    alice, bob, carol = (
        TeamMember.objects.create(team=team, github_login=login)
        for login in ("alice", "bob", "carol")
    )
    ghost = TeamMember.objects.create(team=team, github_login="ghost")
    bot = TeamMember.objects.create(team=team, github_login="dependabot[bot]", is_bot=True)
    copilot = TeamMember.objects.create(team=team, github_login="copilot[bot]", is_bot=True)

    pr1 = make_pr(
        team,
        1,
        alice,
        created=at(11, 9),
        merged=at(12, 9),
        first_review=at(11, 11),
        ci=True,
        rounds=1,
        after_review=3,
    )
    review(pr1, bob, "approved", at(11, 11), 101)
    pr2 = make_pr(team, 2, ghost, created=at(10), merged=at(13), size="XL", ci=False)
    review(pr2, copilot, "commented", at(12), 102)
    make_pr(team, 3, bot, created=at(14, 0), merged=at(14, 1), size="XS", ci=True)
    pr4 = make_pr(team, 4, carol, created=at(14, 0), merged=at(14, 10), size="M")
    review(pr4, carol, "commented", at(14, 5), 104)
    pr5 = make_pr(
        team,
        5,
        bob,
        created=at(18, 0),
        merged=at(18, 5),
        first_review=at(18, 1),
        ci=True,
        rounds=2,
        repo="acme/api",
    )
    review(pr5, alice, "changes_requested", at(18, 1), 105)
    review(pr5, alice, "approved", at(18, 4), 106)

    pr6 = make_pr(team, 6, alice, created=at(19))
    review(pr6, bob, "pending", at(19, 2), 107)
    pr7 = make_pr(team, 7, carol, created=at(12), state="closed")
    review(pr7, bob, "commented", at(12, 3), 108)
    make_pr(team, 8, alice, created=at(1), merged=at(2))

    other = Team.objects.create(name="Other", slug="other")
    make_pr(other, 1, None, created=at(12), merged=at(13))
    return team


def three_weeks(team: Team, **kw: str) -> MetricsFilter:
    return MetricsFilter.last_weeks(team, 3, now=NOW, **kw)


def test_the_range_starts_on_the_monday_weeks_ago_and_ends_now(acme: Team) -> None:
    flt = three_weeks(acme)
    assert flt.start == datetime(2024, 3, 4, tzinfo=UTC)
    assert flt.end == NOW
    assert flt.week_starts() == [date(2024, 3, 4), date(2024, 3, 11), date(2024, 3, 18)]


def test_weekly_figures_match_the_hand_computed_ones(acme: Team) -> None:
    weeks = weekly_stats(three_weeks(acme))
    empty, mid, last = (w.stats for w in weeks)

    assert empty.merged == 0
    assert empty.cycle_p50_hours is None and empty.reviewed_share is None

    assert mid.merged == 4
    # Cycle times 1, 10, 24, 72: p50 at position 1.5 -> 17; p75 at 2.25 -> 24 + 0.25 * 48.
    assert mid.cycle_p50_hours == pytest.approx(17.0)
    assert mid.cycle_p75_hours == pytest.approx(36.0)
    # Only #1 had a non-author human review (the bot's and carol's own do not count).
    assert mid.review_p50_hours == pytest.approx(2.0)
    assert mid.reviewed_share == pytest.approx(0.25)
    assert mid.sizes == {"XS": 1, "S": 1, "M": 1, "L": 0, "XL": 1}
    assert (mid.ci_passed, mid.ci_known) == (2, 3)
    assert mid.bot_share == pytest.approx(0.25)
    assert mid.review_rounds == 1
    assert mid.commits_after_first_review == 3

    assert last.merged == 1
    assert last.cycle_p50_hours == pytest.approx(5.0)
    assert last.cycle_p75_hours == pytest.approx(5.0)
    assert last.review_p50_hours == pytest.approx(1.0)
    assert last.ci_success_rate == pytest.approx(1.0)


def test_range_totals_use_percentiles_over_the_whole_range(acme: Team) -> None:
    total = team_report(three_weeks(acme)).total
    assert total.merged == 5
    # 1, 5, 10, 24, 72: median 10, p75 at position 3 -> 24.
    assert total.cycle_p50_hours == pytest.approx(10.0)
    assert total.cycle_p75_hours == pytest.approx(24.0)
    assert total.review_p50_hours == pytest.approx(1.5)
    assert total.reviewed_share == pytest.approx(2 / 5)
    assert total.ci_success_rate == pytest.approx(3 / 4)
    assert total.bot_share == pytest.approx(1 / 5)
    assert total.mean_review_rounds == pytest.approx(3 / 5)
    assert total.sizes == {"XS": 1, "S": 2, "M": 1, "L": 0, "XL": 1}


def test_reviewer_load_leaves_out_self_reviews_and_pending_ones(acme: Team) -> None:
    loads = team_report(three_weeks(acme)).reviewers
    got = [
        (r.login, r.is_bot, r.reviews, r.prs_reviewed, r.approvals, r.changes_requested)
        for r in loads
    ]
    assert got == [
        ("alice", False, 2, 1, 1, 1),
        ("bob", False, 2, 2, 1, 0),
        ("copilot[bot]", True, 1, 1, 0, 0),
    ]


def test_a_repository_filter_narrows_every_figure(acme: Team) -> None:
    report = team_report(three_weeks(acme, repo="acme/api"))
    assert report.total.merged == 1
    assert report.total.cycle_p50_hours == pytest.approx(5.0)
    assert [r.login for r in report.reviewers] == ["alice"]


def test_a_member_filter_keeps_that_authors_prs(acme: Team) -> None:
    report = team_report(three_weeks(acme, member="ghost"))
    assert report.total.merged == 1
    assert report.total.cycle_p50_hours == pytest.approx(72.0)
    assert report.total.reviewed_share == 0
    assert [r.login for r in report.reviewers] == ["copilot[bot]"]


def test_a_label_filter_keeps_the_prs_carrying_that_label(acme: Team) -> None:
    PullRequest.objects.filter(team=acme, github_pr_id=1).update(labels=["bug"])
    PullRequest.objects.filter(team=acme, github_pr_id=5).update(labels=["docs", "bug"])
    # A label whose name starts with the one asked for is another label.
    PullRequest.objects.filter(team=acme, github_pr_id=2).update(labels=["bugfix"])
    flt = three_weeks(acme, label="bug")
    report = team_report(flt)
    assert report.total.merged == 2
    assert [w.stats.merged for w in report.weeks] == [0, 1, 1]
    # Cycle times 24 and 5.
    assert report.total.cycle_p50_hours == pytest.approx(14.5)
    assert [(r.login, r.reviews) for r in report.reviewers] == [("alice", 2), ("bob", 1)]
    assert previous_period(flt).label == "bug"
    assert team_report(three_weeks(acme, label="chore")).total.merged == 0


def test_an_explicit_date_range_includes_its_last_day(acme: Team) -> None:
    flt = MetricsFilter.between(acme, date(2024, 3, 12), date(2024, 3, 13))
    report = team_report(flt)
    assert report.total.merged == 2
    assert report.total.cycle_p50_hours == pytest.approx(48.0)
    assert [w.week for w in report.weeks] == [date(2024, 3, 11)]


def test_percentiles_interpolate_like_percentile_cont_on_larger_groups() -> None:
    team = Team.objects.create(name="Big", slug="big")
    member = TeamMember.objects.create(team=team, github_login="dev")
    # Eleven PRs merged on one day with cycle times 0, 1, 4, 9, ..., 100 hours.
    merged = at(13, 12)
    for i in range(11):
        make_pr(team, i + 1, member, created=merged - timedelta(hours=i * i), merged=merged)
    stats = team_report(three_weeks(team)).total
    # Positions 5 (-> 25) and 7.5 (-> 49 + 0.5 * 15).
    assert stats.cycle_p50_hours == pytest.approx(25.0)
    assert stats.cycle_p75_hours == pytest.approx(56.5)
    assert stats.review_p50_hours is None


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 10, 101, 1000])
def test_a_percentile_of_sorted_values_is_percentile_conts(size: int) -> None:
    # statistics.quantiles' "inclusive" method is percentile_cont's linear interpolation.
    values = sorted(random.Random(size).uniform(0, 500) for _ in range(size))
    expected = statistics.quantiles(values * 2 if size == 1 else values, n=4, method="inclusive")
    assert percentile_of_sorted(values, P50) == pytest.approx(expected[1])
    assert percentile_of_sorted(values, P75) == pytest.approx(expected[2])
    assert percentile_of_sorted([], P50) is None


def test_a_team_without_prs_gets_empty_weeks() -> None:
    team = Team.objects.create(name="Empty", slug="empty")
    report = team_report(three_weeks(team))
    assert [w.stats.merged for w in report.weeks] == [0, 0, 0]
    assert report.total.cycle_p50_hours is None
    assert report.reviewers == []


def test_the_report_takes_a_bounded_number_of_queries(
    acme: Team, django_assert_num_queries
) -> None:
    with django_assert_num_queries(3):
        team_report(three_weeks(acme))


def test_nonsense_ranges_are_refused(acme: Team) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        MetricsFilter.last_weeks(acme, 0)
    with pytest.raises(ValueError, match="before it starts"):
        MetricsFilter.between(acme, date(2024, 3, 5), date(2024, 3, 1))


def fetched(
    number: int,
    author: FetchedUser,
    *,
    created: datetime,
    merged: datetime | None = None,
    reviews: tuple[FetchedReview, ...] = (),
    checks: tuple[FetchedCheckRun, ...] = (),
    lines: int = 20,
) -> FetchedPRFull:
    return FetchedPRFull(
        repo_full_name="acme/web",
        number=number,
        node_id=f"PR_{number}",
        title=f"PR {number}",
        body="",
        state="merged" if merged else "open",
        is_draft=False,
        author=author,
        url=f"https://github.com/acme/web/pull/{number}",
        created_at=created,
        updated_at=merged or created,
        merged_at=merged,
        closed_at=merged,
        additions=lines,
        reviews=reviews,
        check_runs=checks,
        timeline_events=(),  # its life collected: never a draft
        review_threads_count=0,
        review_threads_resolved_count=0,
        total_comments_count=0,
    )


def test_prs_saved_by_the_writer_aggregate_to_the_hand_computed_figures() -> None:
    """Through the real writer: ghost author, bot author, self-review, bot review, no review, open PR."""
    team = Team.objects.create(name="Writer", slug="writer")
    alice = FetchedUser(login="alice", github_id=1)
    bob = FetchedUser(login="bob", github_id=2)
    bot = FetchedUser(login="dependabot[bot]", is_bot=True)
    ok = (FetchedCheckRun(1, "test", "completed", "success"),)
    failed = (FetchedCheckRun(2, "test", "completed", "failure"),)
    save_pull_requests(
        team,
        [
            # 24 h, bob reviews after 3 h, CI ok.
            fetched(
                1,
                alice,
                created=at(11),
                merged=at(12),
                checks=ok,
                reviews=(FetchedReview(11, bob, "approved", submitted_at=at(11, 3)),),
            ),
            # Ghost author, 48 h, only a bot reviewed: no human review. CI failed.
            fetched(
                2,
                FetchedUser.ghost(),
                created=at(11),
                merged=at(13),
                checks=failed,
                reviews=(FetchedReview(12, bot, "commented", submitted_at=at(11, 1)),),
            ),
            # Bot author, 2 h, no review, no CI.
            fetched(3, bot, created=at(12), merged=at(12, 2), lines=3),
            # 16 h; alice's review of her own PR does not count, bob's after 10 h does.
            fetched(
                4,
                alice,
                created=at(14),
                merged=at(14, 16),
                checks=ok,
                lines=400,
                reviews=(
                    FetchedReview(13, alice, "commented", submitted_at=at(14, 1)),
                    FetchedReview(14, bob, "approved", submitted_at=at(14, 10)),
                ),
            ),
            # Open: outside the merged population.
            fetched(5, bob, created=at(15)),
        ],
    )
    report = team_report(three_weeks(team))
    total = report.total
    assert total.merged == 4
    # Cycle 2, 16, 24, 48: median 20, p75 at 2.25 -> 24 + 0.25 * 24.
    assert total.cycle_p50_hours == pytest.approx(20.0)
    assert total.cycle_p75_hours == pytest.approx(30.0)
    # First human non-author reviews: #1 after 3 h, #4 after 10 h.
    assert total.review_p50_hours == pytest.approx(6.5)
    assert total.reviewed_share == pytest.approx(0.5)
    assert total.bot_share == pytest.approx(0.25)
    assert (total.ci_passed, total.ci_known) == (2, 3)
    assert total.sizes == {"XS": 1, "S": 2, "M": 0, "L": 1, "XL": 0}
    loads = {r.login: r.reviews for r in report.reviewers}
    assert loads == {"bob": 2, "dependabot[bot]": 1}


def test_weeks_split_exactly_at_monday_midnight_utc() -> None:
    team = Team.objects.create(name="Edges", slug="edges")
    dev = TeamMember.objects.create(team=team, github_login="dev")
    monday = datetime(2024, 3, 11, tzinfo=UTC)
    just_before = monday - timedelta(microseconds=1)
    for number, merged in enumerate((just_before, monday, monday + timedelta(days=7)), start=1):
        make_pr(team, number, dev, created=merged - timedelta(hours=number), merged=merged)
    weeks = weekly_stats(three_weeks(team))
    assert [w.stats.merged for w in weeks] == [1, 1, 1]
    assert [w.stats.cycle_p50_hours for w in weeks] == [1.0, 2.0, 3.0]
