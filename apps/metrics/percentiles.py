"""Grouped counts and percentiles computed by the database: the team page's and the lead pages'.

`grouped_percentiles` answers "per group (a week, a period, a repository, a check, a label):
how many rows, and the median (or any percentile) of each column" in ONE query whatever the
number of rows. percentile_cont semantics (linear interpolation between the two nearest ranks,
NULLs left out), portable across SQLite and PostgreSQL: a window query numbers each column's
known values within its group and counts them, and only the rows at the ranks percentile_cont
interpolates between come back (a few per group); on PostgreSQL its own percentile_cont
aggregate does the same in one pass, without the window sorts.

Labels are a JSON list per PR; `label_rows_sql` unnests them (SQLite's json_each, PostgreSQL's
jsonb_array_elements_text) so a label can be a group like any other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from django.db.models import Expression, F, QuerySet

# Percentiles as exact fractions (numerator, denominator) so the rank test stays in integers.
P50 = (1, 2)
P75 = (3, 4)


@dataclass(slots=True)
class GroupFigures:
    """One group's row count and percentiles: `values[(column, fraction)]` (absent = unknown)."""

    rows: int = 0
    known: dict[str, int] = field(default_factory=dict)
    values: dict[tuple[str, tuple[int, int]], float] = field(default_factory=dict)

    def median(self, column: str) -> float | None:
        return self.values.get((column, P50))

    def p75(self, column: str) -> float | None:
        return self.values.get((column, P75))


def grouped_percentiles(
    qs: QuerySet[Any],
    group: Expression | F | str | None,
    columns: dict[str, Expression | F | str],
    fractions: Sequence[tuple[int, int]] = (P50,),
) -> dict[Any, GroupFigures]:
    """Per value of `group` (None: one group for everything): row count and percentiles.

    `columns` maps an output name to a field name or an expression of `qs`'s model.
    """
    connection, sql, params = rows_sql(qs, group, columns)
    return percentiles_of_sql(connection, sql, params, list(columns), fractions)


def rows_sql(
    qs: QuerySet[Any],
    group: Expression | F | str | None,
    columns: dict[str, Expression | F | str],
) -> tuple[Any, str, list[Any]]:
    """The connection, SQL and parameters selecting `lg_grp` (`group`'s value; 0 for None) and
    `lg_v0, lg_v1, ...` (the `columns`, in order) per row of `qs`."""
    annotations: dict[str, Any] = {"lg_grp": _expr(group) if group is not None else F("pk")}
    names = ["lg_grp"]
    for index, expression in enumerate(columns.values()):
        annotations[f"lg_v{index}"] = _expr(expression)
        names.append(f"lg_v{index}")
    inner = qs.order_by().annotate(**annotations).values_list(*names)
    sql, params = inner.query.sql_with_params()
    if group is None:
        # One group: the pk column only gave the subquery a valid select; group on a constant.
        sql = f"SELECT 0 AS lg_grp, {', '.join(names[1:]) or 'NULL'} FROM ({sql}) lg_in"
    return connections[inner.db], sql, list(params)


