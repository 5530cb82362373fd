"""The tables of the lead pages: shown as HTML (the first TABLE_ROWS rows) and as CSV (every row).

A page hands `csv_export` its tables as callables so that a CSV request builds only the table
it asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse

from apps.dashboard.exports import csv_response
from apps.dashboard.lead.scope import Scope
from apps.metrics.models import PullRequest

TABLE_ROWS = 50


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


def csv_export(
    request: HttpRequest, scope: Scope, page: str, tables: dict[str, Callable[[], Table]]
) -> HttpResponse | None:
    """The CSV of the table the URL asks for (every row), or None for the HTML page."""
    if request.GET.get("format") != "csv":
        return None
    wanted = request.GET.get("table")
    if wanted is None:
        return None
    if wanted not in tables:
        raise Http404(f"no table {wanted!r} on this page")
    table = tables[wanted]()
    return csv_response(f"{scope.team.slug}-{page}-{wanted}", table.header, table.rows)


def pr_url(pr: PullRequest | dict[str, Any]) -> str:
    """The PR on GitHub: its stored URL when it is an http(s) one (never `javascript:`)."""
    from apps.metrics.pipeline.sanitise import is_web_url

    get = pr.get if isinstance(pr, dict) else lambda k: getattr(pr, k)
    url = get("url")
    if url and is_web_url(url):
        return url
    return f"https://github.com/{get('github_repo')}/pull/{get('github_pr_id')}"


def column_name(column: str) -> str:
    """A figure's name in a column header ("first_review" reads "time to first review")."""
    return "time to first review" if column == "first_review" else column.replace("_", " ")


def share(part: int, whole: int) -> float | None:
    """part / whole to 4 places; None (unknown, not 0 %) when the whole is 0."""
    return round(part / whole, 4) if whole else None
