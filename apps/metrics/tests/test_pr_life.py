"""The PR's life as stages: hand-built histories against the definitions of docs/metrics.md."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from apps.metrics.models import PRTimelineEvent, PullRequest
from apps.metrics.pipeline.fetched import (
    FetchedCommit,
    FetchedPRFull,
    FetchedReview,
    FetchedTimelineEvent,
    FetchedUser,
)
from apps.metrics.pipeline.writer import save_pull_requests
from apps.metrics.pr_metrics import metrics_for_fetched, metrics_for_row, recompute_pr_metrics
from apps.metrics.tests.factories import TeamFactory
from apps.metrics.tests.test_writer import ALICE, BOB, CAROL, T0, make_pr


def at(hours: float):
    return T0 + timedelta(hours=hours)


def event(kind: str, hours: float, reviewer: str = "", eid: str = "") -> FetchedTimelineEvent:
    return FetchedTimelineEvent(
        github_id=eid or f"{kind}-{hours}-{reviewer}",
        kind=kind,
        created_at=at(hours),
        actor=ALICE,
        requested_reviewer=reviewer,
    )


def review(rid: int, who: FetchedUser, state: str, hours: float) -> FetchedReview:
    return FetchedReview(rid, who, state, "", at(hours))


def commit(sha: str, hours: float) -> FetchedCommit:
    return FetchedCommit(sha, ALICE, "Alice", "a@example.com", "m", at(hours), at(hours), 1, 0)


def life(**overrides) -> FetchedPRFull:
    """make_pr's PR with the given history; its timeline collected unless told otherwise."""
    return make_pr(1, **overrides)


def test_a_draft_that_waited_a_week_counts_its_wait_as_coding_not_as_waiting_for_review():
    pr = life(
        commits=(commit("a1", -2), commit("a2", 100)),
        timeline_events=(event("ready_for_review", 168),),
        reviews=(review(1, BOB, "commented", 170), review(2, BOB, "approved", 172)),
        merged_at=at(173),
        closed_at=at(173),
    )
    m = metrics_for_fetched(pr)
    assert m.ready_for_review_at == at(168)
    assert m.time_to_first_review_hours == 2.0  # not 170: the draft week is not waiting
    assert m.coding_time_hours == 170.0  # first commit (-2 h) to ready (+168 h)
    assert m.pickup_time_hours == 2.0
    assert m.review_time_hours == 2.0  # first review (+170) to the last approval (+172)
    assert m.merge_time_hours == 1.0
    assert m.cycle_time_hours == 173.0  # created to merged, unchanged


def test_a_review_left_during_the_draft_is_not_the_first_review():
    pr = life(
        timeline_events=(event("ready_for_review", 24),),
        reviews=(review(1, BOB, "commented", 5), review(2, CAROL, "approved", 30)),
    )
    m = metrics_for_fetched(pr)
    assert m.first_review_at == at(30)
    assert m.time_to_first_review_hours == 6.0
    assert m.commits_after_first_review == 0  # the commits (+0, +4 h) came before +30 h


def test_a_pr_still_a_draft_has_no_first_review_and_no_ready_time():
    pr = life(
        state="open",
        merged_at=None,
        closed_at=None,
        is_draft=True,
        reviews=(review(1, BOB, "commented", 5),),
    )
    m = metrics_for_fetched(pr)
    assert (m.ready_for_review_at, m.first_review_at, m.time_to_first_review_hours) == (
        None,
        None,
        None,
    )
    assert m.coding_time_hours is None and m.pickup_time_hours is None


def test_time_converted_back_to_draft_does_not_count_as_waiting_for_review():
    pr = life(
        timeline_events=(event("convert_to_draft", 2), event("ready_for_review", 20)),
        reviews=(review(1, BOB, "approved", 22),),
    )
    m = metrics_for_fetched(pr)
    assert m.ready_for_review_at == T0  # opened ready, then drafted for 18 h
    assert m.time_to_first_review_hours == 4.0  # 2 h open + 2 h open again


