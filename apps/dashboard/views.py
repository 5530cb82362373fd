"""Dashboard pages: teams, a team's metrics with charts, its PR list, and the sync status.

Every page needs a logged-in user. The team page's figures come from apps.metrics.aggregates
(a handful of aggregation queries whatever the number of PRs); the PR list is paginated.

Size: over 400 lines because the team page, its PR list and their CSV downloads share one filter
form and one query string, and the sync status page reads the same team scope; the lead's pages
live apart (views_lead.py over apps/dashboard/lead/).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from apps.dashboard import charts
from apps.dashboard.exports import csv_response
from apps.metrics.aggregates import SIZE_BUCKETS, MetricsFilter, TeamReport, label_q, team_report
from apps.metrics.models import PullRequest, Team, TeamMember, TrackedRepository
from apps.metrics.seeding.cache import PRCache, get_cache_path, team_cache_dir

WEEK_CHOICES = (4, 8, 12, 26, 52)
DEFAULT_WEEKS = 12
PAGE_SIZE = 50


class TeamFilterForm(forms.Form):
    """The team page's and PR list's filters; `start`/`end` (both) override `weeks`."""

    weeks = forms.TypedChoiceField(
        choices=[(w, f"last {w} weeks") for w in WEEK_CHOICES],
        coerce=int,
        required=False,
        empty_value=DEFAULT_WEEKS,
    )
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    repo = forms.ChoiceField(required=False)
    member = forms.ChoiceField(required=False)

    def __init__(self, data: Any, *, repos: list[str], members: list[str]) -> None:
        super().__init__(data)
        self.fields["repo"].choices = [("", "all repositories")] + [(r, r) for r in repos]
        self.fields["member"].choices = [("", "all authors")] + [(m, m) for m in members]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        problem = date_range_problem(start, end)
        if problem:
            raise forms.ValidationError(problem)
        if bool(start) != bool(end):
            raise forms.ValidationError("Give both a start and an end date, or neither.")
        if start and end and end < start:
            raise forms.ValidationError("The end date is before the start date.")
        return data

    def to_filter(self, team: Team) -> MetricsFilter:
        """The filter for valid data; the default (last 12 weeks) for invalid data."""
        data = self.cleaned_data if self.is_valid() else {}
        repo, member = data.get("repo") or None, data.get("member") or None
        if data.get("start") and data.get("end"):
            return MetricsFilter.between(team, data["start"], data["end"], repo=repo, member=member)
        return MetricsFilter.last_weeks(
            team, data.get("weeks") or DEFAULT_WEEKS, repo=repo, member=member
        )


# GitHub opened in 2008: no pull request is older. A range is bounded by that and by a year
# from today, so a URL cannot ask for 100,000 weeks (each one a chart point and a loop turn).
FIRST_DAY = date(2008, 1, 1)
MAX_DAYS_AHEAD = 366


def date_range_problem(start: date | None, end: date | None, today: date | None = None) -> str:
    """Why the dashboard cannot show [start, end] ("" when it can): the form error's text."""
    today = today or timezone.now().date()
    last = today + timedelta(days=MAX_DAYS_AHEAD)
    for name, day in (("start", start), ("end", end)):
        if day is not None and not FIRST_DAY <= day <= last:
            return (
                f"The {name} date {day.isoformat()} is out of range: dates go from "
                f"{FIRST_DAY.isoformat()} to {last.isoformat()}."
            )
    return ""


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """Every team, with its PR and repository counts."""
    pr_count = (
        PullRequest.objects.filter(team=OuterRef("pk"))
        .order_by()
        .values("team")
        .annotate(n=Count("id"))
        .values("n")
    )
    repo_count = (
        TrackedRepository.objects.filter(team=OuterRef("pk"))
        .order_by()
        .values("team")
        .annotate(n=Count("id"))
        .values("n")
    )
    teams = Team.objects.annotate(
        pr_count=Coalesce(Subquery(pr_count), 0), repo_count=Coalesce(Subquery(repo_count), 0)
    ).order_by("name")
    return render(request, "dashboard/index.html", {"teams": teams})


@login_required
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A team's figures over the chosen range, weekly charts and reviewer load."""
    team = get_object_or_404(Team, slug=slug)
    form = _filter_form(request, team)
    report = team_report(form.to_filter(team))
    if request.GET.get("format") == "csv":
        return team_csv(team, report, request.GET.get("table", ""))
    context = {
        "team": team,
        "form": form,
        "report": report,
        "total": report.total,
        "charts": _team_charts(report),
        "query": _query_string(form),
    }
    return render(request, "dashboard/team.html", context)


# Sort keys of the PR list -> the model ordering; "-" prefix for descending.
SORTS: dict[str, str] = {
    "number": "github_pr_id",
    "created": "pr_created_at",
    "merged": "merged_at",
    "cycle": "cycle_time_hours",
    "review": "time_to_first_review_hours",
    "size": "lines",
    "rounds": "review_rounds",
    "author": "author__github_login",
    "repo": "github_repo",
}


