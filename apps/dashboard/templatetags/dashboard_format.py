"""Template filters for figures: hours, percentages, byte sizes; "—" for unknown values."""

from __future__ import annotations

from django import template

register = template.Library()

DASH = "—"


@register.filter
def hours(value: float | None) -> str:
    """12.345 -> "12.3 h"; over two days also in days ("52.0 h (2.2 d)"); None -> "—"."""
    if value is None:
        return DASH
    text = f"{value:.1f} h"
    return f"{text} ({value / 24:.1f} d)" if value >= 48 else text


@register.filter
def plain_hours(value: float | None) -> str:
    """12.345 -> "12.3"; None -> "—" (for table cells)."""
    return DASH if value is None else f"{value:.1f}"


@register.filter
def percent(value: float | None) -> str:
    """0.4567 -> "45.7%"; None -> "—"."""
    return DASH if value is None else f"{value * 100:.1f}%"


@register.filter
def filesize(value: int | None) -> str:
    """Bytes in KiB/MiB; None -> "—"."""
    if value is None:
        return DASH
    if value < 1024:
        return f"{value} B"
    if value < 1024 * 1024:
        return f"{value / 1024:.1f} KiB"
    return f"{value / (1024 * 1024):.1f} MiB"


@register.filter
def web_url(value: str | None) -> str:
    """`value` when it is an absolute http(s) URL, else "": a link never runs `javascript:`."""
    from apps.metrics.pipeline.sanitise import is_web_url

    return value if value and is_web_url(value) else ""


@register.filter
def permission_for(field: str) -> str:
    """The GitHub permission to grant so a refused PR field is answered (field_errors.py)."""
    from apps.integrations.github.field_errors import permission_for as grant

    return grant(str(field))