def test_pickup_runs_from_the_first_review_request_and_a_re_request_does_not_restart_it():
    pr = life(
        timeline_events=(
            event("review_requested", 1, "bob"),
            event("review_requested", 5, "bob"),  # re-requested after the push at +4 h
        ),
        reviews=(review(1, BOB, "changes_requested", 3), review(2, BOB, "approved", 6)),
        commits=(commit("a1", 0), commit("a2", 4)),
    )
    m = metrics_for_fetched(pr)
    assert m.first_review_request_at == at(1)
    assert m.pickup_time_hours == 2.0  # +1 h request to the +3 h review
    assert m.time_to_first_review_hours == 3.0  # ready (created) to the first review
    assert m.review_time_hours == 3.0  # +3 h to the approval at +6 h
    assert m.review_rounds == 1


def test_a_request_made_during_the_draft_waits_for_ready_and_pickup_starts_there():
    pr = life(
        timeline_events=(event("review_requested", 1, "bob"), event("ready_for_review", 10)),
        reviews=(review(1, BOB, "approved", 12),),
    )
    m = metrics_for_fetched(pr)
    assert m.first_review_request_at is None
    assert m.pickup_time_hours == 2.0


def test_a_force_push_after_the_first_review_is_rework_and_one_before_is_not():
    pr = life(
        timeline_events=(event("head_ref_force_pushed", 1), event("head_ref_force_pushed", 4)),
    )
    m = metrics_for_fetched(pr)  # first review at +2 h
    assert m.force_pushes_after_first_review == 1
    assert m.commits_after_first_review == 1  # the commit of +4 h


def test_an_approval_then_more_commits_keeps_the_approval_as_the_last_one():
    pr = life(
        reviews=(review(1, BOB, "approved", 6),),
        commits=(commit("a1", 0), commit("a2", 8)),
        merged_at=at(10),
        closed_at=at(10),
    )
    m = metrics_for_fetched(pr)
    assert m.last_approval_at == at(6)
    assert m.review_time_hours == 0.0  # the approval was the first review
    assert m.merge_time_hours == 4.0
    assert m.commits_after_first_review == 1


def test_an_approval_after_the_merge_is_not_the_last_approval_before_it():
    pr = life(
        reviews=(review(1, BOB, "approved", 6), review(2, CAROL, "approved", 40)),
    )
    assert metrics_for_fetched(pr).last_approval_at == at(6)  # merged at +30 h


def test_without_a_collected_timeline_the_stages_are_unknown_not_zero():
    pr = life(timeline_events=None, review_threads_count=None, total_comments_count=None)
    m = metrics_for_fetched(pr)
    assert m.first_review_at == at(2)  # the first qualifying review: drafts cannot be told
    assert m.ready_for_review_at is None
    assert m.time_to_first_review_hours is None and m.pickup_time_hours is None
    assert m.coding_time_hours is None
    assert m.force_pushes_after_first_review is None
    assert m.review_comments_count is None
    assert m.review_time_hours == 4.0  # first review to last approval needs no timeline


def test_review_comments_are_the_comments_beyond_the_conversation():
    assert (
        metrics_for_fetched(life(comments_count=3, total_comments_count=8)).review_comments_count
        == 5
    )
    # GitHub's two counts disagreeing is not a negative count: unknown.
    assert (
        metrics_for_fetched(life(comments_count=3, total_comments_count=2)).review_comments_count
        is None
    )


def _history() -> FetchedPRFull:
    return life(
        commits=(commit("a1", -2), commit("a2", 100)),
        timeline_events=(
            event("review_requested", 168.5, "bob"),
            event("ready_for_review", 168),
            event("head_ref_force_pushed", 171),
            event("review_request_removed", 168.7, "carol"),
        ),
        reviews=(review(1, BOB, "commented", 2), review(2, BOB, "approved", 172)),
        merged_at=at(173),
        closed_at=at(173),
        review_threads_count=3,
        review_threads_resolved_count=2,
        comments_count=1,
        total_comments_count=6,
    )


