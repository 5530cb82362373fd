"""The metrics models' constraints and defaults, and the admin pages for every model."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import IntegrityError, transaction
from django.urls import reverse

from apps.integrations.github.queries import PAGE_SIZE
from apps.metrics.models import (
    Commit,
    PRCheckRun,
    PRFile,
    PRReview,
    PullRequest,
    Team,
    TeamMember,
    TrackedRepository,
)
from apps.metrics.tests.factories import (
    CommitFactory,
    PRCheckRunFactory,
    PRFileFactory,
    PRReviewFactory,
    PullRequestFactory,
    TeamFactory,
    TeamMemberFactory,
    TrackedRepositoryFactory,
)

pytestmark = pytest.mark.django_db

ALL_MODELS = (
    Team,
    TeamMember,
    PullRequest,
    PRReview,
    Commit,
    PRFile,
    PRCheckRun,
    TrackedRepository,
)


def _violates(make) -> bool:
    try:
        with transaction.atomic():
            make()
    except IntegrityError:
        return True
    return False


def test_a_pr_number_is_unique_per_team_and_repository():
    pr = PullRequestFactory(github_pr_id=7)
    assert _violates(lambda: PullRequestFactory(team=pr.team, github_pr_id=7))
    # The same number in another repository or another team is another PR.
    assert not _violates(
        lambda: PullRequestFactory(team=pr.team, github_repo="acme/other", github_pr_id=7)
    )
    assert not _violates(lambda: PullRequestFactory(github_pr_id=7))


def test_a_member_login_is_unique_per_team():
    member = TeamMemberFactory(github_login="alice")
    assert _violates(lambda: TeamMemberFactory(team=member.team, github_login="alice"))
    assert not _violates(lambda: TeamMemberFactory(github_login="alice"))


def test_children_are_unique_by_their_github_key_within_a_pr():
    pr = PullRequestFactory()
    review = PRReviewFactory(pull_request=pr)
    commit = CommitFactory(pull_request=pr)
    file = PRFileFactory(pull_request=pr)
    run = PRCheckRunFactory(pull_request=pr)
    assert _violates(
        lambda: PRReviewFactory(pull_request=pr, github_review_id=review.github_review_id)
    )
    assert _violates(lambda: CommitFactory(pull_request=pr, sha=commit.sha))
    assert _violates(lambda: PRFileFactory(pull_request=pr, filename=file.filename))
    assert _violates(
        lambda: PRCheckRunFactory(pull_request=pr, github_check_run_id=run.github_check_run_id)
    )
    # The same commit in another PR (a cherry-pick, a stacked PR) is another row.
    assert not _violates(lambda: CommitFactory(sha=commit.sha))


def test_a_repository_is_tracked_once_per_team():
    tracked = TrackedRepositoryFactory(full_name="acme/rocket")
    assert _violates(lambda: TrackedRepositoryFactory(team=tracked.team, full_name="acme/rocket"))


def test_a_tracked_repository_starts_idle_with_no_checkpoint():
    tracked = TrackedRepository.objects.create(team=TeamFactory(), full_name="acme/rocket")
    tracked.refresh_from_db()
    assert tracked.status == TrackedRepository.Status.IDLE
    assert tracked.is_active is True
    assert tracked.page_size == PAGE_SIZE
    assert tracked.checkpoint is None
    assert tracked.watermark is None
    assert (tracked.etag, tracked.last_error) == ("", "")


def test_deleting_a_member_keeps_their_prs_reviews_and_commits():
    pr = PullRequestFactory()
    review = PRReviewFactory(pull_request=pr, reviewer=pr.author)
    commit = CommitFactory(pull_request=pr)
    pr.author.delete()
    pr.refresh_from_db()
    review.refresh_from_db()
    commit.refresh_from_db()
    assert (pr.author, review.reviewer, commit.author) == (None, None, None)


def test_deleting_a_pr_deletes_its_children():
    pr = PullRequestFactory()
    PRReviewFactory(pull_request=pr)
    CommitFactory(pull_request=pr)
    PRFileFactory(pull_request=pr)
    PRCheckRunFactory(pull_request=pr)
    pr.delete()
    assert [m.objects.count() for m in (PRReview, Commit, PRFile, PRCheckRun)] == [0, 0, 0, 0]


def test_json_fields_round_trip_lists():
    pr = PullRequestFactory(
        labels=["bug", "ui"], assignees=["alice"], review_requests=["core"], linked_issues=[3, 9]
    )
    pr.refresh_from_db()
    assert (pr.labels, pr.assignees, pr.review_requests, pr.linked_issues) == (
        ["bug", "ui"],
        ["alice"],
        ["core"],
        [3, 9],
    )


def test_every_model_is_registered_in_the_admin():
    assert [m for m in ALL_MODELS if not admin.site.is_registered(m)] == []


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_every_admin_list_search_and_change_page_renders(admin_client, model):
    pr = PullRequestFactory()
    objects = {
        Team: pr.team,
        TeamMember: pr.author,
        PullRequest: pr,
        PRReview: PRReviewFactory(pull_request=pr),
        Commit: CommitFactory(pull_request=pr),
        PRFile: PRFileFactory(pull_request=pr),
        PRCheckRun: PRCheckRunFactory(pull_request=pr),
        TrackedRepository: TrackedRepositoryFactory(team=pr.team),
    }
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[objects[model].pk])

    listing = admin_client.get(changelist)
    searched = admin_client.get(changelist, {"q": "acme"})
    detail = admin_client.get(change)

    assert (listing.status_code, searched.status_code, detail.status_code) == (200, 200, 200)
    assert str(objects[model]) in listing.content.decode()


def test_the_pr_admin_page_shows_its_children_inline(admin_client):
    pr = PullRequestFactory()
    PRFileFactory(pull_request=pr, filename="src/very_specific_name.py")
    CommitFactory(pull_request=pr, sha="c0ffee" + "0" * 34)
    url = reverse("admin:metrics_pullrequest_change", args=[pr.pk])
    body = admin_client.get(url).content.decode()
    assert "src/very_specific_name.py" in body
    assert "c0ffee" in body


def test_the_pr_list_admin_runs_a_bounded_number_of_queries(
    admin_client, django_assert_max_num_queries
):
    team = TeamFactory()
    PullRequestFactory.create_batch(30, team=team)
    with django_assert_max_num_queries(15):
        response = admin_client.get(reverse("admin:metrics_pullrequest_changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "model", [PullRequest, PRReview, Commit, PRFile, PRCheckRun], ids=lambda m: m.__name__
)
def test_the_admin_shows_pr_rows_read_only_as_the_writer_owns_them(admin_client, model):
    pr = PullRequestFactory(title="as GitHub said")
    objects = {
        PullRequest: pr,
        PRReview: PRReviewFactory(pull_request=pr),
        Commit: CommitFactory(pull_request=pr),
        PRFile: PRFileFactory(pull_request=pr),
        PRCheckRun: PRCheckRunFactory(pull_request=pr),
    }
    opts = model._meta
    change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[objects[model].pk])
    add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    delete = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[objects[model].pk])

    page = admin_client.get(change).content.decode()
    posted = admin_client.post(change, {"title": "edited in the admin"})

    assert 'name="_save"' not in page
    assert posted.status_code == 403
    assert admin_client.get(add).status_code == 403
    assert admin_client.get(delete).status_code == 403
    pr.refresh_from_db()
    assert pr.title == "as GitHub said"
