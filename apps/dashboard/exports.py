"""CSV downloads of the dashboard's tables (`?format=csv`): UTC timestamps, unknown as empty."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.http import HttpResponse


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> HttpResponse:
    """An attachment `filename`.csv with `header` and `rows` (None as an empty cell)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else csv_value(v) for v in row])
    return response


def csv_value(value: Any) -> Any:
    """One cell: datetimes in UTC ISO 8601, floats to 2 places, formula-like text quoted."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, float):
        return round(value, 2)
    text = value if isinstance(value, str) else None
    # A cell starting with = + - @ would be a formula in a spreadsheet: quote it as text.
    if text and text[0] in "=+-@":
        return "'" + text
    return value
