"""The team lead's pages: cycle-time stages, needs attention, people, repositories, labels, CI.

Every page needs a logged-in user, takes the team page's filters plus a label, says which
date its range counts PRs by, and exports each of its tables as CSV
(`?format=csv&table=<id>`, the "CSV" link by each table). What each page shows is computed in
apps.dashboard.lead (one module per page); these views read the scope, answer a CSV request
with the one table it names, and render the rest.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from apps.dashboard.lead import repos as lead_repos
from apps.dashboard.lead import stages as lead_stages
from apps.dashboard.lead.attention import OpenPRs
from apps.dashboard.lead.ci import CheckRuns
from apps.dashboard.lead.people import Person, people_table
from apps.dashboard.lead.scope import STALE_DAYS, base_context, scope_for, stale_days
from apps.dashboard.lead.tables import TABLE_ROWS, csv_export
from apps.metrics.models import TeamMember

# Most queries each page may take whatever the number of PRs (session and user included):
# asserted by apps/dashboard/tests/test_lead_views.py and by bench/bench_dashboard.py at 20,000.
QUERY_BUDGETS = {
    "stages": 8,
    "attention": 15,
    "people": 10,
    "person": 14,
    "repos": 10,
    "labels": 10,
    "ci": 12,
}


@login_required
def stages(request: HttpRequest, slug: str) -> HttpResponse:
    """Cycle time split into coding, pickup, review and merge, per week; changes on each card."""
    scope = scope_for(request, slug)
    tables = {"weeks": lambda: lead_stages.weeks_table(scope)}
    if (exported := csv_export(request, scope, "stages", tables)) is not None:
        return exported
    context = {**base_context(scope, "stages"), **lead_stages.page(scope)}
    return render(request, "dashboard/lead/stages.html", context)


@login_required
def attention(request: HttpRequest, slug: str) -> HttpResponse:
    """Open PRs that need someone now: unreviewed, changes requested, stale, long drafts."""
    scope = scope_for(request, slug)
    days = stale_days(request)
    now = timezone.now()
    open_prs = OpenPRs(scope, days, now)
    tables = {key: (lambda key=key: open_prs.table(key, None)) for key in open_prs.lists}
    if (exported := csv_export(request, scope, "attention", tables)) is not None:
        return exported
    context = {
        **base_context(scope, "attention", days=str(days)),
        "sections": open_prs.sections(TABLE_ROWS),
        "days": days,
        "day_choices": STALE_DAYS,
        "now": now,
    }
    return render(request, "dashboard/lead/attention.html", context)


@login_required
def people(request: HttpRequest, slug: str) -> HttpResponse:
    """Each member's PRs created and reviews given in range, linking to their page."""
    scope = scope_for(request, slug)
    tables = {"people": lambda: people_table(scope)}
    if (exported := csv_export(request, scope, "people", tables)) is not None:
        return exported
    everyone = people_table(scope)
    everyone.total = len(everyone.rows)
    context = {**base_context(scope, "people"), "table": everyone}
    return render(request, "dashboard/lead/people.html", context)


@login_required
def person(request: HttpRequest, slug: str, login: str) -> HttpResponse:
    """One member: their PRs (created in range), their reviews (submitted in range), their pickup."""
    scope = scope_for(request, slug)
    member = TeamMember.objects.filter(team=scope.team, github_login=login).first()
    if member is None:
        raise Http404("no such member")
    them = Person(scope, member)
    tables = {"prs": lambda: them.prs_table(None), "reviews": lambda: them.reviews_table(None)}
    page = f"person-{member.github_login}"
    if (exported := csv_export(request, scope, page, tables)) is not None:
        return exported
    context = {**base_context(scope, "people"), **them.page()}
    return render(request, "dashboard/lead/person.html", context)


@login_required
def repositories(request: HttpRequest, slug: str) -> HttpResponse:
    """The team's repositories side by side, over the PRs merged in range."""
    scope = scope_for(request, slug)
    tables = {"repos": lambda: lead_repos.repos_table(scope)}
    if (exported := csv_export(request, scope, "repositories", tables)) is not None:
        return exported
    context = {**base_context(scope, "repos"), **lead_repos.repos_page(scope)}
    return render(request, "dashboard/lead/repos.html", context)


@login_required
def labels(request: HttpRequest, slug: str) -> HttpResponse:
    """PRs merged in range per label: how many, and their stage medians."""
    scope = scope_for(request, slug)
    tables = {"labels": lambda: lead_repos.labels_table(scope)}
    if (exported := csv_export(request, scope, "labels", tables)) is not None:
        return exported
    context = {**base_context(scope, "labels"), **lead_repos.labels_page(scope)}
    return render(request, "dashboard/lead/labels.html", context)


@login_required
def ci(request: HttpRequest, slug: str) -> HttpResponse:
    """Per check: runs, failures, median duration; and the checks that failed then passed on
    the same commit (flaky), over the check runs of the PRs created in range."""
    scope = scope_for(request, slug)
    runs = CheckRuns(scope)
    tables = {"checks": runs.checks_table, "flaky": lambda: runs.flaky_table(None)}
    if (exported := csv_export(request, scope, "ci", tables)) is not None:
        return exported
    context = {**base_context(scope, "ci"), **runs.page()}
    return render(request, "dashboard/lead/ci.html", context)
