"""`{% lead_table table "Heading" %}`: a table of the team lead's pages with its CSV link."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("dashboard/lead/_table.html", takes_context=True)
def lead_table(context: Any, table: Any, heading: str, empty: str = "") -> dict[str, Any]:
    return {
        "table": table,
        "heading": heading,
        "empty": empty,
        "cells": table.cells(context["team"].slug),
        "csv_query": context["csv_query"],
    }
