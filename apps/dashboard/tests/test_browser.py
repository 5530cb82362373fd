"""The dashboard in a real headless Chromium (Debian's, never a downloaded one) via Playwright.

Against pytest-django's live server with a synthetic team: log in, see the charts drawn, change
a filter, sort the PR list, open the sync status page. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from apps.dashboard.synthetic import SyntheticTeam, create_synthetic_team

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One Chromium for the module; a missing browser fails the test (never skips)."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run `make system-deps`"
    # Playwright's sync API runs an event loop in this thread for as long as the browser lives;
    # Django would refuse the ORM calls of the fixtures (set-up and the database flush after
    # each test) made from it. Set for this module's lifetime, restored after.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1360, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def seeded(browser: object, transactional_db: None) -> SyntheticTeam:
    User.objects.create_user("viewer", password="viewer-pass")
    return create_synthetic_team("acme", 400, seed=3)


def log_in(page, base_url: str, next_path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base_url}{next_path}")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "viewer")
    page.fill("#id_password", "viewer-pass")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(next_path) + r"$"))


def merged_count(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.inner_text('[data-metric="merged"]'))


def test_a_user_logs_in_sees_the_charts_filters_and_the_sync_page(
    page, live_server, seeded: SyntheticTeam
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    log_in(page, live_server.url, "/teams/acme/")

    # Every chart is drawn, with data points.
    charts = page.locator("svg.chart")
    assert charts.count() == 5
    for i in range(5):
        assert int(charts.nth(i).get_attribute("data-points")) > 0
        assert charts.nth(i).locator(".pt").count() > 0
    assert page.locator("svg.chart circle.pt").first.is_visible()
    # The stylesheet is served from our own static files.
    assert page.evaluate("getComputedStyle(document.querySelector('.card')).borderRadius") == "6px"
    everything = merged_count(page)
    assert everything > 0
    page.screenshot(path=str(ARTIFACTS / "dashboard-team.png"), full_page=True)

    # Change a filter: one repository.
    page.select_option("select[name=repo]", "acme/api")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"repo=acme%2Fapi"))
    assert "in acme/api" in page.inner_text("p.range")
    assert 0 < merged_count(page) < everything
    assert page.locator("svg.chart").count() == 5

    # The PR list keeps the filter and sorts by cycle time.
    page.click("text=Pull requests")
    page.wait_for_url(re.compile(r"/teams/acme/prs/\?.*repo=acme%2Fapi"))
    page.click("#prs th >> text=Cycle (h)")
    page.wait_for_url(re.compile(r"sort=-cycle"))
    repos = page.locator("#prs tbody tr td:nth-child(4)").all_inner_texts()
    assert repos and set(repos) == {"acme/api"}
    link = page.locator("#prs tbody tr td:first-child a").first.get_attribute("href")
    assert re.fullmatch(r"https://github.com/acme/api/pull/\d+", link)
    page.screenshot(path=str(ARTIFACTS / "dashboard-prs.png"), full_page=True)

    # The sync status page.
    page.click("nav >> text=Sync status")
    page.wait_for_url(re.compile(r"/sync/$"))
    rows = page.locator("#sync tbody tr")
    assert rows.count() == 3
    text = page.inner_text("#sync")
    assert "GitHub answered 502 for acme/infra" in text
    assert "75 PRs done" in text
    page.screenshot(path=str(ARTIFACTS / "dashboard-sync.png"), full_page=True)


def test_a_wrong_password_keeps_the_user_on_the_login_page(
    page, live_server, seeded: SyntheticTeam
) -> None:
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "viewer")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    assert "didn't match" in page.inner_text("section.login")
    assert "/accounts/login/" in page.url
