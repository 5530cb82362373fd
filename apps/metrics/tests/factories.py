"""factory_boy factories for the metrics models (database side only; fetched values are plain
constructors of apps.metrics.pipeline.fetched)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factory

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

BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"team-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())


class TeamMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamMember

    team = factory.SubFactory(TeamFactory)
    github_login = factory.Sequence(lambda n: f"user{n}")
    github_id = factory.Sequence(lambda n: 10_000 + n)
    display_name = factory.LazyAttribute(lambda o: o.github_login.title())
    email = factory.LazyAttribute(lambda o: f"{o.github_login}@example.com")
    is_bot = False


class PullRequestFactory(factory.django.DjangoModelFactory):
    """A merged PR; pass `state`, `merged_at` etc. to vary. Metrics are whatever you set."""

    class Meta:
        model = PullRequest

    team = factory.SubFactory(TeamFactory)
    github_repo = "acme/rocket"
    github_pr_id = factory.Sequence(lambda n: n + 1)
    github_node_id = factory.LazyAttribute(lambda o: f"PR_node_{o.github_pr_id}")
    url = factory.LazyAttribute(
        lambda o: f"https://github.com/{o.github_repo}/pull/{o.github_pr_id}"
    )
    title = factory.Sequence(lambda n: f"Change {n}")
    state = PullRequest.State.MERGED
    author = factory.SubFactory(TeamMemberFactory, team=factory.SelfAttribute("..team"))
    pr_created_at = factory.Sequence(lambda n: BASE_TIME + timedelta(hours=n))
    pr_updated_at = factory.LazyAttribute(lambda o: o.pr_created_at + timedelta(hours=24))
    merged_at = factory.LazyAttribute(
        lambda o: o.pr_created_at + timedelta(hours=24) if o.state == "merged" else None
    )
    closed_at = factory.LazyAttribute(lambda o: o.merged_at)
    cycle_time_hours = factory.LazyAttribute(lambda o: 24.0 if o.merged_at else None)
    additions = 20
    deletions = 5
    size_bucket = "S"


class PRReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PRReview

    pull_request = factory.SubFactory(PullRequestFactory)
    github_review_id = factory.Sequence(lambda n: 500_000 + n)
    reviewer = factory.SubFactory(
        TeamMemberFactory, team=factory.SelfAttribute("..pull_request.team")
    )
    state = PRReview.State.APPROVED
    submitted_at = factory.LazyAttribute(
        lambda o: o.pull_request.pr_created_at + timedelta(hours=2)
    )


class CommitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Commit

    pull_request = factory.SubFactory(PullRequestFactory)
    sha = factory.Sequence(lambda n: f"{n:040x}")
    author = factory.LazyAttribute(lambda o: o.pull_request.author)
    author_name = factory.LazyAttribute(lambda o: o.author.display_name if o.author else "")
    message = "A change"
    committed_at = factory.LazyAttribute(lambda o: o.pull_request.pr_created_at)
    authored_at = factory.LazyAttribute(lambda o: o.committed_at)
    additions = 10
    deletions = 2


class PRFileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PRFile

    pull_request = factory.SubFactory(PullRequestFactory)
    filename = factory.Sequence(lambda n: f"src/module_{n}.py")
    status = "modified"
    additions = 10
    deletions = 2
    changes = factory.LazyAttribute(lambda o: o.additions + o.deletions)


class PRCheckRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PRCheckRun

    pull_request = factory.SubFactory(PullRequestFactory)
    github_check_run_id = factory.Sequence(lambda n: 900_000 + n)
    name = factory.Sequence(lambda n: f"check-{n}")
    status = "completed"
    conclusion = "success"
    started_at = factory.LazyAttribute(lambda o: o.pull_request.pr_created_at)
    completed_at = factory.LazyAttribute(lambda o: o.started_at + timedelta(minutes=3))
    duration_seconds = 180
    app_name = "GitHub Actions"


class TrackedRepositoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrackedRepository

    team = factory.SubFactory(TeamFactory)
    full_name = factory.Sequence(lambda n: f"acme/repo-{n}")
