"""Dashboard date ranges from the URL: validated, bounded, never a 500 or seconds of CPU."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.dashboard.synthetic import SyntheticTeam
from apps.dashboard.views import FIRST_DAY, MAX_DAYS_AHEAD, date_range_problem

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("page", ["/teams/acme/", "/teams/acme/prs/"])
@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("start=2026-01-01&end=9999-12-31", "The end date 9999-12-31 is out of range"),
        ("start=0001-01-02&end=2026-01-01", "The start date 0001-01-02 is out of range"),
        ("start=0001-01-01&end=9999-12-31", "The start date 0001-01-01 is out of range"),
        ("start=2026-02-01&end=2026-01-01", "The end date is before the start date."),
        ("start=10000-01-01&end=2026-01-01", "Enter a valid date."),
    ],
)
def test_an_out_of_range_date_is_a_clear_form_error_not_a_500(
    client_in: Client, acme: SyntheticTeam, page: str, query: str, error: str
) -> None:
    started = time.process_time()
    response = client_in.get(f"{page}?{query}")
    spent = time.process_time() - started
    assert response.status_code == 200
    html = response.content.decode()
    assert error in html
    assert "Showing the last 12 weeks." in html
    assert spent < 2.0, f"{page}?{query} took {spent:.2f} s of CPU"


def test_the_widest_range_allowed_costs_well_under_a_second(
    client_in: Client, acme: SyntheticTeam
) -> None:
    last = timezone.now().date() + timedelta(days=MAX_DAYS_AHEAD)
    started = time.process_time()
    response = client_in.get(f"/teams/acme/?start={FIRST_DAY.isoformat()}&end={last.isoformat()}")
    spent = time.process_time() - started
    assert response.status_code == 200
    assert "out of range" not in response.content.decode()
    assert spent < 1.5, f"the widest range took {spent:.2f} s of CPU"


def test_the_date_helper_names_the_bound_that_was_crossed() -> None:
    today = date(2026, 6, 1)
    assert date_range_problem(date(2020, 1, 1), date(2026, 6, 1), today) == ""
    assert date_range_problem(None, None, today) == ""
    assert "2007-12-31 is out of range" in date_range_problem(date(2007, 12, 31), None, today)
    assert "from 2008-01-01 to 2027-06-02" in date_range_problem(None, date(2027, 6, 3), today)


@pytest.mark.parametrize(
    "url", ["/sync/?team=%00", "/teams/acme/?repo=a%00b", "/teams/acme/prs/?start=%00", "/%00/"]
)
def test_a_nul_anywhere_in_a_url_is_a_bad_request_not_a_500(
    client_in: Client, acme: SyntheticTeam, url: str
) -> None:
    response = client_in.get(url)
    assert response.status_code == 400
    assert b"NUL characters are not allowed" in response.content