@dataclass(frozen=True, slots=True)
class Column:
    """A sortable column header of the PR list."""

    key: str
    label: str
    query: str
    arrow: str


@login_required
def pr_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The team's PRs, filtered like the team page (by creation date), sortable, paginated."""
    team = get_object_or_404(Team, slug=slug)
    form = _filter_form(request, team)
    flt = form.to_filter(team)
    state = request.GET.get("state", "")
    sort = request.GET.get("sort", "-created")
    if sort.lstrip("-") not in SORTS:
        sort = "-created"
    field = SORTS[sort.lstrip("-")]
    order = (
        F(field).desc(nulls_last=True) if sort.startswith("-") else F(field).asc(nulls_last=True)
    )

    qs = PullRequest.objects.filter(
        team=team, pr_created_at__gte=flt.start, pr_created_at__lt=flt.end
    ).select_related("author")
    if flt.repo:
        qs = qs.filter(github_repo=flt.repo)
    if flt.member:
        qs = qs.filter(author__github_login=flt.member)
    if state in PullRequest.State.values:
        qs = qs.filter(state=state)
    else:
        state = ""
    label_filter = request.GET.get("label", "")
    if label_filter:
        qs = qs.filter(label_q(label_filter, connection.vendor))
    qs = qs.annotate(lines=F("additions") + F("deletions")).order_by(order, "-id")
    if request.GET.get("format") == "csv":
        return pr_list_csv(team, qs)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))

    base = _query_string(form, state=state, label=label_filter)
    columns = []
    for key, label in (
        ("number", "#"),
        ("repo", "Repository"),
        ("author", "Author"),
        ("created", "Created"),
        ("merged", "Merged"),
        ("cycle", "Cycle (h)"),
        ("review", "1st review (h)"),
        ("size", "Lines"),
        ("rounds", "Rounds"),
    ):
        next_sort = key if sort == f"-{key}" else f"-{key}"
        arrow = "▼" if sort == f"-{key}" else "▲" if sort == key else ""
        columns.append(Column(key, label, _join(base, sort=next_sort), arrow))
    context = {
        "team": team,
        "form": form,
        "page": page,
        "columns": columns,
        "state": state,
        "states": PullRequest.State.choices,
        "page_query": _join(base, sort=sort),
        "query": _query_string(form, label=label_filter),
        "label": label_filter,
    }
    return render(request, "dashboard/pr_list.html", context)


def team_csv(team: Team, report: TeamReport, table: str) -> HttpResponse:
    """One table of the team page as CSV: "weeks", "sizes" or "reviewers"."""
    if table == "weeks":
        rows = [{"week": w.week.isoformat(), **w.stats.as_dict()} for w in report.weeks]
        header = [k for k in rows[0] if k != "sizes"] if rows else ["week"]
        values = [[row[k] for k in header] for row in rows]
    elif table == "sizes":
        header, values = ["size", "merged PRs"], [list(kv) for kv in report.total.sizes.items()]
    elif table == "reviewers":
        header = ["reviewer", "bot", "reviews", "PRs", "approvals", "changes requested"]
        values = [
            [r.login, r.is_bot, r.reviews, r.prs_reviewed, r.approvals, r.changes_requested]
            for r in report.reviewers
        ]
    else:
        raise Http404(f"no table {table!r} on this page")
    return csv_response(f"{team.slug}-{table}", header, values)


PR_CSV_FIELDS = (
    "github_pr_id", "github_repo", "title", "state", "is_draft", "author__github_login",
    "pr_created_at", "merged_at", "closed_at", "cycle_time_hours", "review_time_hours",
    "lines", "size_bucket", "review_rounds", "ci_passed", "url",
)  # fmt: skip


def pr_list_csv(team: Team, qs: Any) -> HttpResponse:
    """Every PR of the filtered, sorted list (not only the page) as CSV."""
    rows = (
        [*(row[f] for f in PR_CSV_FIELDS[:-1]),
         row["url"] or f"https://github.com/{row['github_repo']}/pull/{row['github_pr_id']}"]
        for row in qs.values(*PR_CSV_FIELDS).iterator()
    )  # fmt: skip
    header = [f.replace("author__github_login", "author") for f in PR_CSV_FIELDS]
    return csv_response(f"{team.slug}-pull-requests", header, rows)


@dataclass(frozen=True, slots=True)
class CacheState:
    """What the seeding cache holds for one repository: its file, and from the file's header
    and trailer (no PR is read) how many PRs and with which limits; `prs` None: unreadable."""

    exists: bool
    size_bytes: int = 0
    modified_at: datetime | None = None
    prs: int | None = None
    limits: str = ""


