"""The "needs attention" page: open PRs waiting for a first review, for new commits after
changes were requested, with no activity, or long in draft."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import Coalesce

from apps.dashboard.lead.scope import Scope
from apps.dashboard.lead.tables import Table, pr_url
from apps.metrics.models import Commit, PRReview, PRTimelineEvent, PullRequest


class OpenPRs:
    """The open PRs of a scope (whatever their dates), in four lists, each oldest first."""

    def __init__(self, scope: Scope, days: int, now: datetime) -> None:
        self.days = days
        self.now = now
        self.stale_since = now - timedelta(days=days)
        self.open = scope.narrow(
            PullRequest.objects.filter(team=scope.team, state=PullRequest.State.OPEN)
        ).select_related("author")
        # Table id: (heading, what the age counts from, the list).
        self.lists: dict[str, tuple[str, str, Callable[[], QuerySet[PullRequest]]]] = {
            "waiting": ("Waiting for a first review", "ready for review", self.waiting),
            "changes": (
                "Changes requested, no new commit since",
                "changes requested",
                self.changes_requested,
            ),
            "stale": (f"No activity for {days} days or more", "last activity", self.stale),
            "drafts": (f"Drafts for more than {days} days", "draft since", self.drafts),
        }

    def waiting(self) -> QuerySet[PullRequest]:
        return (
            self.open.filter(is_draft=False, first_review_at__isnull=True)
            .annotate(since=Coalesce("ready_for_review_at", "pr_created_at"))
            .order_by("since", "id")
        )

    def changes_requested(self) -> QuerySet[PullRequest]:
        author_reviews = PRReview.objects.filter(pull_request=OuterRef("pk")).exclude(
            reviewer=OuterRef("author")
        )
        last_request = (
            author_reviews.filter(state=PRReview.State.CHANGES_REQUESTED)
            .order_by("-submitted_at")
            .values("submitted_at")[:1]
        )
        last_commit = (
            Commit.objects.filter(pull_request=OuterRef("pk"), committed_at__isnull=False)
            .order_by("-committed_at")
            .values("committed_at")[:1]
        )
        last_push = (
            PRTimelineEvent.objects.filter(
                pull_request=OuterRef("pk"), kind=PRTimelineEvent.Kind.HEAD_REF_FORCE_PUSHED
            )
            .order_by("-created_at")
            .values("created_at")[:1]
        )
        approved_after = author_reviews.filter(
            state=PRReview.State.APPROVED, submitted_at__gt=OuterRef("since")
        )
        return (
            self.open.annotate(
                since=Subquery(last_request),
                last_commit=Subquery(last_commit),
                last_push=Subquery(last_push),
            )
            .filter(since__isnull=False, last_commit__isnull=False)
            .filter(last_commit__lt=F("since"))
            .filter(Q(last_push__isnull=True) | Q(last_push__lt=F("since")))
            .exclude(Exists(approved_after))
            .order_by("since", "id")
        )

    def stale(self) -> QuerySet[PullRequest]:
        return (
            self.open.filter(pr_updated_at__lt=self.stale_since)
            .annotate(since=F("pr_updated_at"))
            .order_by("since", "id")
        )

    def drafts(self) -> QuerySet[PullRequest]:
        last_draft = (
            PRTimelineEvent.objects.filter(
                pull_request=OuterRef("pk"), kind=PRTimelineEvent.Kind.CONVERT_TO_DRAFT
            )
            .order_by("-created_at")
            .values("created_at")[:1]
        )
        return (
            self.open.filter(is_draft=True)
            .annotate(since=Coalesce(Subquery(last_draft), "pr_created_at"))
            .filter(since__lt=self.stale_since)
            .order_by("since", "id")
        )

    def table(self, key: str, limit: int | None) -> Table:
        """List `key` as a table (its first `limit` rows; every row when None) with its total."""
        _title, since_label, make = self.lists[key]
        qs = make()
        header = ["number", "repository", "title", "author", since_label, "age (days)", "url"]
        table = Table(key, header)
        # The total rides along as a window over the whole list: one query, not two.
        qs = qs.annotate(total=Window(Count("id")))
        picked = list(qs[:limit] if limit else qs)
        table.total = picked[0].total if picked else 0
        for pr in picked:
            table.rows.append(
                [
                    pr.github_pr_id,
                    pr.github_repo,
                    pr.title,
                    pr.author.github_login if pr.author else "ghost",
                    pr.since,
                    round((self.now - pr.since).total_seconds() / 86400, 1),
                    pr_url(pr),
                ]
            )
        return table

    def sections(self, limit: int) -> list[dict[str, object]]:
        """Each list's heading and table, as the page shows them."""
        return [
            {"title": title, "table": self.table(key, limit)}
            for key, (title, _, _) in self.lists.items()
        ]
