"""Team aggregates over merged PRs: per week and over a date range, computed by the database.

The population is a team's PRs *merged* in [start, end), optionally narrowed to one repository
("owner/name"), one author (GitHub login) and/or one label (`MetricsFilter`). Each figure comes from the per-PR metrics
that apps/metrics/pr_metrics.py stores on write:

- merged: number of PRs merged in the period (a week is Monday 00:00 UTC to the next Monday);
- cycle time median and p75 (hours, created -> merged), percentile_cont semantics (linear
  interpolation between the two nearest ranks);
- time to first review median (hours open for review, ready for review -> first review by a
  human other than the author, reviews during a draft left out: `time_to_first_review_hours`);
- stage medians (hours): coding, pickup, review (first review -> last approval), merge
  (last approval -> merge), each over the PRs whose stage is known (docs/metrics.md);
- rework: force pushes after the first review (sum), next to commits after it;
- review depth: review threads and review comments per merged PR, over the PRs whose counts
  are known;
- reviewed share: merged PRs that got such a review (`first_review_at` set) / merged PRs;
  unknown (None, "no review data"), not 0 %, when no review at all is stored for the
  filter's PRs (reviews were not collected), as `review_data` says;
- size distribution: merged PRs per size bucket (XS..XL);
- CI success rate: merged PRs whose last commit's checks all passed / merged PRs with CI data;
- bot share: merged PRs authored by a bot / merged PRs;
- review rounds: total and mean per merged PR;
- reviewers and their load: reviews submitted in the period on the team's PRs (same repository
  and author filters), self-reviews and pending reviews left out.

Everything is aggregated in SQL: one GROUP BY query (conditional COUNT, SUM) per week, one
query for every percentile of every week and of the whole range (apps.metrics.percentiles,
portable across SQLite and PostgreSQL), one for reviewer load. The stat cards' previous period
is one more group of the same two queries (`weeks_total_and_previous`). Python receives a
handful of rows per week, never the PRs.

Size: over 400 lines for one job, the team figures the team page, the stages page and the
pr_metrics command show, with the values that carry them (PeriodStats, TeamReport, Change)
and the week arithmetic they share (WeekIndex).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connections
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from apps.metrics.models import PRReview, PullRequest, Team
from apps.metrics.percentiles import P50, P75, percentiles_of_sql, rows_sql

SIZE_BUCKETS: tuple[str, ...] = tuple(PullRequest.SizeBucket.values)

SECONDS_PER_WEEK = 7 * 24 * 3600

# The group that holds the whole range next to the weeks (week indexes start at 0), and the
# one that holds the whole previous period (`weeks_total_and_previous`).
OVERALL = -1
PREVIOUS = -2


@dataclass(frozen=True, slots=True)
class MetricsFilter:
    """Which PRs an aggregate covers: a team's PRs merged in [start, end), optionally narrowed
    to one repository, one author and one label."""

    team: Team
    start: datetime
    end: datetime
    repo: str | None = None
    member: str | None = None
    label: str | None = None

    @classmethod
    def last_weeks(
        cls,
        team: Team,
        weeks: int = 12,
        *,
        now: datetime | None = None,
        repo: str | None = None,
        member: str | None = None,
        label: str | None = None,
    ) -> MetricsFilter:
        """The current week and the `weeks - 1` full weeks before it (weeks start on Monday, UTC)."""
        if weeks < 1:
            raise ValueError(f"weeks must be at least 1, got {weeks}")
        now = now or timezone.now()
        first_monday = week_start(now.date()) - timedelta(weeks=weeks - 1)
        start = datetime.combine(first_monday, datetime.min.time(), tzinfo=UTC)
        return cls(
            team=team,
            start=start,
            end=now,
            repo=repo or None,
            member=member or None,
            label=label or None,
        )

    @classmethod
    def between(
        cls,
        team: Team,
        first_day: date,
        last_day: date,
        *,
        repo: str | None = None,
        member: str | None = None,
        label: str | None = None,
    ) -> MetricsFilter:
        """PRs merged from `first_day` 00:00 UTC through the end of `last_day` (inclusive days)."""
        if last_day < first_day:
            raise ValueError(f"the range ends ({last_day}) before it starts ({first_day})")
        start = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
        end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        return cls(
            team=team,
            start=start,
            end=end,
            repo=repo or None,
            member=member or None,
            label=label or None,
        )

    def week_starts(self) -> list[date]:
        """Every Monday whose week overlaps [start, end), oldest first."""
        monday = week_start(self.start.astimezone(UTC).date())
        last = (self.end - timedelta(microseconds=1)).astimezone(UTC).date()
        out = []
        while monday <= last:
            out.append(monday)
            monday += timedelta(weeks=1)
        return out

    def narrow(self, qs: QuerySet[Any], prefix: str = "") -> QuerySet[Any]:
        """`qs` narrowed to the filter's repository, author and label, whatever its dates.

        `prefix` is the path from `qs`'s model to the PR ("pull_request__" for reviews and
        check runs; empty for PRs).
        """
        if self.repo:
            qs = qs.filter(**{f"{prefix}github_repo": self.repo})
        if self.member:
            qs = qs.filter(**{f"{prefix}author__github_login": self.member})
        if self.label:
            q = label_q(self.label, connections[qs.db].vendor)
            if prefix:
                pr = OuterRef(prefix.removesuffix("__"))
                qs = qs.filter(Exists(PullRequest.objects.filter(q, pk=pr)))
            else:
                qs = qs.filter(q)
        return qs

    def merged_prs(self) -> QuerySet[PullRequest]:
        """The population: this filter's merged PRs (unordered, for aggregation)."""
        qs = PullRequest.objects.filter(
            team=self.team, merged_at__gte=self.start, merged_at__lt=self.end
        )
        return self.narrow(qs).order_by()