@pytest.mark.django_db
def test_the_writer_stores_the_life_and_a_recompute_from_the_rows_agrees():
    team = TeamFactory()
    pr = _history()
    save_pull_requests(team, [pr])
    row = PullRequest.objects.get(team=team)
    assert row.timeline_events.count() == 4
    assert set(row.timeline_events.values_list("kind", flat=True)) == {
        "ready_for_review",
        "review_requested",
        "head_ref_force_pushed",
        "review_request_removed",
    }
    requested = row.timeline_events.get(kind="review_requested")
    assert requested.requested_reviewer_login == "bob" and requested.actor.github_login == "alice"
    assert (row.review_threads_count, row.review_threads_resolved_count) == (3, 2)
    assert (row.total_comments_count, row.review_comments_count) == (6, 5)
    assert row.first_review_at == at(172) and row.force_pushes_after_first_review == 0
    assert row.pickup_time_hours == pytest.approx(3.5)  # request at +168.5 h to +172 h
    stored = PullRequest.objects.prefetch_related(
        "reviews__reviewer", "commits", "check_runs", "timeline_events"
    ).get(pk=row.pk)
    assert metrics_for_row(stored) == metrics_for_fetched(pr)
    PullRequest.objects.filter(pk=row.pk).update(
        pickup_time_hours=None, coding_time_hours=None, ready_for_review_at=None
    )
    assert recompute_pr_metrics(PullRequest.objects.filter(team=team)) == 1
    row.refresh_from_db()
    assert row.coding_time_hours == 170.0 and row.ready_for_review_at == at(168)


@pytest.mark.django_db
def test_saving_the_same_life_twice_writes_no_new_event_and_an_older_cache_keeps_them():
    team = TeamFactory()
    save_pull_requests(team, [_history()])
    ids = sorted(PRTimelineEvent.objects.values_list("pk", flat=True))
    stats = save_pull_requests(team, [_history()])
    assert stats.timeline_events == 4
    assert sorted(PRTimelineEvent.objects.values_list("pk", flat=True)) == ids
    # A PR read back from a cache written before timelines were collected: events kept.
    save_pull_requests(team, [life(timeline_events=None, review_threads_count=None)])
    assert sorted(PRTimelineEvent.objects.values_list("pk", flat=True)) == ids
    # GitHub no longer reports one event: its row goes.
    fewer = _history()
    fewer = life(
        **{
            **{f: getattr(fewer, f) for f in ("commits", "reviews", "merged_at", "closed_at")},
            "timeline_events": fewer.timeline_events[:3],
        }
    )
    save_pull_requests(team, [fewer])
    assert PRTimelineEvent.objects.count() == 3


def test_the_life_round_trips_through_the_cache_and_an_older_cache_entry_still_loads():
    pr = _history()
    again = FetchedPRFull.from_dict(json.loads(json.dumps(pr.to_dict())))
    assert again == pr
    older = pr.to_dict()
    for key in ("timeline_events", "review_threads_count", "review_threads_resolved_count"):
        del older[key]
    del older["total_comments_count"]
    loaded = FetchedPRFull.from_dict(older)
    assert loaded.timeline_events is None and loaded.review_threads_count is None
    assert loaded.total_comments_count is None and loaded.reviews == pr.reviews


def test_a_timeline_node_maps_to_a_typed_event_and_other_kinds_are_left_out():
    node = {
        "__typename": "ReviewRequestedEvent",
        "id": "RRE_1",
        "createdAt": "2024-03-01T10:00:00Z",
        "actor": {"__typename": "User", "login": "alice", "databaseId": 1},
        "requestedReviewer": {"__typename": "Team", "slug": "core"},
    }
    got = FetchedTimelineEvent.from_api(node)
    assert got is not None
    assert (got.kind, got.requested_reviewer, got.actor.login) == (
        "review_requested",
        "core",
        "alice",
    )
    assert FetchedTimelineEvent.from_api({**node, "__typename": "LabeledEvent"}) is None
    # A deleted actor is the ghost, as everywhere else.
    pushed = {"__typename": "HeadRefForcePushedEvent", "id": "H_1", "createdAt": node["createdAt"]}
    assert FetchedTimelineEvent.from_api({**pushed, "actor": None}).actor.is_ghost
