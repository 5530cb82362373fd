"""The CI page: per check, runs, failures and durations; and the checks that failed then passed
on the same commit (flaky), over the check runs of the PRs created in range."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, F, Max, Min, Q

from apps.dashboard import charts
from apps.dashboard.lead.scope import Scope
from apps.dashboard.lead.tables import TABLE_ROWS, Table, share
from apps.metrics.models import PRCheckRun
from apps.metrics.percentiles import P50, P75, GroupFigures, grouped_percentiles

# Conclusions of a check run that count as a failure (GitHub's CheckConclusionState, lower case).
FAILED = ("failure", "timed_out", "startup_failure")


class CheckRuns:
    """The check runs of a scope's PRs created in range."""

    def __init__(self, scope: Scope) -> None:
        self.runs = scope.narrow(
            PRCheckRun.objects.filter(
                pull_request__team=scope.team,
                pull_request__pr_created_at__gte=scope.flt.start,
                pull_request__pr_created_at__lt=scope.flt.end,
            ),
            "pull_request__",
        ).order_by()
        # Stored check runs are those of the PR's last commit (GitHub's status rollup lists
        # every run of the commit, re-runs included), so runs of one check on one PR ran on the
        # same commit; check-run ids grow, so a higher id is a later run. Flaky: the check's
        # first failure on the PR has a lower id than its last success. One row per (PR, check),
        # by aggregation rather than a correlated subquery per run.
        failed_on = self.runs.filter(conclusion__in=FAILED).values("pull_request")
        self.flaky_pairs = (
            self.runs.filter(pull_request__in=failed_on)
            .values("pull_request", "name")
            .annotate(
                first_failure=Min("github_check_run_id", filter=Q(conclusion__in=FAILED)),
                last_success=Max("github_check_run_id", filter=Q(conclusion="success")),
            )
            .filter(first_failure__lt=F("last_success"))
        )

    def checks_table(self) -> Table:
        """Table `checks`: per check, busiest first."""
        # Per (PR, check) first, then per check: the PR count and the flaky count come out of
        # plain sums, no COUNT(DISTINCT) sort over every run.
        per_pair = self.runs.values("pull_request", "name").annotate(
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
            self.runs.filter(status="completed"),
            "name",
            {"duration": "duration_seconds"},
            (P50, P75),
        )
        out = Table(
            "checks",
            ["check", "runs", "PRs", "success rate", "failures", "median duration (min)",
             "p75 duration (min)", "flaky PRs"],
        )  # fmt: skip
        for row in counts:
            d = durations.get(row["name"], GroupFigures())
            out.rows.append(
                [row["name"], row["runs"], row["prs"], share(row["ok"], row["completed"]),
                 row["failed"], _minutes(d.median("duration")), _minutes(d.p75("duration")),
                 row["flaky"]]
            )  # fmt: skip
        return out

    def flaky_table(self, limit: int | None) -> Table:
        """Table `flaky`: per (PR, check) that failed then passed, latest failure first."""
        qs = (
            self.flaky_pairs.values(
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

    def page(self) -> dict[str, Any]:
        """Both tables (the flaky one cut at TABLE_ROWS) and the busiest checks' durations."""
        checks = self.checks_table()
        checks.total = len(checks.rows)
        flaky = self.flaky_table(TABLE_ROWS)
        flaky.total = sum(row[7] for row in checks.rows)
        top = checks.rows[:10]
        chart = charts.bar_chart(
            "ci-durations",
            "Median duration per check (minutes, busiest checks)",
            [str(row[0]) for row in top],
            [charts.Series("median", [row[5] for row in top], "#8b5cf6")],
            unit=" min",
        )
        return {"checks": checks, "flaky": flaky, "chart": chart}


def _int(value: Any) -> Any:
    """SUM() comes back as Decimal on PostgreSQL; names stay strings."""
    return int(value) if isinstance(value, int | float | Decimal) else value


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 2)