def merged_counts() -> dict[str, Count]:
    """The counts every grouping of merged PRs reports (per week, per repository): merged,
    reviewed, CI known and CI passed. Unknown CI stays out of both CI counts."""
    return {
        "merged": Count("id"),
        "reviewed": Count("id", filter=Q(first_review_at__isnull=False)),
        "ci_known": Count("id", filter=Q(ci_passed__isnull=False)),
        "ci_ok": Count("id", filter=Q(ci_passed=True)),
    }


def label_q(label: str, vendor: str) -> Q:
    """PRs carrying `label` (GitHub label names are unique per repository, case-insensitively)."""
    if vendor == "postgresql":
        return Q(labels__contains=[label])
    # SQLite keeps the list as JSON text (json.dumps, as Django writes it): match the quoted
    # element, quotes included, so "bug" does not match "bugfix".
    return Q(labels__icontains=json.dumps(label))


@dataclass(slots=True)
class PeriodStats:
    """The aggregate figures of one period (a week, or the whole range); rates are 0..1."""

    merged: int = 0
    cycle_p50_hours: float | None = None
    cycle_p75_hours: float | None = None
    review_p50_hours: float | None = None
    reviewed: int = 0
    sizes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SIZE_BUCKETS, 0))
    ci_known: int = 0
    ci_passed: int = 0
    bot_prs: int = 0
    review_rounds: int = 0
    commits_after_first_review: int = 0
    # False when no review at all is stored for the filter's PRs: review figures are unknown.
    review_data: bool = True
    coding_p50_hours: float | None = None
    pickup_p50_hours: float | None = None
    review_stage_p50_hours: float | None = None
    merge_p50_hours: float | None = None
    force_pushes_after_first_review: int = 0
    threads_known: int = 0
    review_threads: int = 0
    comments_known: int = 0
    review_comments: int = 0

    @property
    def threads_per_pr(self) -> float | None:
        """Review threads per merged PR whose threads are known; None when none is."""
        return self.review_threads / self.threads_known if self.threads_known else None

    @property
    def review_comments_per_pr(self) -> float | None:
        """Review comments per merged PR whose count is known; None when none is."""
        return self.review_comments / self.comments_known if self.comments_known else None

    @property
    def reviewed_share(self) -> float | None:
        """Merged PRs with a non-author human review / merged PRs; None when nothing merged
        or when no review data was collected (unknown, not 0 %)."""
        return self.reviewed / self.merged if self.merged and self.review_data else None

    @property
    def ci_success_rate(self) -> float | None:
        """Merged PRs whose CI passed / merged PRs with CI results; None without CI data."""
        return self.ci_passed / self.ci_known if self.ci_known else None

    @property
    def bot_share(self) -> float | None:
        """Merged PRs authored by a bot / merged PRs; None when nothing merged."""
        return self.bot_prs / self.merged if self.merged else None

    @property
    def mean_review_rounds(self) -> float | None:
        """Review rounds per merged PR; None when nothing merged."""
        return self.review_rounds / self.merged if self.merged else None

    def add_counts(self, other: PeriodStats) -> None:
        """Add `other`'s additive counts into this one (percentiles are not additive)."""
        self.merged += other.merged
        self.reviewed += other.reviewed
        self.ci_known += other.ci_known
        self.ci_passed += other.ci_passed
        self.bot_prs += other.bot_prs
        self.review_rounds += other.review_rounds
        self.commits_after_first_review += other.commits_after_first_review
        self.force_pushes_after_first_review += other.force_pushes_after_first_review
        self.threads_known += other.threads_known
        self.review_threads += other.review_threads
        self.comments_known += other.comments_known
        self.review_comments += other.review_comments
        for bucket, n in other.sizes.items():
            self.sizes[bucket] = self.sizes.get(bucket, 0) + n

    def as_dict(self) -> dict[str, object]:
        """JSON-ready figures, rates included."""
        return {
            "merged": self.merged,
            "cycle_time_p50_hours": _round(self.cycle_p50_hours),
            "cycle_time_p75_hours": _round(self.cycle_p75_hours),
            "time_to_first_review_p50_hours": _round(self.review_p50_hours),
            "reviewed": self.reviewed if self.review_data else None,
            "reviewed_share": _round(self.reviewed_share, 4),
            "review_data": self.review_data,
            "sizes": dict(self.sizes),
            "ci_known": self.ci_known,
            "ci_passed": self.ci_passed,
            "ci_success_rate": _round(self.ci_success_rate, 4),
            "bot_prs": self.bot_prs,
            "bot_share": _round(self.bot_share, 4),
            "review_rounds": self.review_rounds,
            "mean_review_rounds": _round(self.mean_review_rounds, 3),
            "commits_after_first_review": self.commits_after_first_review,
            "coding_time_p50_hours": _round(self.coding_p50_hours),
            "pickup_time_p50_hours": _round(self.pickup_p50_hours),
            "review_time_p50_hours": _round(self.review_stage_p50_hours),
            "merge_time_p50_hours": _round(self.merge_p50_hours),
            "force_pushes_after_first_review": self.force_pushes_after_first_review,
            "threads_per_pr": _round(self.threads_per_pr, 3),
            "review_comments_per_pr": _round(self.review_comments_per_pr, 3),
        }


