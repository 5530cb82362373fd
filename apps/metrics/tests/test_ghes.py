"""GitHub Enterprise Server end to end: GITHUB_API_URL ending in /api/v3, fakehub in GHES mode.

Seed, unchanged re-run, sync and GitHub App installation tokens all reach the API where GHES
serves it (REST below /api/v3, GraphQL at /api/graphql); fakehub answers 404 anywhere else, so a
request sent to the wrong place fails the test.
"""

from __future__ import annotations

import io

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command

from apps.integrations.github.endpoints import graphql_url_for
from apps.integrations.github.errors import NotFound
from apps.metrics.models import PullRequest, Team, TrackedRepository
from apps.metrics.sync.github import build_client
from apps.metrics.sync.run import sync_repository

pytestmark = pytest.mark.django_db


@pytest.fixture
def github(settings, tmp_path):
    """Point the settings at a fakehub given by the test (token, cache); no Redis."""
    settings.GITHUB_TOKEN = "ghp_ghes_tests"
    settings.GITHUB_SEEDING_TOKENS = []
    settings.GITHUB_GRAPHQL_URL = ""
    settings.GITHUB_APP_ID = ""
    settings.REDIS_URL = ""
    settings.SEEDING_CACHE_DIR = tmp_path / "cache"
    return settings


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_real_projects", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def rows(full_name: str = "acme/rocket") -> int:
    return PullRequest.objects.filter(github_repo=full_name).count()


def test_it_derives_the_graphql_endpoint_github_documents_for_each_base():
    assert graphql_url_for("https://api.github.com") == "https://api.github.com/graphql"
    assert graphql_url_for("https://api.github.com/") == "https://api.github.com/graphql"
    assert (
        graphql_url_for("https://ghe.example.com/api/v3") == "https://ghe.example.com/api/graphql"
    )
    assert (
        graphql_url_for("https://ghe.example.com/api/v3/") == "https://ghe.example.com/api/graphql"
    )
    assert graphql_url_for("http://127.0.0.1:8000") == "http://127.0.0.1:8000/graphql"
    assert (
        graphql_url_for("https://ghe.example.com/api/v3", "https://gw.example.com/gql/")
        == "https://gw.example.com/gql"
    )


def test_it_seeds_reruns_for_free_and_syncs_against_enterprise_server(fakehub_factory, github):
    hub = fakehub_factory(ghes=True, synthetic=[("acme/rocket", 60)])
    github.GITHUB_API_URL = hub.url + "/api/v3"

    output = seed("--repo", "acme/rocket")

    assert rows() == 60
    assert "acme/rocket" in output
    stats = hub.stats()
    assert "404" not in stats["statuses"]
    assert stats["graphql_requests"] >= 1 and stats["rest_requests"] >= 1

    hub.reset_stats()
    seed("--repo", "acme/rocket")
    stats = hub.stats()
    assert stats["requests"] == 1 and stats["not_modified"] == 1
    assert stats["graphql_points"] == 0

    hub.upsert_pr("acme/rocket", {"number": 7, "title": "Changed on the Enterprise Server"})
    hub.reset_stats()
    call_command("sync_repositories", "--repo", "acme/rocket", stdout=io.StringIO())
    assert PullRequest.objects.get(github_repo="acme/rocket", github_pr_id=7).title == (
        "Changed on the Enterprise Server"
    )
    assert rows() == 60
    stats = hub.stats()
    assert "404" not in stats["statuses"]
    assert stats["graphql_requests"] >= 1


def test_github_app_installation_tokens_come_from_the_rest_base_on_enterprise_server(
    fakehub_factory, github, tmp_path
):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    key_path = tmp_path / "app.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    hub = fakehub_factory(
        ghes=True, synthetic=[("acme/rocket", 40)], app_public_key=public, tokens=["unused"]
    )
    github.GITHUB_API_URL = hub.api_url
    github.GITHUB_TOKEN = ""
    github.GITHUB_APP_ID = "12345"
    github.GITHUB_APP_PRIVATE_KEY_PATH = str(key_path)
    github.GITHUB_APP_INSTALLATION_ID = "678"
    team = Team.objects.create(name="Acme", slug="acme")
    tracked = TrackedRepository.objects.create(team=team, full_name="acme/rocket")

    result = sync_repository(tracked, repoll=False)

    assert result.error == "" and result.status == "ok"
    assert rows() == 40
    statuses = hub.stats()["statuses"]
    assert statuses.get("201") == 1  # one installation token, from /api/v3/app/installations
    assert "404" not in statuses and "401" not in statuses


def test_graphql_url_setting_overrides_the_derived_endpoint(fakehub_factory, github):
    # A github.com-layout fakehub answers REST below /api/v3 too, but GraphQL only at /graphql:
    # the endpoint derived from that base is wrong there, and the setting puts it right.
    hub = fakehub_factory(synthetic=[("acme/rocket", 3)])
    github.GITHUB_API_URL = hub.url + "/api/v3"
    with build_client(on_limit="wait") as client, pytest.raises(NotFound):
        client.fetch_repo_metadata("acme", "rocket")

    github.GITHUB_GRAPHQL_URL = hub.url + "/graphql"
    with build_client(on_limit="wait") as client:
        assert client.fetch_repo_metadata("acme", "rocket").name_with_owner == "acme/rocket"
        assert client.rest_get("/repos/acme/rocket").data["full_name"] == "acme/rocket"
