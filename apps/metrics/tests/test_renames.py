"""A repository renamed on GitHub (fakehub's control API) while the team tracks its old name."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from apps.integrations.github.client import GitHubGraphQLClient
from apps.integrations.github.coordination import LocalCoordinator
from apps.metrics.models import PRReview, PullRequest, Team, TrackedRepository
from apps.metrics.seeding.cache import PRCache, get_cache_path, team_cache_dir
from apps.metrics.sync.run import sync_repository

pytestmark = pytest.mark.django_db

OLD, NEW = "acme/rocket", "acme/launcher"


@pytest.fixture
def hub(fakehub_factory, settings, tmp_path):
    hub = fakehub_factory(synthetic=[(OLD, 40)])
    settings.GITHUB_API_URL = hub.url
    settings.GITHUB_GRAPHQL_URL = ""
    settings.GITHUB_TOKEN = "ghp_rename_tests"
    settings.GITHUB_SEEDING_TOKENS = []
    settings.REDIS_URL = ""
    settings.SEEDING_CACHE_DIR = tmp_path / "cache"
    return hub


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_real_projects", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def rows(full_name: str) -> int:
    return PullRequest.objects.filter(github_repo=full_name).count()


def client_for(hub) -> GitHubGraphQLClient:
    return GitHubGraphQLClient("ghp_rename_tests", base_url=hub.url, coordinator=LocalCoordinator())


def test_a_seed_moves_rows_tracking_and_cache_to_the_new_name(hub, settings, caplog):
    seed("--repo", OLD, "--team-slug", "acme")
    assert rows(OLD) == 40
    reviews = PRReview.objects.filter(pull_request__github_repo=OLD).count()
    hub.rename_repo(OLD, NEW)
    hub.reset_stats()

    output = seed("--repo", OLD, "--team-slug", "acme")

    assert f"{OLD} was renamed to {NEW} on GitHub: moved its tracking, 40 PR rows" in (
        output + caplog.text
    )
    assert rows(OLD) == 0 and rows(NEW) == 40
    assert PRReview.objects.filter(pull_request__github_repo=NEW).count() == reviews
    assert list(TrackedRepository.objects.values_list("full_name", flat=True)) == [NEW]
    cache_dir = team_cache_dir(settings.SEEDING_CACHE_DIR, "acme")
    assert not get_cache_path(OLD, cache_dir).exists()
    cache = PRCache.load(NEW, cache_dir)
    assert cache is not None and cache.repo == NEW and cache.pr_count == 40
    assert {pr.repo_full_name for pr in cache.iter_prs()} == {NEW}
    stats = hub.stats()
    # The probe redirected once (its body, hence its ETag, now names the new repository), one
    # metadata query for the new name, one incremental page finding nothing newer.
    assert stats["statuses"] == {"301": 1, "200": 3}
    # One metadata point, and one incremental page of the full PR fragment (at most 4 points).
    assert stats["graphql_requests"] == 2 and stats["graphql_points"] <= 5

    hub.reset_stats()
    seed("--repo", NEW, "--team-slug", "acme")
    stats = hub.stats()
    assert stats["requests"] == 1 and stats["not_modified"] == 1 and stats["graphql_points"] == 0


def test_a_sync_follows_the_rename_without_duplicates_and_stays_incremental(hub, caplog):
    team = Team.objects.create(name="Acme", slug="acme")
    tracked = TrackedRepository.objects.create(team=team, full_name=OLD)
    with client_for(hub) as client:
        assert sync_repository(tracked, client, repoll=False).mode == "full"
    hub.rename_repo(OLD, NEW)
    hub.upsert_pr(NEW, {"number": 3, "title": "Changed after the rename"})
    hub.reset_stats()

    with client_for(hub) as client:
        result = sync_repository(tracked, client, repoll=False)

    assert result.mode == "incremental" and result.error == ""
    assert result.repository == NEW and result.prs_saved >= 1
    assert f"{OLD} was renamed to {NEW} on GitHub" in caplog.text
    assert rows(OLD) == 0 and rows(NEW) == 40
    assert PullRequest.objects.get(github_repo=NEW, github_pr_id=3).title == (
        "Changed after the rename"
    )
    tracked.refresh_from_db()
    assert tracked.full_name == NEW

    hub.reset_stats()
    with client_for(hub) as client:
        again = sync_repository(tracked, client, repoll=False)
    stats = hub.stats()
    assert again.mode == "unchanged"
    assert stats["requests"] == 1 and stats["not_modified"] == 1
    assert "301" not in stats["statuses"]


def test_a_rename_onto_a_name_the_team_also_tracks_merges_the_two(hub):
    team = Team.objects.create(name="Acme", slug="acme")
    old = TrackedRepository.objects.create(team=team, full_name=OLD)
    with client_for(hub) as client:
        sync_repository(old, client, repoll=False)
    hub.rename_repo(OLD, NEW)
    new = TrackedRepository.objects.create(team=team, full_name=NEW)
    with client_for(hub) as client:
        sync_repository(new, client, repoll=False)
        assert rows(OLD) == 40 and rows(NEW) == 40

        result = sync_repository(old, client, repoll=False)

    assert result.mode == "renamed"
    assert rows(OLD) == 0 and rows(NEW) == 40
    assert list(TrackedRepository.objects.values_list("full_name", flat=True)) == [NEW]


def test_a_seed_without_the_cache_moves_the_rows_too(hub, settings):
    seed("--repo", OLD, "--team-slug", "acme", "--no-cache")
    hub.rename_repo(OLD, NEW)
    hub.upsert_pr(NEW, {"number": 5, "title": "Renamed and changed"})

    seed("--repo", OLD, "--team-slug", "acme", "--no-cache")

    assert rows(OLD) == 0 and rows(NEW) == 40
    assert PullRequest.objects.get(github_repo=NEW, github_pr_id=5).title == "Renamed and changed"
    assert list(TrackedRepository.objects.values_list("full_name", flat=True)) == [NEW]
    assert not settings.SEEDING_CACHE_DIR.exists() or not any(settings.SEEDING_CACHE_DIR.iterdir())