@dataclass(slots=True)
class WeekStats:
    """One week's figures; `week` is its Monday (UTC)."""

    week: date
    stats: PeriodStats


@dataclass(frozen=True, slots=True)
class ReviewerLoad:
    """How much one reviewer reviewed in the period (self-reviews and pending ones left out)."""

    login: str
    is_bot: bool
    reviews: int
    prs_reviewed: int
    approvals: int
    changes_requested: int


@dataclass(slots=True)
class TeamReport:
    """Everything the team page and the pr_metrics command show, for one filter."""

    filter: MetricsFilter
    weeks: list[WeekStats]
    total: PeriodStats
    reviewers: list[ReviewerLoad]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready report."""
        flt = self.filter
        return {
            "team": flt.team.slug,
            "start": flt.start.isoformat(),
            "end": flt.end.isoformat(),
            "repo": flt.repo,
            "member": flt.member,
            "total": self.total.as_dict(),
            "weeks": [{"week": w.week.isoformat(), **w.stats.as_dict()} for w in self.weeks],
            "reviewers": [
                {
                    "login": r.login,
                    "is_bot": r.is_bot,
                    "reviews": r.reviews,
                    "prs_reviewed": r.prs_reviewed,
                    "approvals": r.approvals,
                    "changes_requested": r.changes_requested,
                }
                for r in self.reviewers
            ],
        }


def week_start(day: date) -> date:
    """The Monday of `day`'s ISO week."""
    return day - timedelta(days=day.weekday())


def team_report(flt: MetricsFilter) -> TeamReport:
    """Weekly and whole-range figures plus reviewer load for `flt`: three SQL queries, and a
    fourth only when no merged PR was reviewed (were reviews collected at all?)."""
    weeks, total = weeks_and_total(flt)
    reviewers = reviewer_load(flt)
    # A PR reviewed (or a reviewer's load) proves reviews were collected: no query needed then.
    if total.merged and not total.reviewed and not reviewers and not _reviews_collected(flt):
        for stats in [total, *(w.stats for w in weeks)]:
            stats.review_data = False
    return TeamReport(filter=flt, weeks=weeks, total=total, reviewers=reviewers)


