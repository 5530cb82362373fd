"""Team aggregates over merged PRs: per week and over a date range, computed by the database.

The population is a team's PRs *merged* in [start, end), optionally narrowed to one repository
("owner/name") and/or one author (GitHub login). Each figure comes from the per-PR metrics
that apps/metrics/pr_metrics.py stores on write:

- merged: number of PRs merged in the period (a week is Monday 00:00 UTC to the next Monday);
- cycle time median and p75 (hours, created -> merged), percentile_cont semantics (linear
  interpolation between the two nearest ranks);
- time to first review median (hours, created -> first review by a human other than the author);
- reviewed share: merged PRs that got such a review (`first_review_at` set) / merged PRs;
- size distribution: merged PRs per size bucket (XS..XL);
- CI success rate: merged PRs whose last commit's checks all passed / merged PRs with CI data;
- bot share: merged PRs authored by a bot / merged PRs;
- review rounds: total and mean per merged PR;
- reviewers and their load: reviews submitted in the period on the team's PRs (same repository
  and author filters), self-reviews and pending reviews left out.

Everything is aggregated in SQL (GROUP BY, conditional COUNT, SUM). Percentiles are portable
across SQLite and PostgreSQL: a window query numbers each group's values (ROW_NUMBER, COUNT
OVER) and returns only the (at most two) rows each percentile interpolates between, so Python
receives a handful of rows per week, never the PRs themselves.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, F, Q, QuerySet, Sum, Value
from django.db.models.expressions import Window
from django.db.models.functions import RowNumber, TruncWeek
from django.utils import timezone

from apps.metrics.models import PRReview, PullRequest, Team

SIZE_BUCKETS: tuple[str, ...] = tuple(PullRequest.SizeBucket.values)

# Percentiles as exact fractions (numerator, denominator) so the rank test stays in integers.
P50 = (1, 2)
P75 = (3, 4)


@dataclass(frozen=True, slots=True)
class MetricsFilter:
    """Which PRs an aggregate covers: a team's PRs merged in [start, end), optionally narrowed."""

    team: Team
    start: datetime
    end: datetime
    repo: str | None = None
    member: str | None = None

    @classmethod
    def last_weeks(
        cls,
        team: Team,
        weeks: int = 12,
        *,
        now: datetime | None = None,
        repo: str | None = None,
        member: str | None = None,
    ) -> MetricsFilter:
        """The current week and the `weeks - 1` full weeks before it (weeks start on Monday, UTC)."""
        if weeks < 1:
            raise ValueError(f"weeks must be at least 1, got {weeks}")
        now = now or timezone.now()
        first_monday = week_start(now.date()) - timedelta(weeks=weeks - 1)
        start = datetime.combine(first_monday, datetime.min.time(), tzinfo=UTC)
        return cls(team=team, start=start, end=now, repo=repo or None, member=member or None)

    @classmethod
    def between(
        cls,
        team: Team,
        first_day: date,
        last_day: date,
        *,
        repo: str | None = None,
        member: str | None = None,
    ) -> MetricsFilter:
        """PRs merged from `first_day` 00:00 UTC through the end of `last_day` (inclusive days)."""
        if last_day < first_day:
            raise ValueError(f"the range ends ({last_day}) before it starts ({first_day})")
        start = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
        end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        return cls(team=team, start=start, end=end, repo=repo or None, member=member or None)

    def week_starts(self) -> list[date]:
        """Every Monday whose week overlaps [start, end), oldest first."""
        monday = week_start(self.start.astimezone(UTC).date())
        last = (self.end - timedelta(microseconds=1)).astimezone(UTC).date()
        out = []
        while monday <= last:
            out.append(monday)
            monday += timedelta(weeks=1)
        return out

    def merged_prs(self) -> QuerySet[PullRequest]:
        """The population: this filter's merged PRs (unordered, for aggregation)."""
        qs = PullRequest.objects.filter(
            team=self.team, merged_at__gte=self.start, merged_at__lt=self.end
        )
        if self.repo:
            qs = qs.filter(github_repo=self.repo)
        if self.member:
            qs = qs.filter(author__github_login=self.member)
        return qs.order_by()


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

    @property
    def reviewed_share(self) -> float | None:
        """Merged PRs with a non-author human review / merged PRs; None when nothing merged."""
        return self.reviewed / self.merged if self.merged else None

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
        for bucket, n in other.sizes.items():
            self.sizes[bucket] = self.sizes.get(bucket, 0) + n

    def as_dict(self) -> dict[str, object]:
        """JSON-ready figures, rates included."""
        return {
            "merged": self.merged,
            "cycle_time_p50_hours": _round(self.cycle_p50_hours),
            "cycle_time_p75_hours": _round(self.cycle_p75_hours),
            "time_to_first_review_p50_hours": _round(self.review_p50_hours),
            "reviewed": self.reviewed,
            "reviewed_share": _round(self.reviewed_share, 4),
            "sizes": dict(self.sizes),
            "ci_known": self.ci_known,
            "ci_passed": self.ci_passed,
            "ci_success_rate": _round(self.ci_success_rate, 4),
            "bot_prs": self.bot_prs,
            "bot_share": _round(self.bot_share, 4),
            "review_rounds": self.review_rounds,
            "mean_review_rounds": _round(self.mean_review_rounds, 3),
            "commits_after_first_review": self.commits_after_first_review,
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
    """Weekly and whole-range figures plus reviewer load for `flt`: four SQL queries."""
    weeks = weekly_stats(flt)
    total = PeriodStats()
    for week in weeks:
        total.add_counts(week.stats)
    pct = _percentiles(flt.merged_prs(), None)
    cycle = pct.get(None, {})
    total.cycle_p50_hours = cycle.get(("cycle_time_hours", P50))
    total.cycle_p75_hours = cycle.get(("cycle_time_hours", P75))
    total.review_p50_hours = cycle.get(("review_time_hours", P50))
    return TeamReport(filter=flt, weeks=weeks, total=total, reviewers=reviewer_load(flt))


def period_stats(flt: MetricsFilter) -> PeriodStats:
    """The whole range's figures for `flt` as one period."""
    return team_report(flt).total


def weekly_stats(flt: MetricsFilter) -> list[WeekStats]:
    """One WeekStats per week of the range, oldest first, empty weeks included (two queries)."""
    base = flt.merged_prs()
    size_counts = {
        f"size_{bucket}": Count("id", filter=Q(size_bucket=bucket)) for bucket in SIZE_BUCKETS
    }
    rows = (
        base.annotate(week=TruncWeek("merged_at", tzinfo=UTC))
        .values("week")
        .annotate(
            merged=Count("id"),
            reviewed=Count("id", filter=Q(first_review_at__isnull=False)),
            ci_known=Count("id", filter=Q(ci_passed__isnull=False)),
            ci_ok=Count("id", filter=Q(ci_passed=True)),
            bots=Count("id", filter=Q(is_bot_author=True)),
            rounds=Sum("review_rounds"),
            after_review=Sum("commits_after_first_review"),
            **size_counts,
        )
        .order_by("week")
    )
    by_week: dict[date, PeriodStats] = {}
    for row in rows:
        stats = PeriodStats(
            merged=row["merged"],
            reviewed=row["reviewed"],
            ci_known=row["ci_known"],
            ci_passed=row["ci_ok"],
            bot_prs=row["bots"],
            review_rounds=row["rounds"] or 0,
            commits_after_first_review=row["after_review"] or 0,
            sizes={bucket: row[f"size_{bucket}"] for bucket in SIZE_BUCKETS},
        )
        by_week[_as_date(row["week"])] = stats

    pct = _percentiles(base, TruncWeek("merged_at", tzinfo=UTC))
    out = []
    for monday in flt.week_starts():
        stats = by_week.get(monday, PeriodStats())
        values = pct.get(monday, {})
        stats.cycle_p50_hours = values.get(("cycle_time_hours", P50))
        stats.cycle_p75_hours = values.get(("cycle_time_hours", P75))
        stats.review_p50_hours = values.get(("review_time_hours", P50))
        out.append(WeekStats(week=monday, stats=stats))
    return out


def reviewer_load(flt: MetricsFilter, limit: int = 50) -> list[ReviewerLoad]:
    """Reviews submitted in the range on the filter's PRs, per reviewer, busiest first (one query)."""
    qs = PRReview.objects.filter(
        pull_request__team=flt.team,
        submitted_at__gte=flt.start,
        submitted_at__lt=flt.end,
        reviewer__isnull=False,
    ).exclude(state=PRReview.State.PENDING)
    # A review by the PR's own author is a reply, not review work.
    qs = qs.exclude(reviewer=F("pull_request__author"))
    if flt.repo:
        qs = qs.filter(pull_request__github_repo=flt.repo)
    if flt.member:
        qs = qs.filter(pull_request__author__github_login=flt.member)
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
    base: QuerySet[PullRequest], group: TruncWeek | None
) -> dict[date | None, dict[tuple[str, tuple[int, int]], float]]:
    """Cycle time p50/p75 and review time p50 per group (None: one group), in one query.

    Each value column gets its own ROW_NUMBER and COUNT over the group (NULLs sorted last and
    not counted, so ranks 1..n cover exactly the known values). For a percentile p = a/b the
    interpolation uses the 0-based positions floor(k) and ceil(k), k = p * (n - 1); rank r
    (1-based) is one of them exactly when 0 < b*r - a*(n - 1) < 2b. Only those rows come back.
    """
    partition = [group] if group is not None else [Value(1)]
    wanted: dict[str, tuple[tuple[int, int], ...]] = {
        "cycle_time_hours": (P50, P75),
        "review_time_hours": (P50,),
    }
    annotations: dict[str, object] = {"grp": group if group is not None else Value(0)}
    keep = Q()
    for column, fractions in wanted.items():
        rank, count = f"rn_{column}", f"n_{column}"
        annotations[rank] = Window(
            RowNumber(),
            partition_by=partition,
            order_by=[F(column).asc(nulls_last=True), F("id").asc()],
        )
        annotations[count] = Window(Count(column), partition_by=partition)
        for num, den in fractions:
            probe = f"k_{column}_{num}_{den}"
            annotations[probe] = F(rank) * den - (F(count) - 1) * num
            # A NULL (ranked after the n values) can only pass when n == 0; skipped below.
            keep |= Q(**{f"{probe}__gt": 0, f"{probe}__lt": 2 * den})
    # Window annotations must exist before the expressions that reference them.
    qs = base.annotate(**{k: v for k, v in annotations.items() if not k.startswith("k_")})
    qs = qs.annotate(**{k: v for k, v in annotations.items() if k.startswith("k_")})
    columns = ["grp"]
    for column in wanted:
        columns += [column, f"rn_{column}", f"n_{column}"]
    rows = qs.filter(keep).values_list(*columns)

    # (group, column) -> {rank: value}, then interpolate.
    picked: dict[tuple[date | None, str], dict[int, float]] = defaultdict(dict)
    counts: dict[tuple[date | None, str], int] = {}
    for row in rows:
        grp = _as_date(row[0]) if group is not None else None
        for i, column in enumerate(wanted):
            value, rank, n = row[1 + 3 * i : 4 + 3 * i]
            if value is None:
                continue
            picked[(grp, column)][rank] = value
            counts[(grp, column)] = n
    out: dict[date | None, dict[tuple[str, tuple[int, int]], float]] = defaultdict(dict)
    for (grp, column), ranks in picked.items():
        n = counts[(grp, column)]
        for fraction in wanted[column]:
            value = _interpolate(ranks, n, fraction)
            if value is not None:
                out[grp][(column, fraction)] = value
    return out


def _interpolate(ranks: dict[int, float], n: int, fraction: tuple[int, int]) -> float | None:
    """percentile_cont(p) from the values at the 1-based ranks around p * (n - 1)."""
    num, den = fraction
    k = num * (n - 1) / den
    lo = math.floor(k)
    low = ranks.get(lo + 1)
    if low is None:
        return None
    if k == lo:
        return float(low)
    high = ranks.get(lo + 2)
    if high is None:
        return None
    return float(low) + (k - lo) * (float(high) - float(low))


def _as_date(value: datetime | date | str) -> date:
    """A TruncWeek result as the Monday's date (aware datetime on both backends)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(value).date()


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)
