"""`pr_metrics`: a team's weekly PR metrics in the terminal (rich table), as JSON or as CSV.

    python manage.py pr_metrics --team SLUG [--weeks 12] [--repo OWNER/NAME] [--member LOGIN]
                                [--format table|json|csv]

Figures come from apps.metrics.aggregates (PRs merged in the range; see its docstring for the
definitions). Bad input (unknown team, repository or member, malformed repository, non-positive
weeks, a database that is unreachable or not migrated) is one line on stderr and a non-zero
exit. A range with no merged PR says why in one line (the newest merge, or none yet); review
figures of PRs with no review collected show as "no review data", never 0 %.

"Rounds/PR" (table) and `review_rounds_per_pr` (CSV) are the same figure: review rounds per
merged PR (`review_rounds_total` / merged). The CSV holds two tables, the weeks then (after an
empty line) the reviewers; the JSON has both too (`weeks`, `reviewers`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from django.db.models import Q
from rich.console import Console
from rich.table import Table

from apps.metrics.aggregates import (
    SIZE_BUCKETS,
    MetricsFilter,
    PeriodStats,
    TeamReport,
    team_report,
)
from apps.metrics.models import PullRequest, Team, TeamMember, TrackedRepository

REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
CSV_COLUMNS = (
    "week",
    "merged",
    "cycle_time_p50_hours",
    "cycle_time_p75_hours",
    "time_to_first_review_p50_hours",
    "reviewed_share",
    "ci_success_rate",
    "bot_share",
    "review_rounds_per_pr",
    "review_rounds_total",
    *(f"size_{b}" for b in SIZE_BUCKETS),
)
REVIEWER_COLUMNS = (
    "reviewer",
    "is_bot",
    "reviews",
    "prs_reviewed",
    "approvals",
    "changes_requested",
)
NO_REVIEW_DATA = "no review data"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise CommandError(f"--weeks must be a whole number, got {text!r}") from None
    if value < 1:
        raise CommandError(f"--weeks must be at least 1, got {value}")
    return value


class Command(BaseCommand):
    help = "Show a team's weekly PR metrics (merged PRs, cycle time, review time, CI, sizes)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", required=True, help="Team slug.")
        # Parsed in handle(), so a bad value is one line rather than argparse's usage block.
        parser.add_argument("--weeks", default="12", help="Weeks to show, this one included.")
        parser.add_argument("--repo", help="Only this repository (OWNER/NAME).")
        parser.add_argument("--member", help="Only PRs authored by this GitHub login.")
        parser.add_argument("--format", choices=("table", "json", "csv"), default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        weeks = _positive_int(str(options["weeks"]))
        repo = options["repo"]
        if repo is not None and not REPO_RE.match(repo):
            raise CommandError(f"--repo must look like OWNER/NAME, got {repo!r}")
        try:
            team = Team.objects.filter(slug=options["team"]).first()
            if team is None:
                known = ", ".join(Team.objects.order_by("slug").values_list("slug", flat=True)[:20])
                raise CommandError(
                    f"unknown team {options['team']!r}; known teams: {known or 'none (seed first)'}"
                )
            repo = _known_repo(team, repo)
            member = _known_member(team, options["member"])
            flt = MetricsFilter.last_weeks(team, weeks, repo=repo, member=member)
            report = team_report(flt)
            empty = _why_empty(flt) if report.total.merged == 0 else ""
            truncated = _truncated_prs(flt)
        except DatabaseError as exc:
            first_line = (
                str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            )
            raise CommandError(
                f"database error ({first_line}); is it reachable and migrated (manage.py migrate)?"
            ) from None

        fmt = options["format"]
        if fmt == "json":
            data = report.as_dict()
            data["truncated_prs"] = truncated
            self.stdout.write(json.dumps(data, indent=2))
        elif fmt == "csv":
            self.stdout.write(_as_csv(report), ending="")
        else:
            self.stdout.write(self._as_table(report), ending="")
            total = report.total
            reviewed = _pct(total.reviewed_share) if total.review_data else NO_REVIEW_DATA
            self.stdout.write(
                f"{team.slug}: {total.merged} PRs merged in {len(report.weeks)} week(s), "
                f"cycle time median {_hours(total.cycle_p50_hours)}, "
                f"first review median {_hours(total.review_p50_hours)}, "
                f"reviewed by someone else {reviewed}, "
                f"CI success {_pct(total.ci_success_rate)}"
            )
            if truncated:
                self.stdout.write(
                    f"{len(truncated)} merged PR(s) with fewer files or commits stored than they "
                    "have (GitHub lists at most 3,000 files and 250 commits of a PR): "
                    + ", ".join(truncated[:20])
                    + (" ..." if len(truncated) > 20 else "")
                )
        if empty:
            # Machine formats keep stdout to the data: the reason goes to stderr.
            (self.stdout if fmt == "table" else self.stderr).write(empty)

    def _as_table(self, report: TeamReport) -> str:
        flt = report.filter
        scope = flt.team.slug + (f" · {flt.repo}" if flt.repo else "")
        scope += f" · author {flt.member}" if flt.member else ""
        table = Table(
            title=f"PR metrics · {scope} · merged {flt.start:%Y-%m-%d} to {flt.end:%Y-%m-%d}"
        )
        for name in (
            "Week",
            "Merged",
            "Cycle p50",
            "Cycle p75",
            "1st review p50",
            "Reviewed",
            "CI pass",
            "Bots",
            "Rounds/PR",
        ):
            table.add_column(name, justify="left" if name == "Week" else "right")
        table.add_column("XS/S/M/L/XL", justify="right")
        for week in report.weeks:
            table.add_row(week.week.isoformat(), *_cells(week.stats))
        table.add_section()
        table.add_row("total", *_cells(report.total), style="bold")

        reviewers = Table(title="Reviewers (self-reviews excluded)")
        for name in ("Reviewer", "Reviews", "PRs", "Approvals", "Changes requested"):
            reviewers.add_column(name, justify="left" if name == "Reviewer" else "right")
        for r in report.reviewers[:15]:
            login = f"{r.login} (bot)" if r.is_bot else r.login
            reviewers.add_row(
                login,
                str(r.reviews),
                str(r.prs_reviewed),
                str(r.approvals),
                str(r.changes_requested),
            )

        buffer = io.StringIO()
        console = Console(file=buffer, width=140, force_terminal=self.stdout.isatty())
        console.print(table)
        if report.reviewers:
            console.print(reviewers)
        return buffer.getvalue()


def _truncated_prs(flt: MetricsFilter) -> list[str]:
    """ "owner/name#N" of the PRs in the report's range whose files or commits are truncated."""
    qs = PullRequest.objects.filter(
        team=flt.team, merged_at__gte=flt.start, merged_at__lt=flt.end
    ).filter(Q(files_complete=False) | Q(commits_complete=False))
    if flt.repo:
        qs = qs.filter(github_repo=flt.repo)
    if flt.member:
        qs = qs.filter(author__github_login=flt.member)
    rows = qs.order_by("github_repo", "github_pr_id").values_list("github_repo", "github_pr_id")
    return [f"{repo}#{number}" for repo, number in rows]