def _reviews_collected(flt: MetricsFilter) -> bool:
    """Whether any review (of any state, at any time) is stored for the filter's PRs: without
    one, "reviewed by someone else" cannot be told from "reviews were not collected"."""
    qs = PRReview.objects.filter(pull_request__team=flt.team)
    return flt.narrow(qs, "pull_request__").exists()


def period_stats(flt: MetricsFilter) -> PeriodStats:
    """The whole range's figures for `flt` as one period (two queries)."""
    return weeks_and_total(flt)[1]


def weekly_stats(flt: MetricsFilter) -> list[WeekStats]:
    """One WeekStats per week of the range, oldest first, empty weeks included (two queries)."""
    return weeks_and_total(flt)[0]


# The percentile columns and which percentiles each gets.
PERCENTILES: dict[str, tuple[tuple[int, int], ...]] = {
    "cycle_time_hours": (P50, P75),
    "time_to_first_review_hours": (P50,),
    "coding_time_hours": (P50,),
    "pickup_time_hours": (P50,),
    "review_time_hours": (P50,),
    "merge_time_hours": (P50,),
}


def weeks_and_total(flt: MetricsFilter) -> tuple[list[WeekStats], PeriodStats]:
    """Counts per week (one GROUP BY query), then every percentile (one window query)."""
    weeks, total, _ = _weeks(flt, with_previous=False)
    return weeks, total


def weeks_total_and_previous(
    flt: MetricsFilter,
) -> tuple[list[WeekStats], PeriodStats, PeriodStats]:
    """`weeks_and_total(flt)` and the whole figures of `previous_period(flt)`, still in two
    queries: the previous period's PRs are one more group (PREVIOUS) of the same queries."""
    return _weeks(flt, with_previous=True)


def _weeks(
    flt: MetricsFilter, *, with_previous: bool
) -> tuple[list[WeekStats], PeriodStats, PeriodStats]:
    """The work of `weeks_and_total` and `weeks_total_and_previous` (the previous period's
    figures are empty without `with_previous`)."""
    mondays = flt.week_starts()
    bucket: WeekIndex | Case = WeekIndex("merged_at", mondays)
    if with_previous:
        base = replace(flt, start=previous_period(flt).start).merged_prs()
        # The previous period's PRs are one group of the same two queries, not two more queries.
        bucket = Case(
            When(merged_at__lt=flt.start, then=Value(PREVIOUS)),
            default=bucket,
            output_field=IntegerField(),
        )
    else:
        base = flt.merged_prs()
    size_counts = {f"size_{size}": Count("id", filter=Q(size_bucket=size)) for size in SIZE_BUCKETS}
    known_counts = {f"known_{column}": Count(column) for column in PERCENTILES}
    rows = (
        base.annotate(week=bucket)
        .values("week")
        .annotate(
            **merged_counts(),
            bots=Count("id", filter=Q(is_bot_author=True)),
            rounds=Sum("review_rounds"),
            after_review=Sum("commits_after_first_review"),
            force_pushes=Sum("force_pushes_after_first_review"),
            threads_known=Count("review_threads_count"),
            threads=Sum("review_threads_count"),
            comments_known=Count("review_comments_count"),
            review_comments=Sum("review_comments_count"),
            **size_counts,
            **known_counts,
        )
        .order_by("week")
    )
    by_week: dict[int, PeriodStats] = {}
    # How many known values each (week, column) has; week None is the whole range.
    known: dict[tuple[int | None, str], int] = defaultdict(int)
    for row in rows:
        week = int(row["week"])
        by_week[week] = PeriodStats(
            merged=row["merged"],
            reviewed=row["reviewed"],
            ci_known=row["ci_known"],
            ci_passed=row["ci_ok"],
            bot_prs=row["bots"],
            review_rounds=row["rounds"] or 0,
            commits_after_first_review=row["after_review"] or 0,
            force_pushes_after_first_review=row["force_pushes"] or 0,
            threads_known=row["threads_known"],
            review_threads=row["threads"] or 0,
            comments_known=row["comments_known"],
            review_comments=row["review_comments"] or 0,
            sizes={size: row[f"size_{size}"] for size in SIZE_BUCKETS},
        )
        for column in PERCENTILES:
            known[(week, column)] = row[f"known_{column}"]
            if week != PREVIOUS:
                known[(None, column)] += row[f"known_{column}"]

    pct = _percentiles(base, bucket, known)
    weeks = []
    total = PeriodStats()
    for index, monday in enumerate(mondays):
        stats = by_week.get(index, PeriodStats())
        _set_percentiles(stats, pct.get(index, {}))
        total.add_counts(stats)
        weeks.append(WeekStats(week=monday, stats=stats))
    _set_percentiles(total, pct.get(None, {}))
    before = by_week.get(PREVIOUS, PeriodStats())
    _set_percentiles(before, pct.get(PREVIOUS, {}))
    return weeks, total, before


