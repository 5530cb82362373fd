"""The team lead's pages: cycle-time stages, needs attention, people, repositories, labels, CI.

Size: over 400 lines for one job, seven pages sharing one filter, table and CSV scaffold; a page
per module is the next split if it grows.

Every page needs a logged-in user, takes the team page's filters plus a label, says which
date its range counts PRs by, and exports each of its tables as CSV
(`?format=csv&table=<id>`, the "CSV" link by each table). Figures are aggregated by the
database (apps.dashboard.lead_stats: one query gives a group's counts and medians); tables
show at most TABLE_ROWS rows, the CSV every row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from apps.dashboard import charts
from apps.dashboard.exports import csv_response
from apps.dashboard.lead_stats import (
    MEDIAN,
    P75,
    GroupFigures,
    grouped_percentiles,
    label_q,
    label_rows_sql,
    percentiles_of_sql,
)
from apps.dashboard.views import DEFAULT_WEEKS, TeamFilterForm, _query_string
from apps.metrics.aggregates import MetricsFilter, WeekIndex
from apps.metrics.models import (
    Commit,
    PRCheckRun,
    PRReview,
    PRTimelineEvent,
    PullRequest,
    Team,
    TeamMember,
)

TABLE_ROWS = 50
# Most queries each page may take whatever the number of PRs (session and user included):
# asserted by apps/dashboard/tests/test_lead_views.py and by bench/bench_dashboard.py at 20,000.
QUERY_BUDGETS = {
    "stages": 10,
    "attention": 15,
    "people": 10,
    "person": 14,
    "repos": 10,
    "labels": 10,
    "ci": 12,
}
STALE_DAYS = (3, 7, 14, 30)
DEFAULT_STALE_DAYS = 7
# Conclusions of a check run that count as a failure (GitHub's CheckConclusionState, lower case).
FAILED = ("failure", "timed_out", "startup_failure")

# The stages of cycle time, in order, with their stored per-PR column and chart colour.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("coding", "coding_time_hours", "#93c5fd"),
    ("pickup", "pickup_time_hours", "#f59e0b"),
    ("review", "review_time_hours", "#10b981"),
    ("merge", "merge_time_hours", "#8b5cf6"),
)


# --- filters ------------------------------------------------------------------------------------


class LeadFilterForm(TeamFilterForm):
    """The team page's filters plus one label."""

    label = forms.ChoiceField(required=False)

    def __init__(self, data: Any, *, repos: list[str], members: list[str], labels: list[str]):
        super().__init__(data, repos=repos, members=members)
        self.fields["label"].choices = [("", "all labels")] + [(x, x) for x in labels]

    @property
    def label_value(self) -> str:
        return (self.cleaned_data.get("label") or "") if self.is_valid() else ""


@dataclass(frozen=True, slots=True)
class Scope:
    """What a page covers: the team, the form, its range filter and label."""

    team: Team
    form: LeadFilterForm
    flt: MetricsFilter
    label: str

    def narrow(self, qs: QuerySet[Any], prefix: str = "") -> QuerySet[Any]:
        """`qs` narrowed to the repository, author and label (`prefix` reaches the PR)."""
        if self.flt.repo:
            qs = qs.filter(**{f"{prefix}github_repo": self.flt.repo})
        if self.flt.member:
            qs = qs.filter(**{f"{prefix}author__github_login": self.flt.member})
        if self.label:
            q = label_q(self.label, connection.vendor)
            if prefix:
                qs = qs.filter(
                    Exists(PullRequest.objects.filter(q, pk=OuterRef(prefix.removesuffix("__"))))
                )
            else:
                qs = qs.filter(q)
        return qs

    def created(self) -> QuerySet[PullRequest]:
        """The team's PRs created in range (narrowed)."""
        qs = PullRequest.objects.filter(
            team=self.team, pr_created_at__gte=self.flt.start, pr_created_at__lt=self.flt.end
        )
        return self.narrow(qs).order_by()

    def merged(self, start: datetime | None = None) -> QuerySet[PullRequest]:
        """The team's PRs merged in range, or from `start` to the range's end (narrowed)."""
        qs = PullRequest.objects.filter(
            team=self.team, merged_at__gte=start or self.flt.start, merged_at__lt=self.flt.end
        )
        return self.narrow(qs).order_by()

    def query(self, **extra: str) -> str:
        return _query_string(self.form, **extra)


