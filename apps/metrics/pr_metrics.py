"""Per-PR metrics, computed on write: pure functions over a fetched PR or a stored one.

The writer calls `metrics_for_fetched()` for every PR it saves; `recompute_pr_metrics()` redoes
the stored rows (after a definition changes) from their stored children. Both paths reduce a PR
to the same `PRFacts`, so they cannot disagree.

Definitions (the contract the dashboard and `pr_metrics` command rely on):

- **Qualifying review**: a review with a `submitted_at`, not `pending`, whose reviewer is not a
  bot and is not the PR's author (compared by login). A review by "ghost" (a deleted account) on
  a PR authored by "ghost" counts as a self-review: we never claim a review we cannot prove.
  `approved`, `changes_requested`, `commented` and `dismissed` reviews all qualify (a dismissed
  review was still a review when it was submitted).
- **Open for review**: the periods the PR was not a draft, from its timeline: it opened as a
  draft when its first ready-for-review / convert-to-draft event is a ready-for-review one (or,
  without such events, when it is still a draft); each ready-for-review event opens a period,
  each convert-to-draft event closes one. "Timeline unknown" = the PR was stored without its
  timeline (`review_threads_count` None: the timeline comes in the same query).
- `ready_for_review_at`: the start of the first open period (`pr_created_at` when the PR never
  was a draft); None while it is still a draft, or when the timeline is unknown.
- `first_review_at`: the earliest qualifying review submitted inside an open period; reviews
  left while the PR was a draft do not count. Timeline unknown: the earliest qualifying review.
- `first_review_request_at`: the first review request made at or after `ready_for_review_at`
  (requests made during a draft wait for it to be ready); None when there is none.
- `last_approval_at`: the latest qualifying `approved` review (at or before `merged_at` when
  merged); None when there is none.
- `time_to_first_review_hours`: the time open for review between `ready_for_review_at` and
  `first_review_at` (draft periods in between are not counted); None without both.
- Stages (each None when either end is unknown or has not happened; never negative):
  - `coding_time_hours`: first commit (earliest `authored_at`, else `committed_at`) to
    `ready_for_review_at`; 0 when the first commit came after it.
  - `pickup_time_hours`: from `first_review_request_at` (or `ready_for_review_at` when there is
    no request, or when the first review came before the request) to `first_review_at`,
    counting only time open for review.
  - `review_time_hours`: `first_review_at` to `last_approval_at`; None when the last approval
    is before the first review counted (approved while a draft only) or missing.
  - `merge_time_hours`: `last_approval_at` to `merged_at`; None unless merged and approved.
- `cycle_time_hours`: `merged_at - pr_created_at` in hours; None unless merged.
- `commits_after_first_review`: commits whose time (`committed_at`, else `authored_at`) is
  strictly after `first_review_at`; 0 without a first review.
- `force_pushes_after_first_review`: head-ref force-push events strictly after
  `first_review_at`; 0 without a first review; None when the timeline is unknown. Rework =
  commits or force pushes after the first review.
- `review_comments_count`: `total_comments_count` (GitHub's `totalCommentsCount`: every comment
  the PR received) minus `comments_count` (its conversation comments), i.e. the comments in its
  review threads; None when either is unknown or the difference is negative.
- `review_rounds`: the number of "changes requested -> new commits -> re-review" cycles. Walking
  the qualifying reviews in time order, a round opens at a `changes_requested` review, needs at
  least one commit strictly after it, and closes at the next qualifying review (any state)
  submitted strictly after that commit. Several change requests before one push make one round;
  a re-review that requests changes again opens the next round.
- `ci_passed`, over the check runs of the PR's last commit (what GitHub's status rollup shows),
  keeping only the latest run (highest id) per (app, name) so a re-run replaces its failed try:
  None when there are no runs; False when any run concluded failure, timed_out, cancelled,
  action_required, startup_failure or error (even if others are still running: the outcome is
  already a failure); otherwise None while any run is not completed or has another conclusion
  (e.g. stale); True when every run concluded success, neutral or skipped. GitHub does not expose
  which checks are *required* through our queries, so every check run counts.
  Commit statuses (`StatusContext`s of the same commit) count beside the runs, as GitHub's merge
  box and combined status count them (docs.github.com/rest/commits/statuses#get-the-combined-
  status-for-a-specific-reference: failure if any context reports `error` or `failure`, pending
  if one is `pending`, success if the latest status of every context is `success`): a
  `failure` or `error` status makes it False, a `pending` or `expected` one (a required status
  not reported yet) leaves it None unless something failed, `success` passes. No runs and no
  statuses (or CI GitHub refused this token) is None: unknown, never "passed".
- `size_bucket` by lines changed (additions + deletions): XS < 10, S < 50, M < 250, L < 1000,
  XL >= 1000.
- `is_bot_author`: the author account is a bot (login ending "[bot]" / GraphQL `Bot`); a ghost
  author is not a bot.

Size: over 400 lines because the definitions above are one job: every metric is computed from
the same `PRFacts` (open periods, qualifying reviews, CI of the last commit), and both the fetched
and the stored path reduce to those facts here, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from apps.metrics.pipeline.fetched import FetchedPRFull

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from apps.metrics.models import PullRequest

# (upper bound exclusive, bucket); anything at or above the last bound is XL.
SIZE_BUCKETS: tuple[tuple[int, str], ...] = ((10, "XS"), (50, "S"), (250, "M"), (1000, "L"))
SIZE_BUCKET_MAX = "XL"

CI_PASSING_CONCLUSIONS = frozenset({"success", "neutral", "skipped"})
CI_FAILING_CONCLUSIONS = frozenset(
    {"failure", "timed_out", "cancelled", "action_required", "startup_failure", "error"}
)
# Commit status states (GraphQL StatusState, lower case).
CI_PASSING_STATES = frozenset({"success"})
CI_FAILING_STATES = frozenset({"failure", "error"})

METRIC_FIELDS: tuple[str, ...] = (
    "first_review_at",
    "ready_for_review_at",
    "first_review_request_at",
    "last_approval_at",
    "time_to_first_review_hours",
    "coding_time_hours",
    "pickup_time_hours",
    "merge_time_hours",
    "force_pushes_after_first_review",
    "review_comments_count",
    "cycle_time_hours",
    "review_time_hours",
    "review_rounds",
    "commits_after_first_review",
    "ci_passed",
    "size_bucket",
    "is_bot_author",
)


@dataclass(frozen=True, slots=True)
class ReviewFact:
    """What the metrics need of one review."""

    reviewer_login: str | None
    reviewer_is_bot: bool
    state: str
    submitted_at: datetime | None
    github_review_id: int = 0


@dataclass(frozen=True, slots=True)
class CheckRunFact:
    """What the metrics need of one check run."""

    github_check_run_id: int
    name: str
    app_name: str | None
    status: str
    conclusion: str | None


@dataclass(frozen=True, slots=True)
class EventFact:
    """What the metrics need of one timeline event."""

    kind: str  # PRTimelineEvent.Kind values
    created_at: datetime
    github_id: str = ""


@dataclass(frozen=True, slots=True)
class StatusFact:
    """What the metrics need of one commit status context."""

    context: str
    state: str


@dataclass(frozen=True, slots=True)
class PRFacts:
    """A PR reduced to what its metrics depend on; built from a fetched PR or a stored one."""

    created_at: datetime
    merged_at: datetime | None
    author_login: str | None
    author_is_bot: bool
    additions: int
    deletions: int
    reviews: tuple[ReviewFact, ...]
    commit_times: tuple[datetime | None, ...]
    check_runs: tuple[CheckRunFact, ...]
    is_draft: bool = False
    events: tuple[EventFact, ...] | None = None  # None: the timeline is unknown
    first_commit_at: datetime | None = None  # earliest authored_at (else committed_at)
    comments_count: int | None = None
    total_comments_count: int | None = None
    statuses: tuple[StatusFact, ...] = ()

    @classmethod
    def from_fetched(cls, pr: FetchedPRFull) -> PRFacts:
        """Facts of a fetched PR."""
        return cls(
            created_at=pr.created_at,
            merged_at=pr.merged_at,
            author_login=pr.author.login if pr.author is not None else None,
            author_is_bot=bool(pr.author is not None and pr.author.is_bot),
            additions=pr.additions,
            deletions=pr.deletions,
            reviews=tuple(
                ReviewFact(
                    reviewer_login=r.reviewer.login if r.reviewer is not None else None,
                    reviewer_is_bot=bool(r.reviewer is not None and r.reviewer.is_bot),
                    state=r.state,
                    submitted_at=r.submitted_at,
                    github_review_id=r.github_review_id,
                )
                for r in pr.reviews
            ),
            commit_times=tuple(c.committed_at or c.authored_at for c in pr.commits),
            check_runs=tuple(
                CheckRunFact(
                    github_check_run_id=c.github_check_run_id,
                    name=c.name,
                    app_name=c.app_name,
                    status=c.status,
                    conclusion=c.conclusion,
                )
                for c in pr.check_runs
            ),
            is_draft=pr.is_draft,
            events=None
            if pr.timeline_events is None or pr.review_threads_count is None
            else tuple(EventFact(e.kind, e.created_at, e.github_id) for e in pr.timeline_events),
            first_commit_at=_earliest(c.authored_at or c.committed_at for c in pr.commits),
            comments_count=pr.comments_count,
            total_comments_count=pr.total_comments_count,
            statuses=tuple(StatusFact(s.context, s.state) for s in pr.status_contexts),
        )

    @classmethod
    def from_row(cls, pr: PullRequest) -> PRFacts:
        """Facts of a stored PR; prefetch author, reviews__reviewer, commits, check_runs and
        timeline_events and status_contexts first."""
        author = pr.author
        commits = list(pr.commits.all())
        return cls(
            created_at=pr.pr_created_at,
            merged_at=pr.merged_at,
            author_login=author.github_login if author is not None else None,
            author_is_bot=bool(author is not None and author.is_bot),
            additions=pr.additions,
            deletions=pr.deletions,
            reviews=tuple(
                ReviewFact(
                    reviewer_login=r.reviewer.github_login if r.reviewer is not None else None,
                    reviewer_is_bot=bool(r.reviewer is not None and r.reviewer.is_bot),
                    state=r.state,
                    submitted_at=r.submitted_at,
                    github_review_id=r.github_review_id,
                )
                for r in pr.reviews.all()
            ),
            commit_times=tuple(c.committed_at or c.authored_at for c in commits),
            check_runs=tuple(
                CheckRunFact(
                    github_check_run_id=c.github_check_run_id,
                    name=c.name,
                    app_name=c.app_name,
                    status=c.status,
                    conclusion=c.conclusion,
                )
                for c in pr.check_runs.all()
            ),
            is_draft=pr.is_draft,
            events=None
            if pr.review_threads_count is None
            else tuple(
                EventFact(e.kind, e.created_at, e.github_id) for e in pr.timeline_events.all()
            ),
            first_commit_at=_earliest(c.authored_at or c.committed_at for c in commits),
            comments_count=pr.comments_count,
            total_comments_count=pr.total_comments_count,
            statuses=tuple(StatusFact(s.context, s.state) for s in pr.status_contexts.all()),
        )


@dataclass(frozen=True, slots=True)
class PRMetrics:
    """The per-PR metric values, named as the PullRequest fields they are stored in."""

    first_review_at: datetime | None
    ready_for_review_at: datetime | None
    first_review_request_at: datetime | None
    last_approval_at: datetime | None
    time_to_first_review_hours: float | None
    coding_time_hours: float | None
    pickup_time_hours: float | None
    merge_time_hours: float | None
    force_pushes_after_first_review: int | None
    review_comments_count: int | None
    cycle_time_hours: float | None
    review_time_hours: float | None
    review_rounds: int
    commits_after_first_review: int
    ci_passed: bool | None
    size_bucket: str
    is_bot_author: bool

    def as_fields(self) -> dict[str, object]:
        """The values keyed by PullRequest field name."""
        return {name: getattr(self, name) for name in METRIC_FIELDS}


def hours_between(start: datetime | None, end: datetime | None) -> float | None:
    """Hours from `start` to `end`, or None when either is missing."""
    if start is None or end is None:
        return None
    return (end - start).total_seconds() / 3600.0


def size_bucket(additions: int, deletions: int) -> str:
    """XS/S/M/L/XL by lines changed (additions + deletions); thresholds in SIZE_BUCKETS."""
    lines = max(0, additions) + max(0, deletions)
    for bound, bucket in SIZE_BUCKETS:
        if lines < bound:
            return bucket
    return SIZE_BUCKET_MAX


def qualifying_reviews(facts: PRFacts) -> list[ReviewFact]:
    """Submitted, non-pending reviews by someone other than the author and not a bot, in order."""
    out = [
        r
        for r in facts.reviews
        if r.submitted_at is not None
        and r.state != "pending"
        and not r.reviewer_is_bot
        and r.reviewer_login is not None
        and r.reviewer_login != facts.author_login
    ]
    out.sort(key=lambda r: (r.submitted_at, r.github_review_id))
    return out


def _earliest(times: Iterable[datetime | None]) -> datetime | None:
    return min((t for t in times if t is not None), default=None)


Period = tuple[datetime, datetime | None]  # [start, end); end None: still open


def open_periods(facts: PRFacts) -> list[Period] | None:
    """The periods the PR was open for review (not a draft); None when the timeline is unknown."""
    if facts.events is None:
        return None
    toggles = sorted(
        (e for e in facts.events if e.kind in ("ready_for_review", "convert_to_draft")),
        key=lambda e: (e.created_at, e.github_id),
    )
    opened_as_draft = toggles[0].kind == "ready_for_review" if toggles else facts.is_draft
    periods: list[Period] = []
    start: datetime | None = None if opened_as_draft else facts.created_at
    for event in toggles:
        if event.kind == "ready_for_review" and start is None:
            start = event.created_at
        elif event.kind == "convert_to_draft" and start is not None:
            periods.append((start, event.created_at))
            start = None
    if start is not None:
        periods.append((start, None))
    return periods


def _is_open(periods: Sequence[Period], moment: datetime) -> bool:
    return any(start <= moment and (end is None or moment < end) for start, end in periods)


def open_hours(periods: Sequence[Period], start: datetime, end: datetime) -> float:
    """Hours of [start, end) that fall inside the open periods."""
    total = 0.0
    for p_start, p_end in periods:
        lo = max(start, p_start)
        hi = end if p_end is None else min(end, p_end)
        if hi > lo:
            total += (hi - lo).total_seconds()
    return total / 3600.0


def first_review_at(facts: PRFacts) -> datetime | None:
    """When the first qualifying review was submitted while open for review, or None."""
    reviews = qualifying_reviews(facts)
    periods = open_periods(facts)
    if periods is not None:
        reviews = [r for r in reviews if _is_open(periods, r.submitted_at)]  # type: ignore[arg-type]
    return reviews[0].submitted_at if reviews else None


def last_approval_at(facts: PRFacts) -> datetime | None:
    """The latest qualifying approval (at or before the merge when merged), or None."""
    approvals = [
        r.submitted_at
        for r in qualifying_reviews(facts)
        if r.state == "approved" and (facts.merged_at is None or r.submitted_at <= facts.merged_at)  # type: ignore[operator]
    ]
    return max(approvals) if approvals else None  # type: ignore[type-var]


def _non_negative(value: float | None) -> float | None:
    return None if value is None else max(0.0, value)


def commits_after(commit_times: Iterable[datetime | None], moment: datetime | None) -> int:
    """How many commits are dated strictly after `moment` (0 when `moment` is None)."""
    if moment is None:
        return 0
    return sum(1 for t in commit_times if t is not None and t > moment)


def review_rounds(facts: PRFacts) -> int:
    """Changes-requested -> new commits -> re-review cycles (see the module docstring)."""
    reviews = qualifying_reviews(facts)
    commits = sorted(t for t in facts.commit_times if t is not None)
    rounds = 0
    start = 0  # index into `reviews` from which the next change request is looked for
    while True:
        cr = next(
            (i for i in range(start, len(reviews)) if reviews[i].state == "changes_requested"),
            None,
        )
        if cr is None:
            return rounds
        cr_at = reviews[cr].submitted_at
        push_at = next((t for t in commits if t > cr_at), None)  # type: ignore[operator]
        if push_at is None:
            return rounds
        rereview = next(
            (i for i in range(cr + 1, len(reviews)) if reviews[i].submitted_at > push_at),  # type: ignore[operator]
            None,
        )
        if rereview is None:
            return rounds
        rounds += 1
        start = rereview  # a re-review that requests changes again opens the next round


def ci_passed(
    check_runs: Sequence[CheckRunFact], statuses: Sequence[StatusFact] = ()
) -> bool | None:
    """True / False / None for the last commit's check runs and statuses (module docstring)."""
    states = {(s.state or "").lower() for s in statuses}
    if states & CI_FAILING_STATES:
        return False
    runs = _check_runs_passed(check_runs)
    if runs is False:
        return False
    if not statuses:
        return runs
    if states - CI_PASSING_STATES:  # pending, expected (or a state we do not know)
        return None
    return None if check_runs and runs is None else True


