"""`pr_metrics`: a team's weekly PR metrics in the terminal (rich table), as JSON or as CSV.

    python manage.py pr_metrics --team SLUG [--weeks 12] [--repo OWNER/NAME] [--member LOGIN]
                                [--format table|json|csv]

Figures come from apps.metrics.aggregates (PRs merged in the range; see its docstring for the
definitions). Bad input (unknown team, malformed repository, non-positive weeks, a database
that is unreachable or not migrated) is one line on stderr and a non-zero exit.
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
from apps.metrics.models import PullRequest, Team

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
    "review_rounds",
    *(f"size_{b}" for b in SIZE_BUCKETS),
)


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
            flt = MetricsFilter.last_weeks(team, weeks, repo=repo, member=options["member"])
            report = team_report(flt)
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
            self.stdout.write(
                f"{team.slug}: {total.merged} PRs merged in {len(report.weeks)} week(s), "
                f"cycle time median {_hours(total.cycle_p50_hours)}, "
                f"first review median {_hours(total.review_p50_hours)}, "
                f"CI success {_pct(total.ci_success_rate)}"
            )
            if truncated:
                self.stdout.write(
                    f"{len(truncated)} merged PR(s) with fewer files or commits stored than they "
                    "have (GitHub lists at most 3,000 files and 250 commits of a PR): "
                    + ", ".join(truncated[:20])
                    + (" ..." if len(truncated) > 20 else "")
                )

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
            "Rounds",
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
        _pct(stats.reviewed_share),
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
                data["review_rounds"],
                *(stats.sizes.get(b, 0) for b in SIZE_BUCKETS),
            ]
        )
    return buffer.getvalue()


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}h"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"
