"""Synthetic team data written straight to the database (bulk inserts), for tests and benchmarks.

Not a seeding path: real data goes through apps/metrics/writer.py. This fills the tables the
dashboard reads (members, PRs with their stored per-PR metrics, reviews, tracked repositories)
quickly and deterministically, so pages can be tested and timed at any size.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apps.metrics.models import PRReview, PullRequest, Team, TeamMember, TrackedRepository

HUMANS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy")
BOTS = ("dependabot[bot]", "renovate[bot]")
REPOS = ("acme/web", "acme/api", "acme/infra")


@dataclass(frozen=True, slots=True)
class SyntheticTeam:
    """What `create_synthetic_team` wrote."""

    team: Team
    prs: int
    reviews: int
    repos: tuple[str, ...]


def _size_bucket(lines: int) -> str:
    for bound, bucket in ((10, "XS"), (50, "S"), (250, "M"), (1000, "L")):
        if lines < bound:
            return bucket
    return "XL"


@transaction.atomic
def create_synthetic_team(
    slug: str,
    prs: int,
    *,
    days: int = 84,
    now: datetime | None = None,
    seed: int = 1,
    batch_size: int = 2000,
) -> SyntheticTeam:
    """Create team `slug` with `prs` PRs created over the `days` before `now`, in bulk.

    About 80% merged, 10% closed, 10% open; a ghost and two bots among the authors; about 70%
    of PRs reviewed by another member, some with changes requested first; CI results on most.
    """
    rng = random.Random(seed)
    now = now or timezone.now()
    team = Team.objects.create(name=slug.replace("-", " ").title(), slug=slug)
    members = TeamMember.objects.bulk_create(
        [
            TeamMember(team=team, github_login=login, github_id=i + 1)
            for i, login in enumerate(HUMANS)
        ]
        + [TeamMember(team=team, github_login=login, is_bot=True) for login in BOTS]
        + [TeamMember(team=team, github_login="ghost")]
    )
    humans = members[: len(HUMANS)]
    authors = humans * 8 + members[len(HUMANS) :]

    rows: list[PullRequest] = []
    plans: list[list[tuple[TeamMember, str, datetime]]] = []
    for number in range(1, prs + 1):
        author = rng.choice(authors)
        created = now - timedelta(minutes=rng.randrange(10, days * 24 * 60))
        roll = rng.random()
        cycle = min(rng.lognormvariate(3.0, 1.1), 24 * 20)
        merged = created + timedelta(hours=cycle) if roll < 0.8 else None
        if merged and merged > now:
            merged = None
        state = "merged" if merged else ("closed" if roll < 0.9 else "open")
        closed = merged or (created + timedelta(hours=cycle) if state == "closed" else None)
        if closed and closed > now:
            state, closed = "open", None
        lines = int(rng.lognormvariate(4.0, 1.4))
        additions = rng.randint(0, lines)
        plan: list[tuple[TeamMember, str, datetime]] = []
        first_review = None
        rounds = 0
        if not author.is_bot and rng.random() < 0.7:
            reviewer = rng.choice([h for h in humans if h.pk != author.pk])
            first_review = created + timedelta(hours=min(rng.lognormvariate(1.5, 1.0), 200))
            end = closed or now
            if first_review < end:
                if rng.random() < 0.25:
                    plan.append((reviewer, "changes_requested", first_review))
                    second = first_review + (end - first_review) / 2
                    plan.append((reviewer, "approved", second))
                    rounds = 1
                else:
                    plan.append((reviewer, "approved", first_review))
            else:
                first_review = None
        rows.append(
            PullRequest(
                team=team,
                github_repo=REPOS[number % len(REPOS)],
                github_pr_id=number,
                title=f"Synthetic change {number}",
                state=state,
                author=author,
                pr_created_at=created,
                pr_updated_at=closed or created,
                merged_at=merged,
                closed_at=closed,
                additions=additions,
                deletions=lines - additions,
                changed_files=max(1, lines // 40),
                commits_count=rng.randint(1, 8),
                first_review_at=first_review,
                cycle_time_hours=(merged - created).total_seconds() / 3600 if merged else None,
                time_to_first_review_hours=(first_review - created).total_seconds() / 3600
                if first_review
                else None,
                review_rounds=rounds,
                commits_after_first_review=rounds * rng.randint(1, 3),
                ci_passed=None if rng.random() < 0.1 else rng.random() < 0.85,
                size_bucket=_size_bucket(lines),
                is_bot_author=author.is_bot,
                synced_at=now,
            )
        )
        plans.append(plan)
    PullRequest.objects.bulk_create(rows, batch_size=batch_size)
    if rows and rows[0].pk is None:
        # Backends that do not return primary keys from bulk inserts.
        ids = dict(PullRequest.objects.filter(team=team).values_list("github_pr_id", "pk"))
        for row in rows:
            row.pk = ids[row.github_pr_id]
    reviews = [
        PRReview(
            pull_request=row,
            github_review_id=row.github_pr_id * 10 + i,
            reviewer=reviewer,
            state=state,
            submitted_at=when,
        )
        for row, plan in zip(rows, plans, strict=True)
        for i, (reviewer, state, when) in enumerate(plan)
    ]
    PRReview.objects.bulk_create(reviews, batch_size=batch_size)
    for i, full_name in enumerate(REPOS):
        TrackedRepository.objects.create(
            team=team,
            full_name=full_name,
            status=(TrackedRepository.Status.OK, TrackedRepository.Status.FAILED)[i == 2],
            last_synced_at=now - timedelta(minutes=5 + i),
            watermark=now - timedelta(minutes=10),
            rate_limit_remaining=4900 - i * 100,
            rate_limit_reset_at=now + timedelta(minutes=40),
            checkpoint=None
            if i != 1
            else {
                "mode": "full",
                "cursor": "Y3Vyc29yOjI1",
                "page_size": 25,
                "high_water": None,
                "started_at": now.isoformat(),
                "prs_done": 75,
            },
            last_error="" if i != 2 else "GitHub answered 502 for acme/infra; retry later",
        )
    return SyntheticTeam(team=team, prs=len(rows), reviews=len(reviews), repos=REPOS)
