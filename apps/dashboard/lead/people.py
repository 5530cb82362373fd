"""The people pages: every member's PRs and reviews in range, and one member's own page
(their PRs, their reviews, their pickup time as reviewer)."""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Min, Q, QuerySet
from django.db.models.functions import Coalesce

from apps.dashboard.lead.scope import Scope
from apps.dashboard.lead.tables import TABLE_ROWS, Table, pr_url
from apps.metrics.models import PRReview, PRTimelineEvent, PullRequest, TeamMember
from apps.metrics.percentiles import GroupFigures, grouped_percentiles


def people_table(scope: Scope) -> Table:
    """Table `people`: per member, PRs created (and merged) and reviews given in range."""
    authored = dict(
        scope.created()
        .values("author__github_login")
        .annotate(n=Count("id"))
        .values_list("author__github_login", "n")
    )
    merged = dict(
        scope.created()
        .filter(merged_at__isnull=False)
        .values("author__github_login")
        .annotate(n=Count("id"))
        .values_list("author__github_login", "n")
    )
    reviews = scope.narrow(
        PRReview.objects.filter(
            pull_request__team=scope.team,
            submitted_at__gte=scope.flt.start,
            submitted_at__lt=scope.flt.end,
            reviewer__isnull=False,
        )
        .exclude(state=PRReview.State.PENDING)
        .exclude(reviewer=F("pull_request__author")),
        "pull_request__",
    )
    given = {
        row["reviewer__github_login"]: row
        for row in reviews.order_by()
        .values("reviewer__github_login")
        .annotate(n=Count("id"), prs=Count("pull_request", distinct=True))
    }
    out = Table(
        "people", ["login", "bot", "PRs created", "of which merged", "reviews", "PRs reviewed"]
    )
    members = TeamMember.objects.filter(team=scope.team).order_by("github_login")
    for member in members.values("github_login", "is_bot"):
        login = member["github_login"]
        row = given.get(login, {})
        out.rows.append(
            [login, member["is_bot"], authored.get(login, 0), merged.get(login, 0),
             row.get("n", 0), row.get("prs", 0)]
        )  # fmt: skip
    out.rows.sort(key=lambda r: (-(r[2] + r[4]), r[0]))
    return out


class Person:
    """One member within a scope: their PRs created in range, their reviews submitted in range."""

    def __init__(self, scope: Scope, member: TeamMember) -> None:
        flt = scope.flt
        self.member = member
        self.prs = scope.narrow(
            PullRequest.objects.filter(
                team=scope.team,
                author=member,
                pr_created_at__gte=flt.start,
                pr_created_at__lt=flt.end,
            )
        ).order_by("-pr_created_at", "-id")
        self.reviews = (
            scope.narrow(
                PRReview.objects.filter(
                    reviewer=member,
                    pull_request__team=scope.team,
                    submitted_at__gte=flt.start,
                    submitted_at__lt=flt.end,
                ).exclude(state=PRReview.State.PENDING),
                "pull_request__",
            )
            .exclude(pull_request__author=member)
            .order_by("-submitted_at", "-id")
        )

    def prs_table(self, limit: int | None) -> Table:
        """Table `prs`: their PRs, newest first, with each PR's cycle, pickup and review time."""
        table = Table(
            "prs",
            ["number", "repository", "title", "state", "created", "merged", "cycle (h)",
             "pickup (h)", "review (h)", "url"],
        )  # fmt: skip
        fields = ("github_pr_id", "github_repo", "title", "state", "pr_created_at", "merged_at",
                  "cycle_time_hours", "pickup_time_hours", "review_time_hours", "url")  # fmt: skip
        rows = self.prs.values(*fields)
        for row in rows[:limit] if limit else rows:
            table.rows.append([*(row[f] for f in fields[:-1]), pr_url(row)])
        return table

    def reviews_table(self, limit: int | None) -> Table:
        """Table `reviews`: the reviews they gave, newest first."""
        table = Table(
            "reviews", ["number", "repository", "title", "author", "state", "submitted", "url"]
        )
        fields = ("pull_request__github_pr_id", "pull_request__github_repo",
                  "pull_request__title", "pull_request__author__github_login", "state",
                  "submitted_at", "pull_request__url")  # fmt: skip
        rows = self.reviews.values(*fields)
        for row in rows[:limit] if limit else rows:
            url = row["pull_request__url"] or (
                f"https://github.com/{row['pull_request__github_repo']}/pull/"
                f"{row['pull_request__github_pr_id']}"
            )
            table.rows.append([*(row[f] for f in fields[:-1]), url])
        return table

    def page(self) -> dict[str, Any]:
        """The page's cards and its first TABLE_ROWS rows of each table."""
        pr_counts = self.prs.order_by().aggregate(
            created=Count("id"),
            merged=Count("id", filter=Q(merged_at__isnull=False)),
            open=Count("id", filter=Q(state=PullRequest.State.OPEN)),
        )
        own = grouped_percentiles(
            self.prs.filter(merged_at__isnull=False),
            None,
            {"cycle": "cycle_time_hours", "pickup": "pickup_time_hours"},
        ).get(0, GroupFigures())
        review_counts = self.reviews.order_by().aggregate(
            reviews=Count("id"),
            prs=Count("pull_request", distinct=True),
            approvals=Count("id", filter=Q(state=PRReview.State.APPROVED)),
            changes=Count("id", filter=Q(state=PRReview.State.CHANGES_REQUESTED)),
        )
        pickups = reviewer_pickup_hours(self.member, self.reviews)
        prs = self.prs_table(TABLE_ROWS)
        prs.total = pr_counts["created"]
        given = self.reviews_table(TABLE_ROWS)
        given.total = review_counts["reviews"]
        return {
            "member": self.member,
            "pr_counts": pr_counts,
            "own_cycle": own.median("cycle"),
            "review_counts": review_counts,
            "pickup_median": statistics.median(pickups) if pickups else None,
            "pickup_known": len(pickups),
            "prs": prs,
            "reviews": given,
        }


def reviewer_pickup_hours(member: TeamMember, reviews: QuerySet[PRReview]) -> list[float]:
    """Per PR the member reviewed (in `reviews`): hours from the review asked of them to their
    first review after it.

    The start is the first request for their review (a REVIEW_REQUESTED event naming them) at or
    before that review; without one, the moment the PR was ready for review (its creation when
    it never was a draft). Reviews left while the PR was a draft are not a pickup.
    """
    firsts = (
        reviews.filter(submitted_at__isnull=False)
        .order_by()
        .values("pull_request_id")
        .annotate(first=Min("submitted_at"))
        .values_list(
            "pull_request_id",
            "first",
            Coalesce("pull_request__ready_for_review_at", "pull_request__pr_created_at"),
            "pull_request__ready_for_review_at",
        )
    )
    rows = list(firsts)
    requests: dict[int, list[datetime]] = {}
    for pr_id, at in PRTimelineEvent.objects.filter(
        pull_request_id__in=reviews.order_by().values("pull_request_id"),
        kind=PRTimelineEvent.Kind.REVIEW_REQUESTED,
        requested_reviewer_login=member.github_login,
    ).values_list("pull_request_id", "created_at"):
        requests.setdefault(pr_id, []).append(at)
    out = []
    for pr_id, first, ready, ready_known in rows:
        asked = [at for at in requests.get(pr_id, ()) if at <= first]
        start = min(asked) if asked else ready
        if ready_known is not None and first < ready_known:
            continue  # reviewed while still a draft
        out.append(max(0.0, (first - start).total_seconds() / 3600))
    return out
