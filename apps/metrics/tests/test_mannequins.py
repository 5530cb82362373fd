"""Mannequins (accounts imported from another code host) as PR authors and reviewers, over HTTP."""

from __future__ import annotations

import pytest

from apps.metrics.models import PullRequest, TeamMember
from apps.metrics.pipeline.fetched import FetchedUser
from apps.metrics.tests.seed_support import make_client, seed

pytestmark = pytest.mark.django_db

MANNEQUIN = {"__typename": "Mannequin", "login": "svn-import-hgarcia", "databaseId": 4242}


def test_a_mannequin_author_keeps_its_login_and_id_and_is_not_a_bot(fakehub_factory):
    hub = fakehub_factory(synthetic=[("acme/rocket", 5)])
    hub.upsert_pr(
        "acme/rocket",
        {
            "number": 6,
            "author": MANNEQUIN,
            "reviews": [
                {
                    "databaseId": 777,
                    "author": MANNEQUIN,
                    "state": "COMMENTED",
                    "body": "imported review",
                    "submittedAt": "2026-01-01T00:00:00Z",
                }
            ],
        },
    )
    with make_client(hub.url) as client:
        seed(client, ["acme/rocket"], team_slug="acme")

    pr = PullRequest.objects.select_related("author").get(github_repo="acme/rocket", github_pr_id=6)
    assert pr.author.github_login == "svn-import-hgarcia"
    assert pr.author.github_id == 4242
    assert pr.author.is_bot is False
    assert pr.is_bot_author is False
    assert TeamMember.objects.filter(github_login="svn-import-hgarcia").count() == 1
    assert pr.reviews.get().reviewer.github_login == "svn-import-hgarcia"


def test_the_mapping_of_a_mannequin_actor_is_a_plain_user():
    user = FetchedUser.from_api(
        {"__typename": "Mannequin", "login": "bitbucket-jdoe", "databaseId": 9}
    )
    assert user == FetchedUser(login="bitbucket-jdoe", github_id=9, is_bot=False)