def _check_runs_passed(check_runs: Sequence[CheckRunFact]) -> bool | None:
    """True / False / None for check runs alone (see the module docstring)."""
    latest: dict[tuple[str, str], CheckRunFact] = {}
    for run in check_runs:
        key = (run.app_name or "", run.name)
        if key not in latest or run.github_check_run_id > latest[key].github_check_run_id:
            latest[key] = run
    if not latest:
        return None
    undetermined = False
    for run in latest.values():
        conclusion = (run.conclusion or "").lower()
        if conclusion in CI_FAILING_CONCLUSIONS:
            return False
        if (run.status or "").lower() != "completed" or conclusion not in CI_PASSING_CONCLUSIONS:
            undetermined = True
    return None if undetermined else True


def compute_metrics(facts: PRFacts) -> PRMetrics:
    """Every per-PR metric of one PR."""
    first = first_review_at(facts)
    periods = open_periods(facts)
    ready = periods[0][0] if periods else None
    request = None
    if facts.events is not None and ready is not None:
        request = _earliest(
            e.created_at
            for e in facts.events
            if e.kind == "review_requested" and e.created_at >= ready
        )
    approved = last_approval_at(facts)
    to_first = pickup = None
    if periods and ready is not None and first is not None:
        to_first = open_hours(periods, ready, first)
        pickup_from = request if request is not None and request <= first else ready
        pickup = open_hours(periods, pickup_from, first)
    coding = None
    if ready is not None and facts.first_commit_at is not None:
        coding = _non_negative(hours_between(facts.first_commit_at, ready))
    review_time = None
    if first is not None and approved is not None and approved >= first:
        review_time = hours_between(first, approved)
    force_pushes = None
    if facts.events is not None:
        force_pushes = (
            0
            if first is None
            else sum(
                1
                for e in facts.events
                if e.kind == "head_ref_force_pushed" and e.created_at > first
            )
        )
    review_comments = None
    if facts.total_comments_count is not None and facts.comments_count is not None:
        difference = facts.total_comments_count - facts.comments_count
        review_comments = difference if difference >= 0 else None
    return PRMetrics(
        first_review_at=first,
        ready_for_review_at=ready,
        first_review_request_at=request,
        last_approval_at=approved,
        time_to_first_review_hours=to_first,
        coding_time_hours=coding,
        pickup_time_hours=pickup,
        merge_time_hours=_non_negative(hours_between(approved, facts.merged_at)),
        force_pushes_after_first_review=force_pushes,
        review_comments_count=review_comments,
        cycle_time_hours=hours_between(facts.created_at, facts.merged_at),
        review_time_hours=review_time,
        review_rounds=review_rounds(facts),
        commits_after_first_review=commits_after(facts.commit_times, first),
        ci_passed=ci_passed(facts.check_runs, facts.statuses),
        size_bucket=size_bucket(facts.additions, facts.deletions),
        is_bot_author=facts.author_is_bot,
    )


