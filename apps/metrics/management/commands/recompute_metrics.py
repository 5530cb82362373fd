"""`recompute_metrics`: recompute the stored per-PR metrics from the stored reviews, commits and
check runs (after a metric definition changes), for one team, one repository or everything.

    python manage.py recompute_metrics [--team SLUG] [--repo OWNER/NAME]

Only rows whose values change are written (apps.metrics.pr_metrics.recompute_pr_metrics).
"""

from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from apps.metrics.models import PullRequest, Team
from apps.metrics.pr_metrics import recompute_pr_metrics

REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class Command(BaseCommand):
    help = "Recompute the stored per-PR metrics (cycle time, review time, rounds, CI, size)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", help="Only this team (slug); default: every team.")
        parser.add_argument("--repo", help="Only this repository (OWNER/NAME).")

    def handle(self, *args: Any, **options: Any) -> None:
        repo = options["repo"]
        if repo is not None and not REPO_RE.match(repo):
            raise CommandError(f"--repo must look like OWNER/NAME, got {repo!r}")
        try:
            qs = PullRequest.objects.all()
            if options["team"]:
                team = Team.objects.filter(slug=options["team"]).first()
                if team is None:
                    raise CommandError(f"unknown team {options['team']!r}")
                qs = qs.filter(team=team)
            if repo:
                qs = qs.filter(github_repo=repo)
            total = qs.count()
            changed = recompute_pr_metrics(qs)
        except DatabaseError as exc:
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise CommandError(
                f"database error ({first_line}); is it reachable and migrated (manage.py migrate)?"
            ) from None
        self.stdout.write(f"recomputed metrics of {total} PRs: {changed} changed")