def _scope(request: HttpRequest, slug: str) -> Scope:
    team = get_object_or_404(Team, slug=slug)
    prs = PullRequest.objects.filter(team=team).order_by()
    repos = sorted(set(prs.values_list("github_repo", flat=True).distinct()))
    members = list(
        TeamMember.objects.filter(team=team)
        .order_by("github_login")
        .values_list("github_login", flat=True)
    )
    conn, sql, params = label_rows_sql(prs, {})
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT lg_grp FROM ({sql}) lg_all", params)
        labels = sorted((row[0] for row in cursor.fetchall() if row[0]), key=str.lower)
    data = request.GET.copy()
    if not data.get("weeks") and not data.get("start") and not data.get("end"):
        data["weeks"] = str(DEFAULT_WEEKS)
    form = LeadFilterForm(data, repos=repos, members=members, labels=labels)
    return Scope(team=team, form=form, flt=form.to_filter(team), label=form.label_value)


# --- CSV ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Table:
    """A table of a page: shown (first TABLE_ROWS rows) and exported as CSV (every row)."""

    id: str
    header: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    total: int | None = None

    @property
    def shown(self) -> list[list[Any]]:
        return self.rows[:TABLE_ROWS]

    @property
    def columns(self) -> list[Column]:
        """The header as shown: the url column is folded into the title (or number) link."""
        numeric = self._numeric()
        return [Column(name, numeric[i]) for i, name in enumerate(self.header) if name != "url"]

    def _numeric(self) -> list[bool]:
        """Per column: do its known values hold numbers (right-aligned)?"""
        out = []
        for index in range(len(self.header)):
            known = [row[index] for row in self.rows if row[index] is not None]
            out.append(
                bool(known)
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in known)
            )
        return out

    def cells(self, team_slug: str) -> list[list[Cell]]:
        """The shown rows as text cells; titles link to GitHub, logins to the person page."""
        url_at = self.header.index("url") if "url" in self.header else None
        link_at = next(
            (self.header.index(h) for h in ("title", "number") if h in self.header), None
        )
        numeric = self._numeric()
        out = []
        for row in self.shown:
            cells = []
            for index, (name, value) in enumerate(zip(self.header, row, strict=True)):
                if index == url_at:
                    continue
                href = ""
                if index == link_at and url_at is not None:
                    href = row[url_at]
                elif name in ("login", "author") and value and value != "ghost":
                    href = reverse("dashboard:person", args=[team_slug, value])
                cells.append(Cell(_text(name, value), href, numeric[index], name == "title"))
            out.append(cells)
        return out


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    numeric: bool


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    href: str
    numeric: bool
    title: bool