def metrics_for_fetched(pr: FetchedPRFull) -> PRMetrics:
    """Every per-PR metric of a fetched PR (what the writer stores)."""
    return compute_metrics(PRFacts.from_fetched(pr))


def metrics_for_row(pr: PullRequest) -> PRMetrics:
    """Every per-PR metric of a stored PR, from its stored children."""
    return compute_metrics(PRFacts.from_row(pr))


def recompute_pr_metrics(queryset: QuerySet[PullRequest], *, batch_size: int = 500) -> int:
    """Recompute and store the metrics of every PR in `queryset`; return how many changed.

    Reads in batches with the children prefetched (a handful of queries per batch) and writes
    only the rows whose values changed, with bulk_update.
    """
    from apps.metrics.models import PullRequest

    qs = (
        queryset.order_by("pk")
        .select_related("author")
        .prefetch_related(
            "reviews__reviewer", "commits", "check_runs", "timeline_events", "status_contexts"
        )
    )
    changed = 0
    last_pk = 0
    while True:
        batch = list(qs.filter(pk__gt=last_pk)[:batch_size])
        if not batch:
            return changed
        last_pk = batch[-1].pk
        dirty: list[PullRequest] = []
        for pr in batch:
            values = metrics_for_row(pr).as_fields()
            if any(getattr(pr, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(pr, name, value)
                dirty.append(pr)
        if dirty:
            PullRequest.objects.bulk_update(dirty, list(METRIC_FIELDS))
            changed += len(dirty)
