"""Dashboard pages through Django's test client: login, figures, filters, sorting, query counts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from apps.dashboard.synthetic import SyntheticTeam
from apps.dashboard.views import SORTS
from apps.metrics.models import Team, TrackedRepository
from apps.metrics.seeding.cache import get_cache_path
from apps.metrics.tests.factories import PullRequestFactory, TeamFactory, TeamMemberFactory

pytestmark = pytest.mark.django_db


def charts_in(html: str) -> dict[str, int]:
    """chart id -> number of data points drawn."""
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r'data-chart="([^"]+)" data-points="(\d+)"', html)
    }


@pytest.mark.parametrize("path", ["/", "/teams/acme/", "/teams/acme/prs/", "/sync/"])
def test_every_page_sends_anonymous_visitors_to_the_login_page(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/accounts/login/?next={path}")


def test_the_login_page_logs_a_user_in(client: Client, user: User) -> None:
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert 'name="username"' in page.content.decode()
    response = client.post("/accounts/login/", {"username": "viewer", "password": "viewer-pass"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_the_index_lists_teams_with_their_counts(client_in: Client, acme: SyntheticTeam) -> None:
    TeamFactory(slug="empty", name="Empty team")
    html = client_in.get("/").content.decode()
    assert 'href="/teams/acme/"' in html
    assert "Empty team" in html
    assert f'<td class="num">{acme.prs}</td>' in html


def test_the_team_page_draws_every_chart_within_the_query_budget(
    client_in: Client, acme: SyntheticTeam, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(19):
        response = client_in.get("/teams/acme/")
    assert response.status_code == 200
    drawn = charts_in(response.content.decode())
    assert set(drawn) == {"merged", "cycle-time", "first-review", "ci", "sizes"}
    assert all(points > 0 for points in drawn.values()), drawn


def test_the_team_page_shows_hand_computed_figures(client_in: Client) -> None:
    team = TeamFactory(slug="small", name="Small")
    dev = TeamMemberFactory(team=team, github_login="dev")
    merged = timezone.now() - timedelta(hours=1)
    for number, hours in enumerate((2, 4, 9), start=1):
        PullRequestFactory(
            team=team,
            author=dev,
            github_pr_id=number,
            pr_created_at=merged - timedelta(hours=hours),
            merged_at=merged,
            cycle_time_hours=float(hours),
            ci_passed=number != 3,
        )
    html = client_in.get("/teams/small/?weeks=4").content.decode()
    assert re.search(r'data-metric="merged">3<', html)
    assert re.search(r'data-metric="cycle-p50">4.0 h<', html)
    assert "p75 6.5 h" in html
    assert re.search(r'data-metric="ci-rate">66.7%<', html)


def test_the_repository_filter_narrows_the_team_page(
    client_in: Client, acme: SyntheticTeam
) -> None:
    all_repos = client_in.get("/teams/acme/?weeks=12").content.decode()
    one_repo = client_in.get("/teams/acme/?weeks=12&repo=acme/api").content.decode()
    merged_all = int(re.search(r'data-metric="merged">(\d+)<', all_repos).group(1))
    merged_one = int(re.search(r'data-metric="merged">(\d+)<', one_repo).group(1))
    assert 0 < merged_one < merged_all
    assert "in <strong>acme/api</strong>" in one_repo


def test_a_date_range_overrides_the_weeks(client_in: Client, acme: SyntheticTeam) -> None:
    today = timezone.now().date()
    start = today - timedelta(days=13)
    html = client_in.get(f"/teams/acme/?start={start}&end={today}").content.decode()
    assert f"PRs merged {start}" in html
    # Two weeks and a day or two: at most three Mondays in range.
    assert len(re.findall(r"<circle class=\"pt\"[^>]*fill=\"#8b5cf6\"", html)) <= 3


def test_a_bad_filter_is_reported_and_the_defaults_are_shown(
    client_in: Client, acme: SyntheticTeam
) -> None:
    response = client_in.get("/teams/acme/?start=2024-05-01&weeks=12")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Give both a start and an end date" in html
    assert "Showing the last 12 weeks" in html
    assert client_in.get("/teams/acme/?repo=someone/else").status_code == 200


def test_an_unknown_team_is_a_404(client_in: Client) -> None:
    assert client_in.get("/teams/nobody/").status_code == 404


def test_the_pr_list_sorts_and_links_to_github(client_in: Client, acme: SyntheticTeam) -> None:
    html = client_in.get("/teams/acme/prs/?sort=-cycle&state=merged").content.decode()
    cycles = [
        float(c) for c in re.findall(r'<td class="num">(\d+\.\d)</td>\s*<td class="num">', html)
    ]
    assert cycles == sorted(cycles, reverse=True)
    assert len(cycles) == 50
    assert re.search(r'href="https://github.com/acme/(web|api|infra)/pull/\d+"', html)
    assert "page 1 of" in html

    ascending = client_in.get("/teams/acme/prs/?sort=cycle&state=merged").content.decode()
    low = [
        float(c)
        for c in re.findall(r'<td class="num">(\d+\.\d)</td>\s*<td class="num">', ascending)
    ]
    assert low == sorted(low)
    assert low[0] <= cycles[-1]


def test_the_pr_list_uses_the_stored_url_and_survives_a_bad_sort(client_in: Client) -> None:
    team = TeamFactory(slug="urls")
    PullRequestFactory(team=team, github_pr_id=7, url="https://github.example/acme/rocket/pull/7")
    PullRequestFactory(team=team, github_pr_id=8, url="", pr_created_at=timezone.now())
    html = client_in.get("/teams/urls/prs/?sort=drop_table&weeks=52").content.decode()
    assert 'href="https://github.com/acme/rocket/pull/8"' in html
    # PR 7 was created in 2024, outside the last 52 weeks; a wide explicit range shows it.
    today = timezone.now().date().isoformat()
    html = client_in.get(f"/teams/urls/prs/?start=2020-01-01&end={today}").content.decode()
    assert 'href="https://github.example/acme/rocket/pull/7"' in html


def test_the_pr_list_takes_a_bounded_number_of_queries(
    client_in: Client, acme: SyntheticTeam, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(10):
        assert client_in.get("/teams/acme/prs/?sort=-merged").status_code == 200


def test_the_sync_page_shows_state_checkpoints_errors_and_cache(
    client_in: Client, acme: SyntheticTeam, settings, tmp_path, django_assert_max_num_queries
) -> None:
    settings.SEEDING_CACHE_DIR = tmp_path
    get_cache_path("acme/web", tmp_path).write_text("{}" * 1000)
    with django_assert_max_num_queries(8):
        html = client_in.get("/sync/?team=acme").content.decode()
    assert html.count('<span class="status status-') == 3
    assert "GitHub answered 502 for acme/infra" in html
    assert "75 PRs done, resumes from a cursor" in html
    assert "2.0 KiB" in html
    assert "no cache file" in html
    assert "4900" in html


def test_the_sync_page_shows_a_never_synced_repository(client_in: Client) -> None:
    team = TeamFactory(slug="fresh")
    TrackedRepository.objects.create(team=team, full_name="acme/new")
    html = client_in.get("/sync/").content.decode()
    assert "acme/new" in html
    assert "never" in html


def test_ensure_demo_user_creates_and_resets_the_demo_login(client: Client) -> None:
    call_command("ensure_demo_user", "--quiet")
    user = User.objects.get(username="demo")
    user.set_password("changed")
    user.save()
    call_command("ensure_demo_user", "--quiet")
    assert client.login(username="demo", password="demo")
    assert User.objects.filter(username="demo").count() == 1


def test_the_team_page_escapes_what_github_sent(client_in: Client) -> None:
    team = Team.objects.create(name="<script>alert(1)</script>", slug="xss")
    TeamMemberFactory(team=team, github_login="<img src=x onerror=alert(1)>")
    html = client_in.get("/teams/xss/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x" not in html


def test_every_sort_key_of_the_pr_list_works(client_in: Client, acme: SyntheticTeam) -> None:
    for sort in [*SORTS, *(f"-{key}" for key in SORTS)]:
        html = client_in.get(f"/teams/acme/prs/?sort={sort}").content.decode()
        rows = html.count('<tr>\n      <td class="num"><a href="https://github.com/acme/')
        assert rows == 50, sort


@pytest.mark.parametrize("query", ["", "?sort=-cycle", "?repo=acme/api"])
def test_a_url_without_a_range_shows_the_default_twelve_weeks(
    client_in: Client, acme: SyntheticTeam, query: str
) -> None:
    html = client_in.get(f"/teams/acme/{query}").content.decode()
    selected = re.search(r'<option value="(\d+)" selected>', html)
    assert selected is not None and selected.group(1) == "12", html[:2000]


def test_a_team_with_no_review_collected_shows_no_review_data_not_zero_percent(
    client_in: Client,
) -> None:
    team = TeamFactory(slug="quiet")
    merged = timezone.now() - timedelta(days=1)
    for number in (1, 2):
        PullRequestFactory(
            team=team,
            github_pr_id=number,
            pr_created_at=merged - timedelta(hours=5),
            merged_at=merged,
            state="merged",
        )
    html = client_in.get("/teams/quiet/").content.decode()
    card = html.split('data-metric="reviewed-share"', 1)[1].split("</div>", 1)[0]
    assert "no review data" in card and "0.0%" not in card


def test_the_sync_page_finds_a_teams_cache_and_says_how_many_prs_it_holds(
    client_in: Client, settings, tmp_path
) -> None:
    from apps.metrics.seeding.cache import PRCache, team_cache_dir

    settings.SEEDING_CACHE_DIR = tmp_path
    team = TeamFactory(slug="web")
    TrackedRepository.objects.create(team=team, full_name="acme/site", rate_limit_remaining=4321)
    PRCache(repo="acme/site", fetched_at=timezone.now(), max_prs=10).save(
        team_cache_dir(tmp_path, "web")
    )
    html = client_in.get("/sync/?team=web").content.decode()
    assert "0 PRs (max 10 PRs)" in html and "no cache file" not in html
    assert "4321" in html