def _set_percentiles(stats: PeriodStats, values: dict[tuple[str, tuple[int, int]], float]) -> None:
    stats.cycle_p50_hours = values.get(("cycle_time_hours", P50))
    stats.cycle_p75_hours = values.get(("cycle_time_hours", P75))
    stats.review_p50_hours = values.get(("time_to_first_review_hours", P50))
    stats.coding_p50_hours = values.get(("coding_time_hours", P50))
    stats.pickup_p50_hours = values.get(("pickup_time_hours", P50))
    stats.review_stage_p50_hours = values.get(("review_time_hours", P50))
    stats.merge_p50_hours = values.get(("merge_time_hours", P50))


# --- cycle-time stages and period comparison (the stacked chart and the stat cards) -----------

STAGES: tuple[str, ...] = ("coding", "pickup", "review", "merge")


@dataclass(frozen=True, slots=True)
class StageWeek:
    """One week's median of each stage (hours; None where no merged PR of the week has it)."""

    week: date
    merged: int
    coding: float | None
    pickup: float | None
    review: float | None
    merge: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "week": self.week.isoformat(),
            "merged": self.merged,
            **{stage: _round(getattr(self, stage)) for stage in STAGES},
        }


def stage_medians(flt: MetricsFilter) -> list[StageWeek]:
    """Per week of the range, oldest first: the median of each stage over the week's merged PRs.

    Each stage has its own population (the PRs where it is known), so a week's stacked medians
    need not add up to its median cycle time. Two queries, as `weekly_stats`.
    """
    return [
        StageWeek(
            week=w.week,
            merged=w.stats.merged,
            coding=w.stats.coding_p50_hours,
            pickup=w.stats.pickup_p50_hours,
            review=w.stats.review_stage_p50_hours,
            merge=w.stats.merge_p50_hours,
        )
        for w in weekly_stats(flt)
    ]


@dataclass(frozen=True, slots=True)
class Change:
    """A figure now and in the previous period of the same length; None where unknown."""

    current: float | None
    previous: float | None

    @property
    def delta(self) -> float | None:
        """current - previous; None unless both are known."""
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def relative(self) -> float | None:
        """delta / previous (0.25 = 25 % more); None unless both are known and previous != 0."""
        delta = self.delta
        if delta is None or not self.previous:
            return None
        return delta / self.previous


# The stat cards' figures: PeriodStats attribute (or property) by card name.
CARD_FIGURES: dict[str, str] = {
    "merged": "merged",
    "cycle_time_p50_hours": "cycle_p50_hours",
    "time_to_first_review_p50_hours": "review_p50_hours",
    "coding_time_p50_hours": "coding_p50_hours",
    "pickup_time_p50_hours": "pickup_p50_hours",
    "review_time_p50_hours": "review_stage_p50_hours",
    "merge_time_p50_hours": "merge_p50_hours",
    "reviewed_share": "reviewed_share",
    "ci_success_rate": "ci_success_rate",
    "mean_review_rounds": "mean_review_rounds",
    "threads_per_pr": "threads_per_pr",
    "review_comments_per_pr": "review_comments_per_pr",
}


def previous_period(flt: MetricsFilter) -> MetricsFilter:
    """The period of the same length that ends where `flt` starts, same narrowing."""
    return replace(flt, start=flt.start - (flt.end - flt.start), end=flt.start)


def compare_periods(flt: MetricsFilter) -> dict[str, Change]:
    """Each stat card figure for `flt` and for `previous_period(flt)` (two queries)."""
    _, now, before = weeks_total_and_previous(flt)
    return card_changes(now, before)


def card_changes(now: PeriodStats, before: PeriodStats) -> dict[str, Change]:
    """Each stat card figure in `now` against the same figure in `before`."""
    return {
        name: Change(_as_float(getattr(now, attr)), _as_float(getattr(before, attr)))
        for name, attr in CARD_FIGURES.items()
    }


def _as_float(value: object) -> float | None:
    """A card's figure as a number; counts stay whole (a card shows "12", not "12.0")."""
    if value is None or isinstance(value, int):
        return value
    return float(value)  # type: ignore[arg-type]


