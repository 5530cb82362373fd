"""What a lead page covers, read from its URL: the team, the filter form and its label."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from apps.dashboard.views import DEFAULT_WEEKS, TeamFilterForm, _query_string
from apps.metrics.aggregates import MetricsFilter
from apps.metrics.models import PullRequest, Team, TeamMember
from apps.metrics.percentiles import label_rows_sql

# The staleness thresholds the "needs attention" page offers, in days.
STALE_DAYS = (3, 7, 14, 30)
DEFAULT_STALE_DAYS = 7


class LeadFilterForm(TeamFilterForm):
    """The team page's filters plus one label."""

    label = forms.ChoiceField(required=False)

    def __init__(self, data: Any, *, repos: list[str], members: list[str], labels: list[str]):
        super().__init__(data, repos=repos, members=members)
        self.fields["label"].choices = [("", "all labels")] + [(x, x) for x in labels]

    @property
    def label_value(self) -> str:
        return (self.cleaned_data.get("label") or "") if self.is_valid() else ""

    def to_filter(self, team: Team) -> MetricsFilter:
        """The team page's filter narrowed to the label."""
        return dataclasses.replace(super().to_filter(team), label=self.label_value or None)


@dataclass(frozen=True, slots=True)
class Scope:
    """What a page covers: the team, the form, its filter (range, repository, author, label)."""

    team: Team
    form: LeadFilterForm
    flt: MetricsFilter
    label: str

    def narrow(self, qs: QuerySet[Any], prefix: str = "") -> QuerySet[Any]:
        """`qs` narrowed to the repository, author and label (`prefix` reaches the PR)."""
        return self.flt.narrow(qs, prefix)

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


def scope_for(request: HttpRequest, slug: str) -> Scope:
    """The scope the URL asks for: the last DEFAULT_WEEKS weeks when it names no range."""
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


def stale_days(request: HttpRequest) -> int:
    """The staleness threshold the URL asks for (`days`), DEFAULT_STALE_DAYS unless offered."""
    try:
        days = int(request.GET.get("days", DEFAULT_STALE_DAYS))
    except ValueError:
        return DEFAULT_STALE_DAYS
    return days if days in STALE_DAYS else DEFAULT_STALE_DAYS


def base_context(scope: Scope, active: str, **extra: str) -> dict[str, Any]:
    """The context every lead page's template shares: team, filters, query strings, tab."""
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