@login_required
def sync_status(request: HttpRequest) -> HttpResponse:
    """Per tracked repository: last sync, status, error, API budget, checkpoint and cache."""
    repos = TrackedRepository.objects.select_related("team").order_by("team__slug", "full_name")
    team_slug = request.GET.get("team", "")
    if team_slug:
        repos = repos.filter(team__slug=team_slug)
    counts = {
        (row["team_id"], row["github_repo"]): row["n"]
        for row in PullRequest.objects.filter(Q(team__slug=team_slug) if team_slug else Q())
        .order_by()
        .values("team_id", "github_repo")
        .annotate(n=Count("id"))
    }
    rows = [
        {
            "repo": repo,
            "prs": counts.get((repo.team_id, repo.full_name), 0),
            "checkpoint": repo.checkpoint if isinstance(repo.checkpoint, dict) else None,
            "cache": _cache_state(repo.full_name, repo.team.slug),
        }
        for repo in repos
    ]
    context = {
        "rows": rows,
        "team_slug": team_slug,
        "now": timezone.now(),
        "cache_dir": settings.SEEDING_CACHE_DIR,
    }
    return render(request, "dashboard/sync_status.html", context)


def _cache_state(full_name: str, team_slug: str) -> CacheState:
    """The team's cache file of the repository where the seed writes it (SEEDING_CACHE_DIR), or
    the team-less file seeds wrote before caches were kept per team."""
    base = settings.SEEDING_CACHE_DIR
    for folder in (team_cache_dir(base, team_slug), Path(base)):
        path: Path = get_cache_path(full_name, folder)
        try:
            stat = path.stat()
        except OSError:
            continue
        modified = datetime.fromtimestamp(stat.st_mtime, tz=timezone.get_current_timezone())
        cache = PRCache.load(full_name, folder, quiet=True)
        limits = ""
        if cache is not None:
            parts = [f"max {cache.max_prs} PRs" if cache.max_prs else "no PR limit"]
            if cache.days_back:
                parts.append(f"last {cache.days_back} days")
            limits = ", ".join(parts)
        return CacheState(
            exists=True,
            size_bytes=stat.st_size,
            modified_at=modified,
            prs=cache.pr_count if cache is not None else None,
            limits=limits,
        )
    return CacheState(exists=False)


def _filter_form(request: HttpRequest, team: Team) -> TeamFilterForm:
    repos = sorted(
        set(
            PullRequest.objects.filter(team=team)
            .order_by()
            .values_list("github_repo", flat=True)
            .distinct()
        )
    )
    members = list(
        TeamMember.objects.filter(team=team)
        .order_by("github_login")
        .values_list("github_login", flat=True)
    )
    # Without a range in the URL (none at all, or only a repo/member/sort), the default range
    # applies, so the form shows the weeks the data really covers.
    data = request.GET.copy()
    if not data.get("weeks") and not data.get("start") and not data.get("end"):
        data["weeks"] = str(DEFAULT_WEEKS)
    return TeamFilterForm(data, repos=repos, members=members)


def _query_string(form: TeamFilterForm, **extra: str) -> str:
    """The form's valid values as a query string, so links keep the filters."""
    params: dict[str, str] = {}
    if form.is_valid():
        for name, value in form.cleaned_data.items():
            if value in (None, ""):
                continue
            params[name] = value.isoformat() if isinstance(value, date) else str(value)
    params.update({k: v for k, v in extra.items() if v})
    return urlencode(params)


def _join(query: str, **extra: str) -> str:
    more = urlencode(extra)
    return f"{query}&{more}" if query else more


def _team_charts(report: TeamReport) -> list[Any]:
    labels = [w.week.strftime("%b %d") for w in report.weeks]
    weeks = [w.stats for w in report.weeks]

    def pct(value: float | None) -> float | None:
        return None if value is None else round(value * 100, 1)

    return [
        charts.bar_chart(
            "merged",
            "Merged PRs per week",
            labels,
            [charts.Series("merged", [s.merged for s in weeks])],
        ),
        charts.line_chart(
            "cycle-time",
            "Cycle time (hours, created to merged)",
            labels,
            [
                charts.Series("median", [s.cycle_p50_hours for s in weeks]),
                charts.Series("p75", [s.cycle_p75_hours for s in weeks]),
            ],
            unit=" h",
        ),
        charts.line_chart(
            "first-review",
            "Time to first review (hours, median)",
            labels,
            [charts.Series("median", [s.review_p50_hours for s in weeks], "#10b981")],
            unit=" h",
        ),
        charts.line_chart(
            "ci",
            "CI success rate (%)",
            labels,
            [charts.Series("CI passed", [pct(s.ci_success_rate) for s in weeks], "#8b5cf6")],
            unit="%",
            y_max=100,
        ),
        charts.bar_chart(
            "sizes",
            "PR size per week (lines changed)",
            labels,
            [
                charts.Series(bucket, [s.sizes.get(bucket, 0) for s in weeks], color)
                for bucket, color in zip(
                    SIZE_BUCKETS,
                    ("#93c5fd", "#60a5fa", "#3b82f6", "#1d4ed8", "#1e3a8a"),
                    strict=True,
                )
            ],
        ),
    ]
