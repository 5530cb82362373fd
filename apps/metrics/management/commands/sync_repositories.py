"""`sync_repositories`: one sync round in this process, no broker (the embedded default).

The same work as Celery's `sync_all_repositories_task` + `sync_repository_task`, one repository
after another, sharing one client (so one token's requests stay serial and its budget known).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from apps.integrations.github.errors import GitHubError, RateLimited
from apps.metrics.models import TrackedRepository
from apps.metrics.sync.github import build_client
from apps.metrics.sync.locks import RepositoryBusy
from apps.metrics.sync.round import sync_round
from apps.metrics.sync.run import SyncResult, sync_repository


class Command(BaseCommand):
    help = (
        "Sync tracked repositories now, in this process (no Celery broker needed): incremental "
        "by updatedAt, resuming any interrupted walk, re-polling PRs whose CI was running."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--repo", action="append", default=[], metavar="OWNER/NAME", help="only these"
        )
        parser.add_argument("--team", metavar="SLUG", help="only this team's repositories")
        parser.add_argument(
            "--due-only",
            action="store_true",
            help="only repositories whose next_sync_after has passed (what beat enqueues)",
        )
        parser.add_argument(
            "--full", action="store_true", help="walk every PR again instead of the changes"
        )
        parser.add_argument(
            "--per-repo",
            action="store_true",
            help="check each repository alone (a REST probe each) instead of several a query",
        )
        parser.add_argument(
            "--stop-on-limit",
            action="store_true",
            help="stop at a spent rate limit (state kept, resumable) instead of waiting",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tracked = TrackedRepository.objects.filter(is_active=True).select_related("team")
        if options["team"]:
            tracked = tracked.filter(team__slug=options["team"])
        if options["repo"]:
            query = Q()
            for name in options["repo"]:
                query |= Q(full_name__iexact=name.strip())
            tracked = tracked.filter(query)
        matching = tracked
        if options["due_only"]:
            now = timezone.now()
            tracked = tracked.filter(Q(next_sync_after__isnull=True) | Q(next_sync_after__lte=now))
        repos = list(tracked.order_by("team__slug", "full_name"))
        if not repos and options["due_only"]:
            upcoming = matching.order_by("next_sync_after", "team__slug", "full_name").first()
            if upcoming is not None and upcoming.next_sync_after is not None:
                count = matching.count()
                wait = max(0, int((upcoming.next_sync_after - now).total_seconds()))
                self.stdout.write(
                    f"nothing due: {count} active tracked "
                    f"{'repository' if count == 1 else 'repositories'}, none due yet; the next "
                    f"is {upcoming.full_name} (team {upcoming.team.slug}), due "
                    f"{upcoming.next_sync_after:%Y-%m-%d %H:%M:%S} UTC (in {_duration(wait)}); "
                    "run without --due-only to sync now"
                )
                return
        if not repos:
            if options["repo"] or options["team"]:
                raise CommandError(
                    "no active tracked repository matches; add one with "
                    "`track_repository OWNER/NAME --team SLUG`"
                )
            self.stdout.write("nothing to sync: no active tracked repository")
            return
        try:
            client = build_client(on_limit="stop" if options["stop_on_limit"] else "wait")
        except GitHubError as exc:
            raise CommandError(str(exc)) from None

        failed = saved = rejected = 0
        skipped: list[str] = []
        batch = settings.SYNC_BATCH and not options["per_repo"] and not options["full"]
        teams = {repo.pk: repo.team.slug for repo in repos}

        def report(result: SyncResult, label: str) -> None:
            nonlocal failed, saved, rejected
            saved += result.prs_saved + result.repolled
            if result.error:
                failed += 1
                self.stderr.write(f"{label}: failed: {result.error}")
                return
            refused = len(result.stats.rejected)
            rejected += refused
            self.stdout.write(
                f"{label}: {result.mode}, {result.prs_saved} PRs saved, "
                f"{result.repolled} re-polled for CI, {result.requests} requests, "
                f"{result.points} points"
                + (f", {refused} PRs not stored (see the warnings)" if refused else "")
            )

        def label_of(repo: TrackedRepository | None, name: str) -> str:
            if options["team"] or repo is None:
                return name
            return f"{teams[repo.pk]}/{name}"

        with client:
            if batch:
                by_name = {r.full_name: r for r in repos}
                outcome = sync_round(
                    repos, client, on_result=lambda t, r: report(r, label_of(t, r.repository))
                )
                for name in outcome.busy:
                    label = label_of(by_name.get(name), name)
                    self.stderr.write(f"{label}: skipped, another sync of it is running")
                    skipped.append(label)
                if outcome.rate_limited is not None:
                    raise CommandError(
                        f"{outcome.rate_limited} (stopped; run sync_repositories again to resume)"
                    )
            for repo in repos if not batch else []:
                label = label_of(repo, repo.full_name)
                try:
                    result = sync_repository(repo, client, full=options["full"])
                except RepositoryBusy:
                    self.stderr.write(f"{label}: skipped, another sync of it is running")
                    skipped.append(label)
                    continue
                except RateLimited as exc:
                    raise CommandError(
                        f"{label}: {exc} (stopped; run sync_repositories again to resume)"
                    ) from None
                report(result, label)
        synced = len(repos) - failed - len(skipped)
        summary = (
            f"synced {synced} of {len(repos)} repositories, {saved} PRs written, "
            f"{client.stats.requests} requests, {int(client.stats.points_used)} points"
        )
        problems = []
        if failed:
            problems.append(f"{failed} failed (see above)")
        if skipped:
            problems.append(
                f"{len(skipped)} skipped, another sync of it was running: {', '.join(skipped)}"
            )
        if rejected:
            problems.append(f"{rejected} PRs not stored (see the warnings above)")
        if problems:
            raise CommandError(summary + "; " + "; ".join(problems))
        self.stdout.write(summary)


def _duration(seconds: int) -> str:
    """A short human duration: 45s, 12 min, 2 h 5 min."""
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"
