"""The stages page: per week and over the range, the median of each cycle-time stage.

The figures are apps.metrics.aggregates' (`weeks_total_and_previous`, `card_changes`) for the
page's filter, label included, so this page and the team page agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.dashboard import charts
from apps.dashboard.lead.scope import Scope
from apps.dashboard.lead.tables import Table, column_name
from apps.metrics.aggregates import (
    Change,
    WeekStats,
    card_changes,
    previous_period,
    weeks_and_total,
    weeks_total_and_previous,
)

# The stages of cycle time, in order, with their stored per-PR column and chart colour.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("coding", "coding_time_hours", "#93c5fd"),
    ("pickup", "pickup_time_hours", "#f59e0b"),
    ("review", "review_time_hours", "#10b981"),
    ("merge", "merge_time_hours", "#8b5cf6"),
)

# The medians the page shows, in the table's column order: PeriodStats attribute by name.
MEDIANS: dict[str, str] = {
    "coding": "coding_p50_hours",
    "pickup": "pickup_p50_hours",
    "review": "review_stage_p50_hours",
    "merge": "merge_p50_hours",
    "cycle": "cycle_p50_hours",
    "first_review": "review_p50_hours",
}


# The cards in page order: key, label, apps.metrics.aggregates.CARD_FIGURES name, style.
CARDS: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("merged", "Merged PRs", "merged", {"unit": "", "lower_is_better": False}),
    ("cycle", "Cycle time, median", "cycle_time_p50_hours", {}),
    ("first-review", "Time to first review, median", "time_to_first_review_p50_hours", {}),
    *((name, f"{name.title()} time, median", f"{name}_time_p50_hours", {}) for name, *_ in STAGES),
)


@dataclass(frozen=True, slots=True)
class StatCard(Change):
    """A stat card: a figure over the range against the previous period of equal length."""

    key: str = ""
    label: str = ""
    unit: str = "h"
    lower_is_better: bool = True

    @property
    def trend(self) -> str:
        """ "better", "worse" or "same" for the colour of the change."""
        if not self.delta:
            return "same"
        return "better" if (self.delta < 0) == self.lower_is_better else "worse"


def weeks_table(scope: Scope) -> Table:
    """Table `weeks`: per week of the range, merged PRs and each median."""
    return _weeks_table(weeks_and_total(scope.flt)[0])


def _weeks_table(weeks: list[WeekStats]) -> Table:
    table = Table(
        "weeks", ["week (Monday)", "merged", *[f"{column_name(n)} median (h)" for n in MEDIANS]]
    )
    for week in weeks:
        table.rows.append(
            [
                week.week.isoformat(),
                week.stats.merged,
                *[getattr(week.stats, attr) for attr in MEDIANS.values()],
            ]
        )
    return table


def page(scope: Scope) -> dict[str, Any]:
    """The page's cards (each against the previous period), chart and weekly table."""
    weeks, now, before = weeks_total_and_previous(scope.flt)
    changes = card_changes(now, before)
    cards = [
        StatCard(changes[figure].current, changes[figure].previous, key, label, **style)
        for key, label, figure, style in CARDS
    ]
    table = _weeks_table(weeks)
    chart = charts.bar_chart(
        "stages",
        "Stages per week (h, medians)",
        [w.week.strftime("%b %d") for w in weeks],
        [
            charts.Series(name, [row[2 + i] for row in table.rows], color)
            for i, (name, _, color) in enumerate(STAGES)
        ],
        unit=" h",
    )
    return {
        "cards": cards,
        "chart": chart,
        "table": table,
        "previous_start": previous_period(scope.flt).start,
    }
