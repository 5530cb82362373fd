"""Per-PR metrics by hand-computed cases, on fetched PRs and on stored rows (recompute)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from apps.metrics.models import PullRequest
from apps.metrics.pipeline.fetched import (
    FetchedCheckRun,
    FetchedCommit,
    FetchedReview,
    FetchedStatusContext,
    FetchedUser,
)
from apps.metrics.pipeline.writer import save_pull_requests
from apps.metrics.pr_metrics import (
    CheckRunFact,
    StatusFact,
    ci_passed,
    metrics_for_fetched,
    metrics_for_row,
    recompute_pr_metrics,
    size_bucket,
)
from apps.metrics.tests.factories import TeamFactory
from apps.metrics.tests.test_writer import ALICE, BOB, CAROL, DEPENDABOT, T0, make_pr

RENOVATE = FetchedUser("renovate[bot]", 29139614, None, None, is_bot=True)


def at(hours: float):
    return T0 + timedelta(hours=hours)


def review(rid: int, who: FetchedUser, state: str, hours: float | None) -> FetchedReview:
    return FetchedReview(rid, who, state, "", at(hours) if hours is not None else None)


def commit(sha: str, hours: float) -> FetchedCommit:
    return FetchedCommit(sha, ALICE, "Alice", "a@example.com", "m", at(hours), at(hours), 1, 0)


def run(rid: int, name: str, status: str = "completed", conclusion: str | None = "success"):
    return CheckRunFact(rid, name, "GitHub Actions", status, conclusion)


# --- size buckets -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("additions", "deletions", "bucket"),
    [
        (0, 0, "XS"),
        (5, 4, "XS"),
        (5, 5, "S"),
        (49, 0, "S"),
        (25, 25, "M"),
        (249, 0, "M"),
        (200, 50, "L"),
        (999, 0, "L"),
        (500, 500, "XL"),
        (40_000, 1, "XL"),
    ],
)
def test_size_bucket_follows_the_documented_thresholds(additions, deletions, bucket):
    assert size_bucket(additions, deletions) == bucket


# --- cycle and review times -------------------------------------------------------------------


def test_a_merged_pr_with_a_review_has_cycle_and_review_times():
    m = metrics_for_fetched(make_pr(1))  # created T0, merged +30h, bob reviews at +2h
    assert m.cycle_time_hours == 30.0
    assert m.first_review_at == at(2)
    assert m.time_to_first_review_hours == 2.0
    assert m.review_time_hours == 4.0  # to the last approval, at +6 h


def test_an_open_pr_has_no_cycle_time_but_may_have_a_review_time():
    m = metrics_for_fetched(make_pr(1, state="open", merged_at=None, closed_at=None))
    assert m.cycle_time_hours is None
    assert m.time_to_first_review_hours == 2.0 and m.review_time_hours == 4.0


def test_a_closed_unmerged_pr_has_no_cycle_time():
    m = metrics_for_fetched(make_pr(1, state="closed", merged_at=None, closed_at=at(5)))
    assert m.cycle_time_hours is None


def test_a_pr_without_reviews_has_no_review_time_and_no_rounds():
    m = metrics_for_fetched(make_pr(1, reviews=()))
    assert (m.first_review_at, m.review_time_hours) == (None, None)
    assert m.review_rounds == 0
    assert m.commits_after_first_review == 0


def test_self_reviews_bot_reviews_and_pending_reviews_do_not_count_as_first_review():
    reviews = (
        review(1, ALICE, "commented", 0.5),  # the author: a self-review
        review(2, DEPENDABOT, "approved", 1),  # a bot
        review(3, CAROL, "pending", 1.5),  # not submitted yet
        review(4, CAROL, "commented", None),  # no submitted_at
        review(5, CAROL, "commented", 4.25),  # the first that counts
        review(6, BOB, "approved", 5),
    )
    m = metrics_for_fetched(make_pr(1, reviews=reviews))
    assert m.first_review_at == at(4.25)
    assert m.time_to_first_review_hours == 4.25


def test_only_self_reviews_leave_no_first_review():
    m = metrics_for_fetched(make_pr(1, reviews=(review(1, ALICE, "approved", 1),)))
    assert m.first_review_at is None


def test_a_dismissed_review_still_counts_as_the_first_review():
    m = metrics_for_fetched(make_pr(1, reviews=(review(1, BOB, "dismissed", 3),)))
    assert m.time_to_first_review_hours == 3.0


def test_a_ghost_review_on_a_ghost_authored_pr_is_treated_as_a_self_review():
    ghost = FetchedUser.ghost()
    pr = make_pr(1, author=ghost, reviews=(review(1, ghost, "approved", 1),))
    assert metrics_for_fetched(pr).first_review_at is None


def test_a_ghost_review_on_someone_elses_pr_counts():
    pr = make_pr(1, reviews=(review(1, FetchedUser.ghost(), "approved", 1.5),))
    assert metrics_for_fetched(pr).time_to_first_review_hours == 1.5


def test_a_ghost_author_is_not_a_bot_and_a_bot_author_is():
    assert metrics_for_fetched(make_pr(1, author=FetchedUser.ghost())).is_bot_author is False
    assert metrics_for_fetched(make_pr(1, author=RENOVATE)).is_bot_author is True


def test_a_bot_authored_pr_counts_human_reviews():
    pr = make_pr(1, author=RENOVATE, reviews=(review(1, RENOVATE, "commented", 1),))
    assert metrics_for_fetched(pr).first_review_at is None
    pr = make_pr(1, author=RENOVATE, reviews=(review(1, BOB, "approved", 2),))
    assert metrics_for_fetched(pr).time_to_first_review_hours == 2.0


# --- commits after first review and review rounds ---------------------------------------------


def test_commits_after_first_review_counts_commits_strictly_after_it():
    commits = (commit("a", 0), commit("b", 2), commit("c", 3), commit("d", 8))
    m = metrics_for_fetched(make_pr(1, commits=commits, reviews=(review(1, BOB, "commented", 2),)))
    assert m.commits_after_first_review == 2  # c and d; b is at the same instant


def test_a_commit_without_committed_at_falls_back_to_authored_at():
    c = FetchedCommit("x", None, "X", "x@example.com", "m", at(5), None, 1, 0)
    m = metrics_for_fetched(make_pr(1, commits=(c,), reviews=(review(1, BOB, "commented", 2),)))
    assert m.commits_after_first_review == 1


def test_review_rounds_count_change_requests_followed_by_commits_and_a_re_review():
    reviews = (
        review(1, BOB, "changes_requested", 1),
        review(2, CAROL, "changes_requested", 1.5),  # same round: no push in between
        review(3, BOB, "changes_requested", 3),  # re-review after push at 2 -> round 1, opens 2
        review(4, BOB, "approved", 5),  # after push at 4 -> round 2
        review(5, CAROL, "changes_requested", 6),  # never followed by a push: no round
    )
    commits = (commit("a", 0), commit("b", 2), commit("c", 4))
    m = metrics_for_fetched(make_pr(1, reviews=reviews, commits=commits))
    assert m.review_rounds == 2


def test_a_change_request_without_a_re_review_is_not_a_round():
    reviews = (review(1, BOB, "changes_requested", 1),)
    m = metrics_for_fetched(make_pr(1, reviews=reviews, commits=(commit("a", 2),)))
    assert m.review_rounds == 0


def test_a_re_review_without_new_commits_is_not_a_round():
    reviews = (review(1, BOB, "changes_requested", 1), review(2, BOB, "approved", 3))
    m = metrics_for_fetched(make_pr(1, reviews=reviews, commits=(commit("a", 0),)))
    assert m.review_rounds == 0


def test_self_and_bot_change_requests_do_not_open_rounds():
    reviews = (
        review(1, DEPENDABOT, "changes_requested", 1),
        review(2, ALICE, "changes_requested", 1.5),
        review(3, BOB, "approved", 3),
    )
    m = metrics_for_fetched(make_pr(1, reviews=reviews, commits=(commit("a", 2),)))
    assert m.review_rounds == 0


# --- CI ---------------------------------------------------------------------------------------


def test_ci_passed_is_none_without_check_runs():
    assert ci_passed([]) is None


def test_ci_passes_when_every_run_succeeded_or_was_neutral_or_skipped():
    runs = [run(1, "a"), run(2, "b", conclusion="neutral"), run(3, "c", conclusion="SKIPPED")]
    assert ci_passed(runs) is True


@pytest.mark.parametrize(
    "conclusion", ["failure", "timed_out", "cancelled", "action_required", "startup_failure"]
)
def test_ci_fails_when_any_run_failed(conclusion):
    assert ci_passed([run(1, "a"), run(2, "b", conclusion=conclusion)]) is False


def test_a_failure_decides_even_while_other_runs_are_still_going():
    runs = [run(1, "a", status="in_progress", conclusion=None), run(2, "b", conclusion="failure")]
    assert ci_passed(runs) is False


def test_ci_is_undecided_while_a_run_is_not_completed():
    runs = [run(1, "a"), run(2, "b", status="queued", conclusion=None)]
    assert ci_passed(runs) is None


def test_ci_is_undecided_on_a_stale_run():
    assert ci_passed([run(1, "a"), run(2, "b", conclusion="stale")]) is None


def test_a_successful_re_run_replaces_its_failed_try():
    assert ci_passed([run(1, "tests", conclusion="failure"), run(7, "tests")]) is True
    assert ci_passed([run(7, "tests", conclusion="failure"), run(1, "tests")]) is False


def status(context: str, state: str) -> StatusFact:
    return StatusFact(context, state)


def test_a_pr_whose_only_ci_is_a_failing_status_fails():
    assert ci_passed([], [status("ci/circleci: build", "failure")]) is False
    assert ci_passed([], [status("ci/jenkins", "error")]) is False


def test_a_green_check_run_and_a_red_status_fail_as_in_githubs_merge_box():
    assert ci_passed([run(1, "tests")], [status("ci/circleci", "failure")]) is False
    assert ci_passed([run(1, "tests", conclusion="failure")], [status("ci/x", "success")]) is False


def test_a_pending_or_expected_status_leaves_ci_pending_unless_something_failed():
    assert ci_passed([run(1, "tests")], [status("ci/travis", "pending")]) is None
    assert ci_passed([], [status("ci/required", "expected")]) is None
    assert ci_passed([], [status("a", "pending"), status("b", "failure")]) is False


def test_ci_passes_when_every_status_and_every_run_passes():
    assert ci_passed([], [status("a", "success"), status("b", "success")]) is True
    assert ci_passed([run(1, "tests")], [status("a", "success")]) is True
    assert (
        ci_passed(
            [run(1, "tests", status="in_progress", conclusion=None)], [status("a", "success")]
        )
        is None
    )


def test_statuses_count_in_the_stored_metrics_too():
    failing = make_pr(
        4,
        status_contexts=(FetchedStatusContext("ci/circleci", "failure", commit_sha="c2"),),
    )
    assert metrics_for_fetched(failing).ci_passed is False


# --- stored rows ------------------------------------------------------------------------------


def _busy_pr():
    reviews = (
        review(1, BOB, "changes_requested", 1),
        review(2, BOB, "approved", 3),
        review(3, DEPENDABOT, "commented", 0.5),
    )
    return make_pr(
        1,
        reviews=reviews,
        commits=(commit("a", 0), commit("b", 2)),
        check_runs=(FetchedCheckRun(1, "tests", "completed", "failure", None, None, "CI"),),
        additions=300,
        deletions=10,
    )


@pytest.mark.django_db
def test_metrics_from_a_stored_row_match_metrics_from_the_fetched_pr():
    team = TeamFactory()
    pr = _busy_pr()
    passing_runs_failing_status = make_pr(
        2, status_contexts=(FetchedStatusContext("ci/circleci", "error", commit_sha="c2"),)
    )
    save_pull_requests(team, [pr, passing_runs_failing_status])
    for fetched in (pr, passing_runs_failing_status):
        row = PullRequest.objects.get(github_pr_id=fetched.number)
        assert metrics_for_row(row) == metrics_for_fetched(fetched)
    assert PullRequest.objects.get(github_pr_id=2).ci_passed is False


@pytest.mark.django_db
def test_recompute_restores_metrics_and_leaves_correct_rows_alone(django_assert_max_num_queries):
    team = TeamFactory()
    save_pull_requests(team, [_busy_pr(), make_pr(2), make_pr(3, reviews=())])
    expected = {
        pk: (first, rounds, ci, size)
        for pk, first, rounds, ci, size in PullRequest.objects.values_list(
            "pk", "first_review_at", "review_rounds", "ci_passed", "size_bucket"
        )
    }
    PullRequest.objects.filter(github_pr_id=1).update(
        first_review_at=None, review_time_hours=None, review_rounds=0, ci_passed=None
    )
    PullRequest.objects.filter(github_pr_id=2).update(size_bucket="XL")

    with django_assert_max_num_queries(10):
        changed = recompute_pr_metrics(PullRequest.objects.filter(team=team))

    assert changed == 2
    got = {
        pk: (first, rounds, ci, size)
        for pk, first, rounds, ci, size in PullRequest.objects.values_list(
            "pk", "first_review_at", "review_rounds", "ci_passed", "size_bucket"
        )
    }
    assert got == expected
    assert recompute_pr_metrics(PullRequest.objects.all()) == 0


def test_metrics_of_a_fetched_pr_are_pure():
    pr = _busy_pr()
    again = dataclasses.replace(pr)
    assert metrics_for_fetched(pr) == metrics_for_fetched(again)
    m = metrics_for_fetched(pr)
    assert (m.review_rounds, m.ci_passed, m.size_bucket, m.first_review_at) == (
        1,
        False,
        "L",
        at(1),
    )