def percentiles_of_sql(
    connection: Any,
    sql: str,
    params: list[Any],
    names: list[str],
    fractions: Sequence[tuple[int, int]] = (P50,),
) -> dict[Any, GroupFigures]:
    """The work of `grouped_percentiles` over raw SQL selecting `lg_grp, lg_v0, lg_v1, ...`."""
    if connection.vendor == "postgresql":
        return _native_percentiles(connection, sql, params, names, fractions)
    quote = connection.ops.quote_name
    parts = [f"{quote('lg_grp')}", f"ROW_NUMBER() OVER (PARTITION BY {quote('lg_grp')}) AS rn_any"]
    parts.append(f"COUNT(*) OVER (PARTITION BY {quote('lg_grp')}) AS n_any")
    tests = ["rn_any = 1"]
    for index in range(len(names)):
        col = quote(f"lg_v{index}")
        parts.append(col)
        parts.append(
            f"ROW_NUMBER() OVER (PARTITION BY {quote('lg_grp')} ORDER BY "
            f"CASE WHEN {col} IS NULL THEN 1 ELSE 0 END, {col}) AS rn{index}"
        )
        parts.append(f"COUNT({col}) OVER (PARTITION BY {quote('lg_grp')}) AS n{index}")
        for num, den in fractions:
            # 1-based ranks floor(k)+1 and ceil(k)+1 for k = num/den * (n - 1), in integers.
            tests.append(
                f"(n{index} > 0 AND (rn{index} = {num} * (n{index} - 1) / {den} + 1 OR "
                f"rn{index} = ({num} * (n{index} - 1) + {den - 1}) / {den} + 1))"
            )
    outer = (
        f"SELECT * FROM (SELECT {', '.join(parts)} FROM ({sql}) lg_src) lg_ranked "
        f"WHERE {' OR '.join(tests)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(outer, params)
        rows = cursor.fetchall()

    out: dict[Any, GroupFigures] = {}
    picked: dict[tuple[Any, int], dict[int, float]] = defaultdict(dict)
    for row in rows:
        group, _rn_any, n_any = row[0], row[1], row[2]
        figures = out.setdefault(group, GroupFigures(rows=int(n_any)))
        for index in range(len(names)):
            value, rank, known = row[3 + 3 * index : 6 + 3 * index]
            figures.known[names[index]] = int(known)
            if value is not None:
                picked[(group, index)][int(rank)] = float(value)
    for (group, index), ranks in picked.items():
        figures = out[group]
        n = figures.known[names[index]]
        for fraction in fractions:
            value = interpolate(ranks, n, fraction)
            if value is not None:
                figures.values[(names[index], fraction)] = value
    return out


def _native_percentiles(
    connection: Any,
    sql: str,
    params: list[Any],
    names: list[str],
    fractions: Sequence[tuple[int, int]],
) -> dict[Any, GroupFigures]:
    """PostgreSQL's own percentile_cont: one aggregate pass, no window sorts."""
    parts = ["lg_grp", "COUNT(*)"]
    for index in range(len(names)):
        parts.append(f"COUNT(lg_v{index})")
        for num, den in fractions:
            parts.append(
                f"percentile_cont({num}::float8 / {den}) WITHIN GROUP (ORDER BY lg_v{index})"
            )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)} FROM ({sql}) lg_src GROUP BY lg_grp", params)
        rows = cursor.fetchall()
    out: dict[Any, GroupFigures] = {}
    step = 1 + len(fractions)
    for row in rows:
        figures = out[row[0]] = GroupFigures(rows=int(row[1]))
        for index, name in enumerate(names):
            known, *values = row[2 + step * index : 2 + step * (index + 1)]
            figures.known[name] = int(known)
            for fraction, value in zip(fractions, values, strict=True):
                if value is not None:
                    figures.values[(name, fraction)] = float(value)
    return out


def interpolate(ranks: dict[int, float], n: int, fraction: tuple[int, int]) -> float | None:
    """percentile_cont(a/b) of n sorted values from the values at its two 1-based ranks."""
    if n < 1:
        return None
    num, den = fraction
    lo, rem = divmod(num * (n - 1), den)
    low = ranks.get(lo + 1)
    if low is None:
        return None
    if rem == 0:
        return low
    high = ranks.get(lo + 2)
    if high is None:
        return None
    return low + (rem / den) * (high - low)


def label_rows_sql(qs: QuerySet[Any], columns: dict[str, str]) -> tuple[Any, str, list[Any]]:
    """SQL selecting `lg_grp` (one label) and `lg_v0..` per (PR, label) of `qs`'s PRs."""
    connection, sql, params = rows_sql(qs, "labels", columns)
    values = ", ".join(f"lg_in.lg_v{i}" for i in range(len(columns))) or "NULL"
    if connection.vendor == "postgresql":
        unnest = "jsonb_array_elements_text(lg_in.lg_grp) AS lg_l(name)"
        label = "lg_l.name"
    else:
        unnest = "json_each(lg_in.lg_grp) AS lg_l"
        label = "lg_l.value"
    return connection, f"SELECT {label} AS lg_grp, {values} FROM ({sql}) lg_in, {unnest}", params


def _expr(value: Expression | F | str) -> Expression | F:
    return F(value) if isinstance(value, str) else value