def _text(name: str, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        if "share" in name or "rate" in name:
            return f"{value * 100:.1f}%"
        return f"{value:.1f}"
    return str(value)


def _wants_csv(request: HttpRequest) -> str | None:
    return request.GET.get("table") if request.GET.get("format") == "csv" else None


def _export(
    request: HttpRequest, scope: Scope, page: str, tables: dict[str, Callable[[], Table]]
) -> HttpResponse | None:
    """The CSV of the table the URL asks for (every row), or None for the HTML page."""
    wanted = _wants_csv(request)
    if wanted is None:
        return None
    if wanted not in tables:
        raise Http404(f"no table {wanted!r} on this page")
    table = tables[wanted]()
    return csv_response(f"{scope.team.slug}-{page}-{wanted}", table.header, table.rows)


def _hours(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds() / 3600


def _pr_url(pr: PullRequest | dict[str, Any]) -> str:
    """The PR on GitHub: its stored URL when it is an http(s) one (never `javascript:`)."""
    from apps.metrics.pipeline.sanitise import is_web_url

    get = pr.get if isinstance(pr, dict) else lambda k: getattr(pr, k)
    url = get("url")
    if url and is_web_url(url):
        return url
    return f"https://github.com/{get('github_repo')}/pull/{get('github_pr_id')}"


# --- cycle-time stages --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatCard:
    """A figure over the range and the same figure over the previous period of equal length."""

    key: str
    label: str
    value: float | None
    previous: float | None
    unit: str = "h"
    lower_is_better: bool = True

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def change_pct(self) -> float | None:
        if self.change is None or not self.previous:
            return None
        return self.change / self.previous

    @property
    def trend(self) -> str:
        """ "better", "worse" or "same" for the colour of the change."""
        if not self.change:
            return "same"
        return "better" if (self.change < 0) == self.lower_is_better else "worse"


@login_required
def stages(request: HttpRequest, slug: str) -> HttpResponse:
    """Cycle time split into coding, pickup, review and merge, per week; changes on each card."""
    scope = _scope(request, slug)
    flt = scope.flt
    mondays = flt.week_starts()
    columns = {name: column for name, column, _ in STAGES}
    columns["cycle"] = "cycle_time_hours"
    columns["first_review"] = "time_to_first_review_hours"

    def weekly() -> dict[Any, GroupFigures]:
        return grouped_percentiles(scope.merged(), WeekIndex("merged_at", mondays), columns)

    def weeks_table() -> Table:
        by_week = weekly()
        table = Table(
            "weeks", ["week (Monday)", "merged", *[f"{_name(n)} median (h)" for n in columns]]
        )
        for index, monday in enumerate(mondays):
            figures = by_week.get(index, GroupFigures())
            table.rows.append(
                [monday.isoformat(), figures.rows, *[figures.median(n) for n in columns]]
            )
        return table

    exported = _export(request, scope, "stages", {"weeks": weeks_table})
    if exported:
        return exported

    table = weeks_table()
    length = flt.end - flt.start
    previous_start = flt.start - length
    period = Case(When(merged_at__gte=flt.start, then=Value(1)), default=Value(0))
    periods = grouped_percentiles(scope.merged(previous_start), period, columns)
    now_figures, before = periods.get(1, GroupFigures()), periods.get(0, GroupFigures())
    cards = [
        StatCard(
            "merged", "Merged PRs", now_figures.rows, before.rows, unit="", lower_is_better=False
        ),
        StatCard(
            "cycle", "Cycle time, median", now_figures.median("cycle"), before.median("cycle")
        ),
        StatCard(
            "first-review",
            "Time to first review, median",
            now_figures.median("first_review"),
            before.median("first_review"),
        ),
        *[
            StatCard(
                name, f"{name.title()} time, median", now_figures.median(name), before.median(name)
            )
            for name, _, _ in STAGES
        ],
    ]
    labels = [m.strftime("%b %d") for m in mondays]
    chart = charts.bar_chart(
        "stages",
        "Stages per week (h, medians)",
        labels,
        [
            charts.Series(name, [row[2 + i] for row in table.rows], color)
            for i, (name, _, color) in enumerate(STAGES)
        ],
        unit=" h",
    )
    context = {
        **_base(scope, "stages"),
        "cards": cards,
        "chart": chart,
        "table": table,
        "previous_start": previous_start,
    }
    return render(request, "dashboard/lead/stages.html", context)


# --- needs attention ----------------------------------------------------------------------------


@login_required
def attention(request: HttpRequest, slug: str) -> HttpResponse:
    """Open PRs that need someone now: unreviewed, changes requested, stale, long drafts."""
    scope = _scope(request, slug)
    try:
        days = int(request.GET.get("days", DEFAULT_STALE_DAYS))
    except ValueError:
        days = DEFAULT_STALE_DAYS
    if days not in STALE_DAYS:
        days = DEFAULT_STALE_DAYS
    now = timezone.now()
    since = now - timedelta(days=days)
    open_prs = scope.narrow(
        PullRequest.objects.filter(team=scope.team, state=PullRequest.State.OPEN)
    ).select_related("author")

    def waiting() -> QuerySet[PullRequest]:
        return (
            open_prs.filter(is_draft=False, first_review_at__isnull=True)
            .annotate(since=Coalesce("ready_for_review_at", "pr_created_at"))
            .order_by("since", "id")
        )

    def changes_requested() -> QuerySet[PullRequest]:
        author_reviews = PRReview.objects.filter(pull_request=OuterRef("pk")).exclude(
            reviewer=OuterRef("author")
        )
        last_request = (
            author_reviews.filter(state=PRReview.State.CHANGES_REQUESTED)
            .order_by("-submitted_at")
            .values("submitted_at")[:1]
        )
        last_commit = (
            Commit.objects.filter(pull_request=OuterRef("pk"), committed_at__isnull=False)
            .order_by("-committed_at")
            .values("committed_at")[:1]
        )
        last_push = (
            PRTimelineEvent.objects.filter(
                pull_request=OuterRef("pk"), kind=PRTimelineEvent.Kind.HEAD_REF_FORCE_PUSHED
            )
            .order_by("-created_at")
            .values("created_at")[:1]
        )
        approved_after = author_reviews.filter(
            state=PRReview.State.APPROVED, submitted_at__gt=OuterRef("since")
        )
        return (
            open_prs.annotate(
                since=Subquery(last_request),
                last_commit=Subquery(last_commit),
                last_push=Subquery(last_push),
            )
            .filter(since__isnull=False, last_commit__isnull=False)
            .filter(last_commit__lt=F("since"))
            .filter(Q(last_push__isnull=True) | Q(last_push__lt=F("since")))
            .exclude(Exists(approved_after))
            .order_by("since", "id")
        )

    def stale() -> QuerySet[PullRequest]:
        return (
            open_prs.filter(pr_updated_at__lt=since)
            .annotate(since=F("pr_updated_at"))
            .order_by("since", "id")
        )

    def drafts() -> QuerySet[PullRequest]:
        last_draft = (
            PRTimelineEvent.objects.filter(
                pull_request=OuterRef("pk"), kind=PRTimelineEvent.Kind.CONVERT_TO_DRAFT
            )
            .order_by("-created_at")
            .values("created_at")[:1]
        )
        return (
            open_prs.filter(is_draft=True)
            .annotate(since=Coalesce(Subquery(last_draft), "pr_created_at"))
            .filter(since__lt=since)
            .order_by("since", "id")
        )

    lists = {
        "waiting": ("Waiting for a first review", "ready for review", waiting),
        "changes": (
            "Changes requested, no new commit since",
            "changes requested",
            changes_requested,
        ),
        "stale": (f"No activity for {days} days or more", "last activity", stale),
        "drafts": (f"Drafts for more than {days} days", "draft since", drafts),
    }

    def as_table(key: str, limit: int | None) -> Table:
        title, since_label, make = lists[key]
        qs = make()
        header = ["number", "repository", "title", "author", since_label, "age (days)", "url"]
        table = Table(key, header)
        # The total rides along as a window over the whole list: one query, not two.
        qs = qs.annotate(total=Window(Count("id")))
        picked = list(qs[:limit] if limit else qs)
        table.total = picked[0].total if picked else 0
        for pr in picked:
            table.rows.append(
                [
                    pr.github_pr_id,
                    pr.github_repo,
                    pr.title,
                    pr.author.github_login if pr.author else "ghost",
                    pr.since,
                    round((now - pr.since).total_seconds() / 86400, 1),
                    _pr_url(pr),
                ]
            )
        return table

    exported = _export(
        request,
        scope,
        "attention",
        {key: (lambda key=key: as_table(key, None)) for key in lists},
    )
    if exported:
        return exported
    sections = [{"title": lists[key][0], "table": as_table(key, TABLE_ROWS)} for key in lists]
    context = {
        **_base(scope, "attention", days=str(days)),
        "sections": sections,
        "days": days,
        "day_choices": STALE_DAYS,
        "now": now,
    }
    return render(request, "dashboard/lead/attention.html", context)


# --- people -------------------------------------------------------------------------------------


@login_required
def people(request: HttpRequest, slug: str) -> HttpResponse:
    """Each member's PRs created and reviews given in range, linking to their page."""
    scope = _scope(request, slug)

    def table() -> Table:
        authored = dict(
            scope.created()
            .values("author__github_login")
            .annotate(n=Count("id"))
            .values_list("author__github_login", "n")
        )
        merged = dict(
            scope.created()
            .filter(merged_at__isnull=False)
            .values("author__github_login")
            .annotate(n=Count("id"))
            .values_list("author__github_login", "n")
        )
        reviews = scope.narrow(
            PRReview.objects.filter(
                pull_request__team=scope.team,
                submitted_at__gte=scope.flt.start,
                submitted_at__lt=scope.flt.end,
                reviewer__isnull=False,
            )
            .exclude(state=PRReview.State.PENDING)
            .exclude(reviewer=F("pull_request__author")),
            "pull_request__",
        )
        given = {
            row["reviewer__github_login"]: row
            for row in reviews.order_by()
            .values("reviewer__github_login")
            .annotate(n=Count("id"), prs=Count("pull_request", distinct=True))
        }
        out = Table(
            "people", ["login", "bot", "PRs created", "of which merged", "reviews", "PRs reviewed"]
        )
        members = TeamMember.objects.filter(team=scope.team).order_by("github_login")
        for member in members.values("github_login", "is_bot"):
            login = member["github_login"]
            row = given.get(login, {})
            out.rows.append(
                [login, member["is_bot"], authored.get(login, 0), merged.get(login, 0),
                 row.get("n", 0), row.get("prs", 0)]
            )  # fmt: skip
        out.rows.sort(key=lambda r: (-(r[2] + r[4]), r[0]))
        return out

    exported = _export(request, scope, "people", {"people": table})
    if exported:
        return exported
    everyone = table()
    everyone.total = len(everyone.rows)
    context = {**_base(scope, "people"), "table": everyone}
    return render(request, "dashboard/lead/people.html", context)


@login_required
def person(request: HttpRequest, slug: str, login: str) -> HttpResponse:
    """One member: their PRs (created in range), their reviews (submitted in range), their pickup."""
    scope = _scope(request, slug)
    member = TeamMember.objects.filter(team=scope.team, github_login=login).first()
    if member is None:
        raise Http404("no such member")
    flt = scope.flt
    their_prs = scope.narrow(
        PullRequest.objects.filter(
            team=scope.team,
            author=member,
            pr_created_at__gte=flt.start,
            pr_created_at__lt=flt.end,
        )
    ).order_by("-pr_created_at", "-id")
    reviews = (
        scope.narrow(
            PRReview.objects.filter(
                reviewer=member,
                pull_request__team=scope.team,
                submitted_at__gte=flt.start,
                submitted_at__lt=flt.end,
            ).exclude(state=PRReview.State.PENDING),
            "pull_request__",
        )
        .exclude(pull_request__author=member)
        .order_by("-submitted_at", "-id")
    )

    def prs_table(limit: int | None) -> Table:
        table = Table(
            "prs",
            ["number", "repository", "title", "state", "created", "merged", "cycle (h)",
             "pickup (h)", "review (h)", "url"],
        )  # fmt: skip
        fields = ("github_pr_id", "github_repo", "title", "state", "pr_created_at", "merged_at",
                  "cycle_time_hours", "pickup_time_hours", "review_time_hours", "url")  # fmt: skip
        rows = their_prs.values(*fields)
        for row in rows[:limit] if limit else rows:
            table.rows.append([*(row[f] for f in fields[:-1]), _pr_url(row)])
        return table

    def reviews_table(limit: int | None) -> Table:
        table = Table(
            "reviews", ["number", "repository", "title", "author", "state", "submitted", "url"]
        )
        fields = ("pull_request__github_pr_id", "pull_request__github_repo",
                  "pull_request__title", "pull_request__author__github_login", "state",
                  "submitted_at", "pull_request__url")  # fmt: skip
        rows = reviews.values(*fields)
        for row in rows[:limit] if limit else rows:
            url = row["pull_request__url"] or (
                f"https://github.com/{row['pull_request__github_repo']}/pull/"
                f"{row['pull_request__github_pr_id']}"
            )
            table.rows.append([*(row[f] for f in fields[:-1]), url])
        return table

    exported = _export(
        request,
        scope,
        f"person-{member.github_login}",
        {"prs": lambda: prs_table(None), "reviews": lambda: reviews_table(None)},
    )
    if exported:
        return exported

    pr_counts = their_prs.order_by().aggregate(
        created=Count("id"),
        merged=Count("id", filter=Q(merged_at__isnull=False)),
        open=Count("id", filter=Q(state=PullRequest.State.OPEN)),
    )
    own = grouped_percentiles(
        their_prs.filter(merged_at__isnull=False),
        None,
        {"cycle": "cycle_time_hours", "pickup": "pickup_time_hours"},
    ).get(0, GroupFigures())
    review_counts = reviews.order_by().aggregate(
        reviews=Count("id"),
        prs=Count("pull_request", distinct=True),
        approvals=Count("id", filter=Q(state=PRReview.State.APPROVED)),
        changes=Count("id", filter=Q(state=PRReview.State.CHANGES_REQUESTED)),
    )
    pickups = reviewer_pickup_hours(member, reviews)
    prs = prs_table(TABLE_ROWS)
    prs.total = pr_counts["created"]
    given = reviews_table(TABLE_ROWS)
    given.total = review_counts["reviews"]
    context = {
        **_base(scope, "people"),
        "member": member,
        "pr_counts": pr_counts,
        "own_cycle": own.median("cycle"),
        "review_counts": review_counts,
        "pickup_median": _median(pickups),
        "pickup_known": len(pickups),
        "prs": prs,
        "reviews": given,
    }
    return render(request, "dashboard/lead/person.html", context)


def reviewer_pickup_hours(member: TeamMember, reviews: QuerySet[PRReview]) -> list[float]:
    """Per PR the member reviewed (in `reviews`): hours from the review asked of them to their
    first review after it.

    The start is the first request for their review (a REVIEW_REQUESTED event naming them) at or
    before that review; without one, the moment the PR was ready for review (its creation when
    it never was a draft). Reviews left while the PR was a draft are not a pickup.
    """
    firsts = (
        reviews.filter(submitted_at__isnull=False)
        .order_by()
        .values("pull_request_id")
        .annotate(first=Min("submitted_at"))
        .values_list(
            "pull_request_id",
            "first",
            Coalesce("pull_request__ready_for_review_at", "pull_request__pr_created_at"),
            "pull_request__ready_for_review_at",
        )
    )
    rows = list(firsts)
    requests: dict[int, list[datetime]] = {}
    for pr_id, at in PRTimelineEvent.objects.filter(
        pull_request_id__in=reviews.order_by().values("pull_request_id"),
        kind=PRTimelineEvent.Kind.REVIEW_REQUESTED,
        requested_reviewer_login=member.github_login,
    ).values_list("pull_request_id", "created_at"):
        requests.setdefault(pr_id, []).append(at)
    out = []
    for pr_id, first, ready, ready_known in rows:
        asked = [at for at in requests.get(pr_id, ()) if at <= first]
        start = min(asked) if asked else ready
        if ready_known is not None and first < ready_known:
            continue  # reviewed while still a draft
        out.append(max(0.0, (first - start).total_seconds() / 3600))
    return out


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


# --- repositories -------------------------------------------------------------------------------

REPO_MEDIANS = {
    "cycle": "cycle_time_hours",
    "first_review": "time_to_first_review_hours",
    **{name: column for name, column, _ in STAGES},
}


@login_required
def repositories(request: HttpRequest, slug: str) -> HttpResponse:
    """The team's repositories side by side, over the PRs merged in range."""
    scope = _scope(request, slug)

    def table() -> Table:
        counts = {
            row["github_repo"]: row
            for row in scope.merged()
            .values("github_repo")
            .annotate(
                merged=Count("id"),
                reviewed=Count("id", filter=Q(first_review_at__isnull=False)),
                ci_known=Count("id", filter=Q(ci_passed__isnull=False)),
                ci_ok=Count("id", filter=Q(ci_passed=True)),
                lines=Sum(F("additions") + F("deletions")),
            )
        }
        medians = grouped_percentiles(scope.merged(), "github_repo", REPO_MEDIANS, (MEDIAN, P75))
        out = Table(
            "repos",
            ["repository", "merged", "reviewed share", "CI success rate", "mean lines",
             "cycle median (h)", "cycle p75 (h)",
             *[f"{_name(n)} median (h)" for n in list(REPO_MEDIANS)[1:]]],
        )  # fmt: skip
        for repo in sorted(counts, key=lambda r: (-counts[r]["merged"], r)):
            c, m = counts[repo], medians.get(repo, GroupFigures())
            out.rows.append(
                [repo, c["merged"], _share(c["reviewed"], c["merged"]),
                 _share(c["ci_ok"], c["ci_known"]),
                 round((c["lines"] or 0) / c["merged"], 1) if c["merged"] else None,
                 m.median("cycle"), m.p75("cycle"),
                 *[m.median(n) for n in list(REPO_MEDIANS)[1:]]]
            )  # fmt: skip
        return out

    exported = _export(request, scope, "repositories", {"repos": table})
    if exported:
        return exported
    repos = table()
    stage_index = {n: i for i, n in enumerate(list(REPO_MEDIANS))}
    chart = charts.bar_chart(
        "repo-stages",
        "Stages per repository (h, medians)",
        [row[0] for row in repos.rows[:10]],
        [
            charts.Series(name, [row[5 + stage_index[name]] for row in repos.rows[:10]], color)
            for name, _, color in STAGES
        ],
        unit=" h",
    )
    repos.total = len(repos.rows)
    context = {**_base(scope, "repos"), "table": repos, "chart": chart}
    return render(request, "dashboard/lead/repos.html", context)


def _name(column: str) -> str:
    return "time to first review" if column == "first_review" else column.replace("_", " ")


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# --- labels -------------------------------------------------------------------------------------


@login_required
def labels(request: HttpRequest, slug: str) -> HttpResponse:
    """PRs merged in range per label: how many, and their stage medians."""
    scope = _scope(request, slug)

    def table() -> Table:
        conn, sql, params = label_rows_sql(scope.merged(), REPO_MEDIANS)
        per_label = percentiles_of_sql(conn, sql, params, list(REPO_MEDIANS))
        unlabeled = grouped_percentiles(
            scope.merged().filter(Q(labels=[]) | Q(labels__isnull=True)), None, REPO_MEDIANS
        ).get(0, GroupFigures())
        out = Table(
            "labels",
            ["label", "merged PRs", *[f"{_name(n)} median (h)" for n in REPO_MEDIANS]],
        )
        for name in sorted(per_label, key=lambda n: (-per_label[n].rows, str(n).lower())):
            figures = per_label[name]
            out.rows.append([name, figures.rows, *[figures.median(n) for n in REPO_MEDIANS]])
        out.rows.append(
            ["(no label)", unlabeled.rows, *[unlabeled.median(n) for n in REPO_MEDIANS]]
        )
        return out

    exported = _export(request, scope, "labels", {"labels": table})
    if exported:
        return exported
    breakdown = table()
    breakdown.total = len(breakdown.rows)
    top = breakdown.rows[:10]
    chart = charts.bar_chart(
        "labels",
        "Merged PRs per label",
        [str(row[0]) for row in top],
        [charts.Series("merged PRs", [row[1] for row in top])],
    )
    context = {**_base(scope, "labels"), "table": breakdown, "chart": chart}
    return render(request, "dashboard/lead/labels.html", context)


# --- CI -----------------------------------------------------------------------------------------


@login_required
def ci(request: HttpRequest, slug: str) -> HttpResponse:
    """Per check: runs, failures, median duration; and the checks that failed then passed on
    the same commit (flaky), over the check runs of the PRs created in range."""
    scope = _scope(request, slug)
    runs = scope.narrow(
        PRCheckRun.objects.filter(
            pull_request__team=scope.team,
            pull_request__pr_created_at__gte=scope.flt.start,
            pull_request__pr_created_at__lt=scope.flt.end,
        ),
        "pull_request__",
    ).order_by()
    # Stored check runs are those of the PR's last commit (GitHub's status rollup lists every
    # run of the commit, re-runs included), so runs of one check on one PR ran on the same
    # commit; check-run ids grow, so a higher id is a later run. Flaky: the check's first
    # failure on the PR has a lower id than its last success. One row per (PR, check), by
    # aggregation rather than a correlated subquery per run.
    failed_on = runs.filter(conclusion__in=FAILED).values("pull_request")
    flaky_pairs = (
        runs.filter(pull_request__in=failed_on)
        .values("pull_request", "name")
        .annotate(
            first_failure=Min("github_check_run_id", filter=Q(conclusion__in=FAILED)),
            last_success=Max("github_check_run_id", filter=Q(conclusion="success")),
        )
        .filter(first_failure__lt=F("last_success"))
    )

    def checks_table() -> Table:
        # Per (PR, check) first, then per check: the PR count and the flaky count come out of
        # plain sums, no COUNT(DISTINCT) sort over every run.
        per_pair = runs.values("pull_request", "name").annotate(
            n_runs=Count("id"),
            n_completed=Count("id", filter=Q(status="completed")),
            n_ok=Count("id", filter=Q(conclusion="success")),
            n_failed=Count("id", filter=Q(conclusion__in=FAILED)),
            first_failure=Min("github_check_run_id", filter=Q(conclusion__in=FAILED)),
            last_success=Max("github_check_run_id", filter=Q(conclusion="success")),
        )
        sql, params = per_pair.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, SUM(n_runs), COUNT(*), SUM(n_completed), SUM(n_ok), SUM(n_failed), "
                "SUM(CASE WHEN first_failure < last_success THEN 1 ELSE 0 END) "
                f"FROM ({sql}) pairs GROUP BY name ORDER BY 2 DESC, name",
                params,
            )
            counts = [
                dict(zip(("name", "runs", "prs", "completed", "ok", "failed", "flaky"),
                         map(_int, row), strict=True))
                for row in cursor.fetchall()
            ]  # fmt: skip
        durations = grouped_percentiles(
            runs.filter(status="completed"),
            "name",
            {"duration": "duration_seconds"},
            (MEDIAN, P75),
        )
        out = Table(
            "checks",
            ["check", "runs", "PRs", "success rate", "failures", "median duration (min)",
             "p75 duration (min)", "flaky PRs"],
        )  # fmt: skip
        for row in counts:
            d = durations.get(row["name"], GroupFigures())
            out.rows.append(
                [row["name"], row["runs"], row["prs"], _share(row["ok"], row["completed"]),
                 row["failed"], _minutes(d.median("duration")), _minutes(d.p75("duration")),
                 row["flaky"]]
            )  # fmt: skip
        return out

    def flaky_table(limit: int | None) -> Table:
        qs = (
            flaky_pairs.values(
                "pull_request",
                "name",
                "pull_request__github_pr_id",
                "pull_request__github_repo",
                "pull_request__title",
                "pull_request__url",
            )
            .annotate(
                failed_at=Min("completed_at", filter=Q(conclusion__in=FAILED)),
                failures=Count("id", filter=Q(conclusion__in=FAILED)),
                passed_at=Max("completed_at", filter=Q(conclusion="success")),
            )
            .order_by("-failed_at", "name", "pull_request")
        )
        out = Table(
            "flaky",
            [
                "check",
                "number",
                "repository",
                "title",
                "failures",
                "first failed at",
                "last passed at",
                "url",
            ],
        )
        for row in qs[:limit] if limit else qs:
            url = row["pull_request__url"] or (
                f"https://github.com/{row['pull_request__github_repo']}/pull/"
                f"{row['pull_request__github_pr_id']}"
            )
            out.rows.append(
                [row["name"], row["pull_request__github_pr_id"], row["pull_request__github_repo"],
                 row["pull_request__title"], row["failures"], row["failed_at"],
                 row["passed_at"], url]
            )  # fmt: skip
        return out

    exported = _export(
        request, scope, "ci", {"checks": checks_table, "flaky": lambda: flaky_table(None)}
    )
    if exported:
        return exported
    checks = checks_table()
    checks.total = len(checks.rows)
    flaky = flaky_table(TABLE_ROWS)
    flaky.total = sum(row[7] for row in checks.rows)
    top = checks.rows[:10]
    chart = charts.bar_chart(
        "ci-durations",
        "Median duration per check (minutes, busiest checks)",
        [str(row[0]) for row in top],
        [charts.Series("median", [row[5] for row in top], "#8b5cf6")],
        unit=" min",
    )
    context = {**_base(scope, "ci"), "checks": checks, "flaky": flaky, "chart": chart}
    return render(request, "dashboard/lead/ci.html", context)


def _int(value: Any) -> Any:
    """SUM() comes back as Decimal on PostgreSQL; names stay strings."""
    return int(value) if isinstance(value, int | float | Decimal) else value


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 2)


# --- shared -------------------------------------------------------------------------------------


def _base(scope: Scope, active: str, **extra: str) -> dict[str, Any]:
    query = scope.query(**extra)
    return {
        "team": scope.team,
        "form": scope.form,
        "flt": scope.flt,
        "label": scope.label,
        "query": query,
        "nav_query": scope.query(),
        "active": active,
        "csv_query": (query + "&" if query else "") + "format=csv",
    }
