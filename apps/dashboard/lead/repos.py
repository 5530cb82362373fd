"""The repositories and labels pages: the PRs merged in range per repository and per label,
how many, and their stage medians."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q, Sum

from apps.dashboard import charts
from apps.dashboard.lead.scope import Scope
from apps.dashboard.lead.stages import STAGES
from apps.dashboard.lead.tables import Table, column_name, share
from apps.metrics.aggregates import merged_counts
from apps.metrics.percentiles import (
    P50,
    P75,
    GroupFigures,
    grouped_percentiles,
    label_rows_sql,
    percentiles_of_sql,
)

# The medians of both pages, in column order: stored per-PR column by name.
MEDIANS = {
    "cycle": "cycle_time_hours",
    "first_review": "time_to_first_review_hours",
    **{name: column for name, column, _ in STAGES},
}


def repos_table(scope: Scope) -> Table:
    """Table `repos`: per repository, busiest first, counts, rates and medians."""
    counts = {
        row["github_repo"]: row
        for row in scope.merged()
        .values("github_repo")
        .annotate(
            **merged_counts(),
            lines=Sum(F("additions") + F("deletions")),
        )
    }
    medians = grouped_percentiles(scope.merged(), "github_repo", MEDIANS, (P50, P75))
    out = Table(
        "repos",
        ["repository", "merged", "reviewed share", "CI success rate", "mean lines",
         "cycle median (h)", "cycle p75 (h)",
         *[f"{column_name(n)} median (h)" for n in list(MEDIANS)[1:]]],
    )  # fmt: skip
    for repo in sorted(counts, key=lambda r: (-counts[r]["merged"], r)):
        c, m = counts[repo], medians.get(repo, GroupFigures())
        out.rows.append(
            [repo, c["merged"], share(c["reviewed"], c["merged"]),
             share(c["ci_ok"], c["ci_known"]),
             round((c["lines"] or 0) / c["merged"], 1) if c["merged"] else None,
             m.median("cycle"), m.p75("cycle"),
             *[m.median(n) for n in list(MEDIANS)[1:]]]
        )  # fmt: skip
    return out


def repos_page(scope: Scope) -> dict[str, Any]:
    """The repositories table and a chart of the ten busiest repositories' stage medians."""
    repos = repos_table(scope)
    stage_index = {n: i for i, n in enumerate(list(MEDIANS))}
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
    return {"table": repos, "chart": chart}


def labels_table(scope: Scope) -> Table:
    """Table `labels`: per label, most PRs first, then the PRs without a label."""
    conn, sql, params = label_rows_sql(scope.merged(), MEDIANS)
    per_label = percentiles_of_sql(conn, sql, params, list(MEDIANS))
    unlabeled = grouped_percentiles(
        scope.merged().filter(Q(labels=[]) | Q(labels__isnull=True)), None, MEDIANS
    ).get(0, GroupFigures())
    out = Table(
        "labels",
        ["label", "merged PRs", *[f"{column_name(n)} median (h)" for n in MEDIANS]],
    )
    for name in sorted(per_label, key=lambda n: (-per_label[n].rows, str(n).lower())):
        figures = per_label[name]
        out.rows.append([name, figures.rows, *[figures.median(n) for n in MEDIANS]])
    out.rows.append(["(no label)", unlabeled.rows, *[unlabeled.median(n) for n in MEDIANS]])
    return out


def labels_page(scope: Scope) -> dict[str, Any]:
    """The labels table and a chart of the ten labels with most merged PRs."""
    breakdown = labels_table(scope)
    breakdown.total = len(breakdown.rows)
    top = breakdown.rows[:10]
    chart = charts.bar_chart(
        "labels",
        "Merged PRs per label",
        [str(row[0]) for row in top],
        [charts.Series("merged PRs", [row[1] for row in top])],
    )
    return {"table": breakdown, "chart": chart}