def _cells(stats: PeriodStats) -> list[str]:
    return [
        str(stats.merged),
        _hours(stats.cycle_p50_hours),
        _hours(stats.cycle_p75_hours),
        _hours(stats.review_p50_hours),
        _pct(stats.reviewed_share) if stats.review_data else "no data",
        _pct(stats.ci_success_rate),
        _pct(stats.bot_share),
        "-" if stats.mean_review_rounds is None else f"{stats.mean_review_rounds:.2f}",
        "/".join(str(stats.sizes.get(b, 0)) for b in SIZE_BUCKETS),
    ]


def _as_csv(report: TeamReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for label, stats in [(w.week.isoformat(), w.stats) for w in report.weeks] + [
        ("total", report.total)
    ]:
        data = stats.as_dict()
        writer.writerow(
            [
                label,
                data["merged"],
                *("" if data[k] is None else data[k] for k in CSV_COLUMNS[2:8]),
                "" if data["mean_review_rounds"] is None else data["mean_review_rounds"],
                data["review_rounds"],
                *(stats.sizes.get(b, 0) for b in SIZE_BUCKETS),
            ]
        )
    # The second table, after an empty line: reviewer load (self-reviews left out).
    writer.writerow([])
    writer.writerow(REVIEWER_COLUMNS)
    for r in report.reviewers:
        writer.writerow(
            [r.login, r.is_bot, r.reviews, r.prs_reviewed, r.approvals, r.changes_requested]
        )
    return buffer.getvalue()


def _known_repo(team: Team, repo: str | None) -> str | None:
    """`repo` as the team stores it (any case); unknown to the team: one line, non-zero exit."""
    if repo is None:
        return None
    stored = (
        PullRequest.objects.filter(team=team, github_repo__iexact=repo)
        .values_list("github_repo", flat=True)
        .first()
    ) or (
        TrackedRepository.objects.filter(team=team, full_name__iexact=repo)
        .values_list("full_name", flat=True)
        .first()
    )
    if stored is None:
        known = sorted(
            set(TrackedRepository.objects.filter(team=team).values_list("full_name", flat=True))
            | set(
                PullRequest.objects.filter(team=team)
                .order_by()
                .values_list("github_repo", flat=True)
                .distinct()
            )
        )
        raise CommandError(
            f"unknown repository {repo!r} for team {team.slug!r}; "
            f"its repositories: {_listing(known)}"
        )
    return stored


def _known_member(team: Team, login: str | None) -> str | None:
    """`login` as the team stores it (any case); not a member: one line, non-zero exit."""
    if login is None:
        return None
    stored = (
        TeamMember.objects.filter(team=team, github_login__iexact=login)
        .values_list("github_login", flat=True)
        .first()
    )
    if stored is None:
        count = TeamMember.objects.filter(team=team).count()
        raise CommandError(
            f"unknown member {login!r} of team {team.slug!r} ({count} members: GitHub logins "
            "of PR authors, reviewers and committers)"
        )
    return stored


def _why_empty(flt: MetricsFilter) -> str:
    """One line saying why no PR was merged in the range: the newest merge before it, or none."""
    qs = PullRequest.objects.filter(team=flt.team)
    if flt.repo:
        qs = qs.filter(github_repo=flt.repo)
    if flt.member:
        qs = qs.filter(author__github_login=flt.member)
    scope = flt.team.slug + (f" in {flt.repo}" if flt.repo else "")
    scope += f" by {flt.member}" if flt.member else ""
    stored = qs.count()
    if stored == 0:
        return f"no PR of {scope} is stored: seed or sync it first"
    newest = (
        qs.filter(merged_at__isnull=False)
        .order_by("-merged_at")
        .values_list("merged_at", flat=True)
        .first()
    )
    where = f"no PR of {scope} merged from {flt.start:%Y-%m-%d} to {flt.end:%Y-%m-%d}"
    if newest is None:
        return f"{where}: none of its {stored} stored PRs is merged yet"
    weeks = max(1, -(-(flt.end - newest).days // 7) + 1)
    return f"{where}: the newest was merged {newest:%Y-%m-%d} (--weeks {weeks} reaches it)"


def _listing(items: list[str], limit: int = 20) -> str:
    if not items:
        return "none (seed first)"
    more = f", ... ({len(items)} in all)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}h"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"
