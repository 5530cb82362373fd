"""The team lead's pages in a real headless Chromium (Debian's) via Playwright.

Each page loads with data and its chart drawn, filters narrow it, a CSV link downloads the
table's rows; the needs-attention list shows a PR that was added to fakehub and then synced
through the real sync code path. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from apps.dashboard.synthetic import SyntheticTeam, create_synthetic_team
from apps.dashboard.tests.test_browser import ARTIFACTS, browser, log_in, page  # noqa: F401
from apps.integrations.github.client import GitHubGraphQLClient
from apps.integrations.github.coordination import LocalCoordinator
from apps.metrics.models import Team, TrackedRepository
from apps.metrics.sync.run import sync_repository

pytestmark = pytest.mark.browser


@pytest.fixture
def seeded(browser: object, transactional_db: None) -> SyntheticTeam:  # noqa: F811
    User.objects.create_user("viewer", password="viewer-pass")
    return create_synthetic_team("acme", 400, seed=3)


def body_rows(tab, table: str) -> list[str]:  # type: ignore[no-untyped-def]
    return tab.locator(f"#{table} tbody tr").all_inner_texts()


def download_csv(tab, selector: str) -> list[list[str]]:  # type: ignore[no-untyped-def]
    with tab.expect_download() as info:
        tab.click(selector)
    path = info.value.path()
    return list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8"))))


def test_a_team_lead_walks_every_new_page_filters_and_downloads_csv(
    page,  # noqa: F811
    live_server,
    seeded: SyntheticTeam,
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    log_in(page, live_server.url, "/teams/acme/")

    # Stages: the stacked chart is drawn and every card compares with the period before.
    page.click(".team-nav >> text=Stages")
    page.wait_for_url(re.compile(r"/teams/acme/stages/"))
    chart = page.locator('svg[data-chart="stages"]')
    assert int(chart.get_attribute("data-points")) > 0
    assert chart.locator("rect.pt").first.is_visible()
    assert page.locator("[data-change]").count() == 7
    assert "merged" in page.inner_text("p.basis")
    merged_all = int(page.inner_text('[data-metric="merged"]'))
    page.screenshot(path=str(ARTIFACTS / "lead-stages.png"), full_page=True)

    # The label filter narrows the page and is kept in the navigation.
    page.select_option("select[name=label]", "bug")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"label=bug"))
    assert 0 < int(page.inner_text('[data-metric="merged"]')) < merged_all
    assert "labelled bug" in page.inner_text("p.basis")
    page.click(".team-nav >> text=Repositories")
    page.wait_for_url(re.compile(r"/repos/\?.*label=bug"))
    assert len(body_rows(page, "repos")) == 3
    assert int(page.locator('svg[data-chart="repo-stages"]').get_attribute("data-points")) > 0
    page.screenshot(path=str(ARTIFACTS / "lead-repos.png"), full_page=True)

    # Labels: the breakdown, and its CSV holds the same rows.
    page.click(".team-nav >> text=Labels")
    page.wait_for_url(re.compile(r"/labels/"))
    page.select_option("select[name=label]", "")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"/labels/\?"))
    shown = body_rows(page, "labels")
    rows = download_csv(page, 'a.csv[href*="table=labels"]')
    assert rows[0][:2] == ["label", "merged PRs"]
    assert len(rows) - 1 == len(shown) == 6  # five labels and "(no label)"

    # Needs attention: open PRs only, no range; CSV of the stale ones.
    page.click(".team-nav >> text=Needs attention")
    page.wait_for_url(re.compile(r"/attention/"))
    assert "open now" in page.inner_text("p.basis")
    assert len(body_rows(page, "waiting")) > 0
    page.select_option("select[name=days]", "3")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"days=3"))
    stale = download_csv(page, 'a.csv[href*="table=stale"]')
    assert stale[0][0] == "number" and len(stale) > 1
    assert all(r[-1].startswith("https://github.com/acme/") for r in stale[1:])
    page.screenshot(path=str(ARTIFACTS / "lead-attention.png"), full_page=True)

    # People, then one person's page from the list.
    page.click(".team-nav >> text=People")
    page.wait_for_url(re.compile(r"/people/"))
    page.click('#people a[href="/teams/acme/people/alice/"]')
    page.wait_for_url(re.compile(r"/people/alice/"))
    assert int(page.inner_text('[data-metric="created"]')) > 0
    assert int(page.inner_text('[data-metric="reviews"]')) > 0
    assert page.inner_text('[data-metric="reviewer-pickup"]').endswith(" h")
    assert len(body_rows(page, "reviews")) > 0
    page.screenshot(path=str(ARTIFACTS / "lead-person.png"), full_page=True)

    # CI: median durations drawn, flaky checks listed.
    page.click(".team-nav >> text=CI")
    page.wait_for_url(re.compile(r"/ci/"))
    assert int(page.locator('svg[data-chart="ci-durations"]').get_attribute("data-points")) == 4
    assert len(body_rows(page, "flaky")) > 0
    flaky = download_csv(page, 'a.csv[href*="table=flaky"]')
    assert {r[0] for r in flaky[1:]} <= {"lint", "unit tests", "integration", "build"}
    page.screenshot(path=str(ARTIFACTS / "lead-ci.png"), full_page=True)

    # The PR list: titles link to GitHub and have room to be read; the whole list as CSV.
    page.click(".team-nav >> text=Pull requests")
    page.wait_for_url(re.compile(r"/prs/"))
    title = page.locator("#prs tbody tr td.title a").first
    assert re.fullmatch(r"https://github.com/acme/\w+/pull/\d+", title.get_attribute("href"))
    assert page.locator("#prs tbody tr td.title").first.bounding_box()["width"] >= 300
    prs = download_csv(page, "a.csv")
    assert len(prs) - 1 == int(re.search(r"(\d+) PRs", page.inner_text(".states .count")).group(1))


def test_needs_attention_shows_a_pr_added_through_fakehub_after_the_next_sync(
    page,  # noqa: F811
    live_server,
    browser,  # noqa: F811
    transactional_db: None,
    fakehub_factory,
    settings,
) -> None:
    settings.REDIS_URL = ""  # the database lock; no Redis needed for one sync
    User.objects.create_user("viewer", password="viewer-pass")
    hub = fakehub_factory(synthetic=[("acme/rocket", 20)])
    team = Team.objects.create(name="Rocket", slug="rocket")
    tracked = TrackedRepository.objects.create(team=team, full_name="acme/rocket")

    def sync() -> None:
        client = GitHubGraphQLClient(
            "ghp_lead_tests", base_url=hub.url, coordinator=LocalCoordinator()
        )
        result = sync_repository(tracked, client, repoll=False)
        assert result.status == "ok", result.error

    sync()
    log_in(page, live_server.url, "/teams/rocket/attention/")
    assert "Brand new, nobody looked yet" not in page.inner_text("#waiting")

    hub.upsert_pr("acme/rocket", {"number": 21, "title": "Brand new, nobody looked yet"})
    sync()
    page.reload()
    row = page.locator("#waiting tbody tr", has_text="Brand new, nobody looked yet")
    assert row.count() == 1
    link = row.locator("td.title a")
    assert link.get_attribute("href").endswith("/acme/rocket/pull/21")
    assert "octocat" in row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "lead-attention-synced.png"), full_page=True)
