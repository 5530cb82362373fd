"""Synthetic team data written straight to the database (bulk inserts), for tests and benchmarks.

Not a seeding path: real data goes through apps/metrics/pipeline/writer.py. This fills the tables the
dashboard reads (members, PRs with their stored per-PR metrics, reviews, tracked repositories)
quickly and deterministically, so pages can be tested and timed at any size.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apps.metrics.models import (
    Commit,
    PRCheckRun,
    PRReview,
    PRTimelineEvent,
    PullRequest,
    Team,
    TeamMember,
    TrackedRepository,
)

HUMANS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy")
BOTS = ("dependabot[bot]", "renovate[bot]")
REPOS = ("acme/web", "acme/api", "acme/infra")
LABELS = ("bug", "feature", "chore", "docs", "security")
CHECKS = (("lint", 90), ("unit tests", 420), ("integration", 900), ("build", 300))


@dataclass(frozen=True, slots=True)
class SyntheticTeam:
    """What `create_synthetic_team` wrote."""

    team: Team
    prs: int
    reviews: int
    repos: tuple[str, ...]
    check_runs: int = 0


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
    life = _add_life(rows, plans, now, random.Random(seed + 1_000_003))
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
    commits, runs, events = life
    Commit.objects.bulk_create(commits, batch_size=batch_size)
    PRCheckRun.objects.bulk_create(runs, batch_size=batch_size)
    PRTimelineEvent.objects.bulk_create(events, batch_size=batch_size)
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
    return SyntheticTeam(
        team=team, prs=len(rows), reviews=len(reviews), repos=REPOS, check_runs=len(life[1])
    )


def _add_life(
    rows: list[PullRequest],
    plans: list[list[tuple[TeamMember, str, datetime]]],
    now: datetime,
    rng: random.Random,
) -> tuple[list[Commit], list[PRCheckRun], list[PRTimelineEvent]]:
    """The PR's life on the unsaved rows: labels, drafts, cycle-time stages, review requests,
    and the children to insert once the rows have keys: the last commit, its check runs (with
    some fail-then-pass re-runs) and timeline events. A random stream of its own, so the
    fields set before stay as they were for a given seed."""
    commits: list[Commit] = []
    runs: list[PRCheckRun] = []
    events: list[PRTimelineEvent] = []
    run_id = 0
    hours = timedelta(hours=1)
    for row, plan in zip(rows, plans, strict=True):
        created = row.pr_created_at
        end = row.closed_at or now
        row.labels = rng.sample(LABELS, k=rng.choice((0, 1, 1, 1, 2)))
        # A third start as drafts, ready after a while; some open ones are still drafts.
        ready = created
        if rng.random() < 0.3:
            ready = min(end, created + hours * rng.lognormvariate(2.0, 1.2))
            events.append(
                PRTimelineEvent(pull_request=row, kind=PRTimelineEvent.Kind.READY_FOR_REVIEW,
                                created_at=ready, github_id=f"RFR_{row.github_pr_id}")
            )  # fmt: skip
        if row.state == "open" and not plan and rng.random() < 0.3:
            row.is_draft, ready = True, None
        row.ready_for_review_at = ready
        first_commit = created - hours * rng.lognormvariate(1.5, 1.3)
        row.coding_time_hours = (ready - first_commit) / hours if ready else None
        if row.state == "open" and plan and plan[0][1] == "changes_requested":
            del plan[1:]  # still waiting for the author's new commit
        if ready and plan:
            reviewer = plan[0][0]
            requested = ready + (plan[0][2] - ready) * rng.random() * 0.3
            row.first_review_request_at = requested
            events.append(
                PRTimelineEvent(pull_request=row, kind=PRTimelineEvent.Kind.REVIEW_REQUESTED,
                                requested_reviewer_login=reviewer.github_login,
                                created_at=requested, github_id=f"RR_{row.github_pr_id}")
            )  # fmt: skip
            first = max(plan[0][2], ready)
            row.pickup_time_hours = (first - ready) / hours
            row.time_to_first_review_hours = row.pickup_time_hours
            approvals = [when for _, state, when in plan if state == "approved"]
            row.review_time_hours = None
            if approvals:
                row.last_approval_at = max(approvals)
                row.review_time_hours = max(0.0, (row.last_approval_at - first) / hours)
                if row.merged_at:
                    row.merge_time_hours = max(0.0, (row.merged_at - row.last_approval_at) / hours)
        else:
            row.review_time_hours = None
        # The last commit: before the first review, or after it when changes were requested
        # (some open PRs still wait for that new commit).
        last_commit = created
        if plan and plan[0][1] == "changes_requested" and len(plan) > 1:
            last_commit = plan[0][2] + (end - plan[0][2]) * 0.3
        commits.append(
            Commit(pull_request=row, sha=f"{row.github_pr_id:020x}{rng.getrandbits(80):020x}",
                   author=row.author, committed_at=last_commit, authored_at=last_commit)
        )  # fmt: skip
        if row.ci_passed is None:
            continue
        for name, seconds in CHECKS:
            run_id += 1
            started = last_commit + timedelta(minutes=rng.randrange(1, 10))
            duration = int(seconds * rng.lognormvariate(0, 0.3))
            flaky = rng.random() < 0.04
            conclusion = "success" if row.ci_passed or name != "unit tests" else "failure"
            if flaky:
                runs.append(_run(row, run_id, name, "failure", started, duration))
                run_id += 1
                started += timedelta(seconds=duration + 300)
                conclusion = "success"
            runs.append(_run(row, run_id, name, conclusion, started, duration))
    return commits, runs, events


def _run(
    row: PullRequest, run_id: int, name: str, conclusion: str, started: datetime, seconds: int
) -> PRCheckRun:
    return PRCheckRun(
        pull_request=row,
        github_check_run_id=run_id,
        name=name,
        status="completed",
        conclusion=conclusion,
        started_at=started,
        completed_at=started + timedelta(seconds=seconds),
        duration_seconds=seconds,
        app_name="GitHub Actions",
    )