class WeekIndex(Func):
    """SQL for "which week of `mondays` is this datetime in", as the week's index (0-based).

    Rows are pre-filtered to the range. Native arithmetic per backend, evaluated once per row
    (SQLite has no date truncation of its own: Django's TruncWeek there is a Python function
    called per row, far too slow on tens of thousands of PRs). Other backends get a CASE over
    the week boundaries.
    """

    output_field = IntegerField()

    def __init__(self, expression: str, mondays: list[date]) -> None:
        super().__init__(F(expression))
        self.mondays = mondays
        first = datetime.combine(mondays[0], datetime.min.time(), tzinfo=UTC)
        self.epoch = int(first.timestamp())

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.source_expressions[0])
        # Whole UTC seconds, the fraction cut off first (SQLite's strftime would round .9999995
        # up into the next second, and so the next week); integer division floors the offset.
        return (
            f"((CAST(strftime('%%s', substr({sql}, 1, 19)) AS INTEGER) - %s) / {SECONDS_PER_WEEK})",
            [*params, self.epoch],
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"CAST(FLOOR((EXTRACT(EPOCH FROM {sql}) - %s) / {SECONDS_PER_WEEK}) AS INTEGER)",
            [*params, self.epoch],
        )

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.source_expressions[0])
        whens, values = [], []
        for index, monday in enumerate(self.mondays[1:]):
            boundary = datetime.combine(monday, datetime.min.time(), tzinfo=UTC)
            whens.append(f"WHEN {sql} < %s THEN {index}")
            values += [*params, connection.ops.adapt_datetimefield_value(boundary)]
        if not whens:
            return "0", []
        return f"CASE {' '.join(whens)} ELSE {len(self.mondays) - 1} END", values


def reviewer_load(flt: MetricsFilter, limit: int = 50) -> list[ReviewerLoad]:
    """Reviews submitted in the range on the filter's PRs, per reviewer, busiest first (one query)."""
    qs = PRReview.objects.filter(
        pull_request__team=flt.team,
        submitted_at__gte=flt.start,
        submitted_at__lt=flt.end,
        reviewer__isnull=False,
    ).exclude(state=PRReview.State.PENDING)
    # A review by the PR's own author is a reply, not review work.
    qs = flt.narrow(qs.exclude(reviewer=F("pull_request__author")), "pull_request__")
    rows = (
        qs.order_by()
        .values("reviewer__github_login", "reviewer__is_bot")
        .annotate(
            reviews=Count("id"),
            prs=Count("pull_request", distinct=True),
            approvals=Count("id", filter=Q(state=PRReview.State.APPROVED)),
            changes=Count("id", filter=Q(state=PRReview.State.CHANGES_REQUESTED)),
        )
        .order_by("-reviews", "reviewer__github_login")[:limit]
    )
    return [
        ReviewerLoad(
            login=row["reviewer__github_login"],
            is_bot=row["reviewer__is_bot"],
            reviews=row["reviews"],
            prs_reviewed=row["prs"],
            approvals=row["approvals"],
            changes_requested=row["changes"],
        )
        for row in rows
    ]


def _percentiles(
    base: QuerySet[PullRequest],
    bucket: WeekIndex | Case,
    known: dict[tuple[int | None, str], int],
) -> dict[int | None, dict[tuple[str, tuple[int, int]], float]]:
    """Every percentile of PERCENTILES per group of `bucket` (weeks, PREVIOUS) and over the
    range (None), in one query.

    The range is one more group of the weeks' rows, OVERALL, next to the groups (UNION ALL). No
    query when no column has a known value (`known` comes from the counts query).
    """
    if not any(known.values()):
        return {}
    connection, sql, params = rows_sql(base, bucket, {column: column for column in PERCENTILES})
    values = ", ".join(f"lg_v{i}" for i in range(len(PERCENTILES)))
    both = (
        f"SELECT lg_grp, {values} FROM ({sql}) lg_weeks "
        f"UNION ALL SELECT {OVERALL}, {values} FROM ({sql}) lg_range WHERE lg_grp >= 0"
    )
    fractions = sorted({f for wanted in PERCENTILES.values() for f in wanted})
    groups = percentiles_of_sql(connection, both, params * 2, list(PERCENTILES), fractions)
    return {
        (None if group == OVERALL else int(group)): figures.values
        for group, figures in groups.items()
    }


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)
