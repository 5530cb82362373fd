"""RealProjectSeeder: a project's real PRs into the database, resumable, cache first.

Size: over 400 lines because every decision about the seeding cache is made here, beside the
seed it serves: which cache to trust (limits, check runs, a fuller one kept), when it refills the
database, when a walk spools its pages, and how a completed walk's pages become the new file.

For each repository: one change check (the REST pulls probe with the cache's ETag; a `304`
costs no point), then either nothing (unchanged), an incremental walk (only PRs updated since),
or a full walk; every page is saved with its checkpoint (apps/metrics/pipeline/walk.py), so a seed
stopped at any point resumes on the next run. The fetcher reads GitHub, the writer writes rows,
and neither touches the cache: this module decides what is read from it and written to it, and
counts what the seed cost.

Repository state lives in TrackedRepository (get-or-create by team + full name), shared with
production sync; the GraphQL budget GitHub reported is recorded there too (points remaining and
reset, for the sync status page). The cache is the team's (`<SEEDING_CACHE_DIR>/<team>/`), so two
teams seeding one repository keep their own view; a seed with narrower limits than the team's
cache (`--max-prs 10` after a seed of everything) keeps that cache and goes by the database.
With the cache on, each page is also spooled beside the cache file as it arrives, before its
rows are committed (apps/metrics/seeding/spool.py), so a resumed walk still ends with a complete
cache file, and a resumed full walk writes the pages it had fetched from there instead of
fetching them again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, reset_queries, transaction

from apps.integrations.github.errors import GitHubError, NotFound, RateLimited
from apps.integrations.github.repos import page_batch_size
from apps.metrics.models import PullRequest, Team, TrackedRepository
from apps.metrics.pipeline.fetched import FetchedPRFull
from apps.metrics.pipeline.pages import FULL, ChangeCheck, GitHubGraphQLFetcher, PRPage
from apps.metrics.pipeline.refused import refused_updates
from apps.metrics.pipeline.renames import follow_rename
from apps.metrics.pipeline.walk import WalkPlan, new_walk, open_walk, walk_repository
from apps.metrics.pipeline.writer import SaveStats, save_page, save_pull_requests
from apps.metrics.seeding import cache as pr_cache
from apps.metrics.seeding.cache import CacheCorrupt, PRCache, get_cache_path
from apps.metrics.seeding.progress import CollectingProgress, RepoSeedResult, SeedProgress
from apps.metrics.seeding.projects import RealProject
from apps.metrics.seeding.spool import PageSpool, drop_partial, save_with_partial, start_partial

logger = logging.getLogger(__name__)

CACHE_WRITE_CHUNK = 100  # PRs per transaction when the database is filled from the cache

# TrackedRepository's record of the options ({"max_prs", "days_back", "check_runs"}) its rows
# were fetched with: the last full walk's, or the cache's it was refilled from. Without it a
# seed with wider limits (or check runs back on) and --no-cache would trust a 304 about rows
# the earlier seed never fetched.
OPTIONS_FIELD = "seed_options"


@dataclass(frozen=True, slots=True)
class Prefetched:
    """What a many-repository query already brought for a repository that starts cold: the
    change check (made before the page was asked for, so its watermark is safe), the first
    page (None when the batch could not give it: the walk asks for it), or GitHub's NotFound."""

    check: ChangeCheck | None = None
    page: Any = None
    error: NotFound | None = None


@dataclass
class _Usage:
    requests: int = 0
    graphql_requests: int = 0
    points: int = 0


def _usage(client: Any) -> _Usage:
    stats = getattr(client, "stats", None)
    if stats is None:
        return _Usage()
    return _Usage(
        requests=int(getattr(stats, "requests", 0) or 0),
        graphql_requests=int(getattr(stats, "graphql_requests", 0) or 0),
        points=int(getattr(stats, "points_used", 0) or 0),
    )


class RealProjectSeeder:
    """Seed repositories into one team through one fetcher (hence one client and its budget)."""

    def __init__(
        self,
        fetcher: GitHubGraphQLFetcher,
        *,
        team_slug: str,
        team_name: str | None = None,
        max_prs: int | None = None,
        days_back: int | None = None,
        refresh: bool = False,
        clear: bool = False,
        progress: SeedProgress | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        batch: bool = True,
        use_cache: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.fetcher = fetcher
        # Several repositories starting cold: their first pages in one query (`prefetch`).
        self.batch = batch
        self.client = fetcher.client
        self.team_slug = team_slug
        self.team_name = team_name or team_slug
        self.max_prs = max_prs or None
        self.days_back = days_back or None
        self.refresh = refresh
        # --clear waits for GitHub's first good answer: a bad token must not cost the data.
        self._clear_pending = clear
        self.cleared = 0
        self.progress = progress
        self.should_stop = should_stop
        self._team: Team | None = None
        self.use_cache = use_cache
        if cache_dir is None:
            cache_dir = settings.SEEDING_CACHE_DIR
        # Where team-less cache files (written before caches were kept per team) are found.
        self.shared_cache_dir = Path(cache_dir)
        # The team's own cache folder; `_cache_on` says whether this repository's seed uses it.
        self.cache_dir = pr_cache.team_cache_dir(cache_dir, team_slug)
        self._cache_on = use_cache

    @classmethod
    def for_project(
        cls, fetcher: GitHubGraphQLFetcher, project: RealProject, **kwargs: Any
    ) -> RealProjectSeeder:
        """A seeder for `project`'s team, its limits unless `max_prs` / `days_back` are given."""
        kwargs.setdefault("max_prs", project.max_prs)
        kwargs.setdefault("days_back", project.days_back)
        if kwargs["max_prs"] is None:
            kwargs["max_prs"] = project.max_prs
        if kwargs["days_back"] is None:
            kwargs["days_back"] = project.days_back
        return cls(fetcher, team_slug=project.team_slug, team_name=project.team_name, **kwargs)

    # --- team -------------------------------------------------------------------------------

    @property
    def team(self) -> Team:
        """The team, created on first need (after GitHub accepted the token)."""
        if self._team is None:
            self._team, _ = Team.objects.get_or_create(
                slug=self.team_slug, defaults={"name": self.team_name}
            )
        return self._team

    def existing_team(self) -> Team | None:
        if self._team is None:
            self._team = Team.objects.filter(slug=self.team_slug).first()
        return self._team

    def clear(self) -> int:
        """Delete the team's PRs (children cascade) and its repositories' sync state."""
        team = self.existing_team()
        if team is None:
            return 0
        with transaction.atomic():
            deleted = PullRequest.objects.filter(team=team).count()
            PullRequest.objects.filter(team=team).delete()
            TrackedRepository.objects.filter(team=team).delete()
        return deleted

    # --- seeding ----------------------------------------------------------------------------

    def seed_repos(self, repos: Sequence[str]) -> list[RepoSeedResult]:
        """Seed each repository in turn; a repository GitHub does not know is reported, skipped.

        Other errors propagate (the repository's checkpoint stays for the next run).
        """
        results: list[RepoSeedResult] = []
        prefetched = self.prefetch(repos)
        for repo in repos:
            if self.should_stop():
                break
            try:
                results.append(self.seed_repo(repo, prefetched=prefetched.get(repo)))
            except NotFound as exc:
                result = RepoSeedResult(repo=repo, source="not_found", error=str(exc))
                results.append(result)
                self._say(f"skipped: {exc}")
                if self.progress is not None:
                    self.progress.finish_repo(result)
        return results

    def prefetch(self, repos: Sequence[str]) -> dict[str, Prefetched]:
        """First pages of the repositories that start cold, several to a GraphQL query.

        Each cold repository's change check (the REST probe: its ETag and newest `updatedAt`
        are what the walk finishes with) is sent first, then the first pages go in
        `fetch_repositories` calls sized by `page_batch_size`. A batch GitHub cannot answer
        (a 5xx, a timeout) is not retried as a batch: its repositories' walks ask for their
        first pages alone, with the adaptive page size. Nothing when batching is off or fewer
        than two repositories start cold.
        """
        if not self.batch:
            return {}
        cold = [repo for repo in dict.fromkeys(repos) if self._starts_cold(repo)]
        if len(cold) < 2:
            return {}
        out: dict[str, Prefetched] = {}
        checks: dict[str, ChangeCheck] = {}
        for repo in cold:
            try:
                checks[repo] = self.fetcher.check_for_changes(repo)
            except NotFound as exc:
                out[repo] = Prefetched(error=exc)
        first = min(self.fetcher.max_page_size, self.max_prs or self.fetcher.max_page_size)
        names = list(checks)
        size = page_batch_size(first)
        for start in range(0, len(names), size):
            chunk = names[start : start + size]
            pages: dict[str, Any] = {}
            try:
                snapshots = self.client.fetch_repositories(chunk, first=first, retry=False)
            except RateLimited:
                raise
            except GitHubError as exc:
                self._say(f"first pages of {len(chunk)} repositories in one query failed: {exc}")
                snapshots = []
            for snap in snapshots:
                if snap.found and not snap.failed:
                    pages[snap.full_name] = snap.page
            for repo in chunk:
                out[repo] = Prefetched(check=checks[repo], page=pages.get(repo))
        return out

    def _starts_cold(self, repo: str) -> bool:
        """Whether seeding `repo` is a new full walk from the top (nothing usable kept)."""
        if self.refresh:
            return True
        team = self.existing_team()
        tracked = (
            TrackedRepository.objects.filter(team=team, full_name=repo).first() if team else None
        )
        if self._clear_pending:
            tracked = None  # its state goes with the team's PRs (--clear)
        if tracked is not None and open_walk(tracked) is not None:
            return False
        if self.use_cache:
            # A cache refills the database (--clear too) and is checked with its ETag.
            # The team's cache, or a team-less one from before caches were kept per team.
            return not (
                get_cache_path(repo, self.cache_dir).exists()
                or get_cache_path(repo, self.shared_cache_dir).exists()
            )
        return tracked is None or tracked.watermark is None

    def seed_repo(self, repo: str, *, prefetched: Prefetched | None = None) -> RepoSeedResult:
        """Bring `repo`'s PRs in the database up to date with GitHub; resumable at any point.

        `prefetched`: its change check and first page from `prefetch()`, used instead of
        asking for them again.
        """
        before = _usage(self.client)
        result = RepoSeedResult(repo=repo)
        try:
            if prefetched is not None and prefetched.error is not None:
                raise prefetched.error
            self._seed_repo(repo, result, prefetched)
        except RateLimited:
            self._record_budget(repo)
            raise
        else:
            self._record_budget(repo)
            if result.completed:
                self._explain_if_empty(repo, result)
        finally:
            after = _usage(self.client)
            result.requests = after.requests - before.requests
            result.graphql_requests = after.graphql_requests - before.graphql_requests
            result.points = after.points - before.points
        if self.progress is not None:
            self.progress.finish_repo(result)
        return result

    def fetch_prs_with_details(self, repo: str) -> list[FetchedPRFull]:
        """Seed `repo` (`seed_repo`), then return its PRs, newest created first, complete.

        The seed's list API: it holds the repository's PRs by nature, where `seed_repo` holds a
        page. With the cache on they are the team's cache file as the seed left it (an unchanged
        repository costs one `304` request and no point; a changed one only the PRs updated
        since); otherwise (`use_cache=False`, or a fuller cache kept as it is) the PRs this seed
        fetched. `days_back` leaves out PRs created before the cut-off, as the seed does.
        """
        collected = CollectingProgress(self.progress)
        self.progress = collected
        try:
            result = self.seed_repo(repo)
        finally:
            self.progress = collected.inner
        cache = PRCache.load(result.repo, self.cache_dir) if self._cache_on else None
        # A PR held back for its follow-ups comes with a later page (and is spooled so): put
        # every PR back in creation order.
        found = cache.iter_prs() if cache is not None else collected.prs
        prs = sorted(found, key=lambda pr: (pr.created_at, pr.number), reverse=True)
        if self.days_back:
            since = datetime.now(UTC) - timedelta(days=self.days_back)
            prs = [pr for pr in prs if pr.created_at >= since]
        return prs

    def _explain_if_empty(self, repo: str, result: RepoSeedResult) -> None:
        """When the repository has no PR stored after a completed seed, say why in one line."""
        team = self.existing_team()
        if team is None or PullRequest.objects.filter(team=team, github_repo=repo).exists():
            return
        if self.days_back:
            cut = datetime.now(UTC) - timedelta(days=self.days_back)
            reason = f"no PR created in the last {self.days_back} days (since {cut:%Y-%m-%d})"
            if result.cut_created_at is not None:
                reason += f": the newest PR was created {result.cut_created_at:%Y-%m-%d}"
            elif result.source == "unchanged":
                reason += ", and nothing changed on GitHub since the last seed"
            reason += "; a larger --days-back (0 = all) fetches older ones"
        elif result.source == "unchanged":
            reason = "no PR stored, and nothing changed on GitHub since the last seed"
        else:
            reason = "GitHub has no pull request in this repository"
        result.empty_reason = reason
        self._say(f"{repo}: 0 PRs: {reason}")

    def _record_budget(self, repo: str) -> None:
        """Keep the GraphQL budget GitHub last reported on the repository's row (what the sync
        status page shows). A run that sent no GraphQL request learnt nothing: left as it was."""
        state = (getattr(self.client, "rate_limits", None) or {}).get("graphql")
        team = self.existing_team()
        if state is None or team is None:
            return
        try:
            TrackedRepository.objects.filter(team=team, full_name=repo).record_sync(
                rate_limit_remaining=int(state.remaining),
                rate_limit_reset_at=datetime.fromtimestamp(float(state.reset_at), UTC),
            )
        except DatabaseError:  # the seed's own error (if any) is the one to report
            logger.warning("%s: could not record the rate-limit budget", repo)

    def _seed_repo(
        self, repo: str, result: RepoSeedResult, prefetched: Prefetched | None = None
    ) -> None:
        fetcher = self.fetcher
        self._cache_on = use_cache = self.use_cache
        if use_cache:
            pr_cache.adopt_shared(repo, self.shared_cache_dir, self.team_slug)
        team = self.existing_team()
        tracked = (
            TrackedRepository.objects.filter(team=team, full_name=repo).first() if team else None
        )
        if self._clear_pending:
            tracked = None  # its state goes with the team's PRs once GitHub has answered
        if self.refresh:
            PRCache.delete(repo, self.cache_dir)
            if tracked is not None:
                self._reset(tracked)

        plan = open_walk(tracked) if tracked is not None else None
        if plan is not None and (
            (plan.mode == FULL and not self._same_limits(plan)) or not self._options_agree(tracked)
        ):
            self._say(
                f"{repo}: limits or check runs changed since the interrupted seed; starting over"
            )
            self._reset(tracked)
            plan = None
        if plan is not None:
            self._start(repo, resumed=True, mode=plan.mode)
            result.source = "resumed"
            self._run_walk(repo, tracked, plan, result)
            return

        cache = self._load_cache(repo)
        use_cache = self._cache_on
        if use_cache:
            etag = cache.etag if cache is not None else None
            pushed_at = cache.repo_pushed_at if cache is not None else None
        else:
            in_db = tracked is not None and tracked.watermark is not None
            etag = (tracked.etag or None) if in_db else None
            pushed_at = tracked.pushed_at if in_db else None
        self._start(repo, resumed=False, mode=None)
        if prefetched is not None and prefetched.check is not None:
            check = prefetched.check
        else:
            prefetched = None  # not cold after all: nothing of the batch is used
            check = fetcher.check_for_changes(repo, etag=etag, pushed_at=pushed_at)
        # GitHub accepted the token and knows the repository: from here on we may write.
        if self._clear_pending:
            self._clear_pending = False
            self.cleared = self.clear()
            tracked = None
        if check.renamed_to:
            # GitHub answers under another name now: rows, state and cache follow it.
            tracked = follow_rename(
                self.existing_team(),
                repo,
                check.renamed_to,
                cache_dir=self.cache_dir if use_cache else None,
                tracked=tracked,
                log=self._say,
            )
            repo = result.repo = check.renamed_to if tracked is None else tracked.full_name
            if cache is not None:
                cache = self._load_cache(repo)
        tracked = tracked or self._tracked(repo)

        if cache is not None and not self._sync_db_with_cache(tracked, cache, result):
            cache = None  # corrupt: a full walk rebuilds it
        if cache is not None:
            if not check.changed:
                result.source = result.source or "unchanged"
                result.completed = True
                return
            plan = new_walk(tracked, check, full=False)
        elif use_cache:
            plan = new_walk(
                tracked, check, full=True, max_prs=self.max_prs, days_back=self.days_back
            )
        else:
            if tracked.watermark is not None and not self._options_agree(tracked):
                # The rows were fetched with other limits or check runs: a 304 says nothing
                # about the PRs they left out (or the check runs they lack).
                self._say(
                    f"{repo}: the last seed used other options "
                    f"({_describe(self._stored_options(tracked))}; now "
                    f"{_describe(self._options())}); fetching again in full"
                )
                self._reset(tracked)
            if not check.changed and tracked.watermark is not None:
                result.source = "unchanged"
                result.completed = True
                return
            plan = new_walk(
                tracked,
                check,
                full=tracked.watermark is None,
                max_prs=self.max_prs,
                days_back=self.days_back,
            )
        if plan.mode == FULL:
            self._store_options(tracked, self._options())
        result.source = plan.mode
        first_page = prefetched.page if prefetched is not None and plan.mode == FULL else None
        self._run_walk(repo, tracked, plan, result, first_page=first_page)

    def _load_cache(self, repo: str) -> PRCache | None:
        """The team's cache of `repo` when it answers this seed's options, else None.

        A cache fetched with wider limits is kept as it is: this seed then goes by the
        database (`_cache_on` off for the repository), so it never replaces a fuller cache.
        """
        if not self._cache_on:
            return None
        cache = PRCache.load(repo, self.cache_dir)
        if cache is None:
            return None
        options = self._options()
        if cache.is_valid(**options):
            return cache
        if cache.is_fuller_than(**options):
            self._say(
                f"{repo}: the cache holds more ({_describe(_cache_options(cache))}, "
                f"{cache.pr_count} PRs) than this seed asks for ({_describe(options)}): "
                "kept as it is; this seed goes by the database"
            )
            self._cache_on = False
            return None
        self._say(
            f"{repo}: the cache was fetched with other options "
            f"({_describe(_cache_options(cache))}; now {_describe(options)}); refetching"
        )
        return None

    # --- walks ------------------------------------------------------------------------------

    def _run_walk(
        self,
        repo: str,
        tracked: TrackedRepository,
        plan: WalkPlan,
        result: RepoSeedResult,
        *,
        first_page: Any = None,
    ) -> None:
        fetcher = self.fetcher
        cache_dir = self.cache_dir
        spool = None
        if self._cache_on:
            if not plan.resumed:
                start_partial(repo, cache_dir, plan.walk_id)
            # The cache's partial pages: each page is kept there as it arrives, before its rows
            # are committed, and a resumed full walk writes them from there instead of fetching.
            spool = PageSpool(repo, cache_dir)

        def on_page(page: PRPage, stats: SaveStats) -> None:
            if page.cut_created_at is not None and result.cut_created_at is None:
                result.cut_created_at = page.cut_created_at
            if self.progress is not None:
                self.progress.page(repo, page, stats)

        walk = walk_repository(
            fetcher,
            tracked,
            plan,
            should_stop=self.should_stop,
            on_page=on_page,
            spool=spool,
            first_page=first_page,
        )
        result.prs += walk.prs
        result.pages += walk.pages
        result.stats = result.stats + walk.stats
        result.completed = walk.completed
        result.interrupted = walk.interrupted
        if walk.completed and self._cache_on:
            self._store_cache(repo, tracked, plan)

    def _store_cache(self, repo: str, tracked: TrackedRepository, plan: WalkPlan) -> None:
        """Fold a completed walk's pages into the cache file (or drop it when they are missing).

        Streamed: a full walk's pages are copied in walk order; an incremental walk's PRs (the
        changed ones) are merged into the old file as it is copied. No more than the changed
        PRs is held.
        """
        fetcher = self.fetcher
        base: PRCache | None = None
        if plan.mode == FULL:
            fuller = pr_cache.fuller_on_disk(
                repo,
                self.cache_dir,
                max_prs=plan.max_prs,
                days_back=plan.days_back,
                check_runs=fetcher.check_runs_mode,
            )
            if fuller is not None:
                self._say(
                    f"{repo}: cache kept ({fuller.pr_count} PRs, "
                    f"{_describe(_cache_options(fuller))}): this walk fetched less"
                )
                drop_partial(repo, self.cache_dir)
                return
            base = PRCache(
                repo=repo,
                fetched_at=plan.started_at,
                max_prs=plan.max_prs,
                days_back=plan.days_back,
                check_runs=fetcher.check_runs_mode,
            )
        else:
            base = PRCache.load(repo, self.cache_dir)
        stored = False
        if base is not None:
            base.fetched_at = plan.started_at
            base.etag = tracked.etag or None
            base.watermark = tracked.watermark
            base.page_size = tracked.page_size
            base.repo_pushed_at = tracked.pushed_at or base.repo_pushed_at
            try:
                stored = save_with_partial(base, self.cache_dir, plan.walk_id)
            except CacheCorrupt as exc:
                self._say(str(exc))
        if not stored:
            self._say(f"{repo}: cache not updated (its pages of this walk are missing); dropped")
            PRCache.delete(repo, self.cache_dir)
            return
        drop_partial(repo, self.cache_dir)

    def _sync_db_with_cache(
        self, tracked: TrackedRepository, cache: PRCache, result: RepoSeedResult
    ) -> bool:
        """Write the cached PRs when the database does not hold them yet (new DB, --clear).

        False when the cache turned out corrupt while it was read (said in one line, dropped):
        the caller then walks as if there were no cache.
        """
        watermark = cache.since_watermark
        in_sync = (
            tracked.checkpoint is None
            and tracked.last_synced_at is not None
            and (tracked.etag or None) == cache.etag
            and tracked.watermark == watermark
            and self._options_agree(tracked, _cache_options(cache))
        )
        if in_sync:
            return True
        try:
            return self._write_cache_to_db(tracked, cache, result)
        except CacheCorrupt as exc:
            self._say(str(exc))
            PRCache.delete(tracked.full_name, self.cache_dir)
            # Whatever was written from it is fetched again: each PR is counted once, by the walk.
            result.source = ""
            result.prs = 0
            result.stats = SaveStats()
            return False

    def _note_refused(self, tracked: TrackedRepository, prs: list[FetchedPRFull]) -> dict[str, Any]:
        """Fields GitHub refused on cached PRs: noted in memory (saved with the last chunk)."""
        updates = refused_updates(tracked, prs, self._say)
        if updates:
            tracked.unavailable_fields = updates["unavailable_fields"]
        return updates

    def _write_cache_to_db(
        self, tracked: TrackedRepository, cache: PRCache, result: RepoSeedResult
    ) -> bool:
        """Write the cached PRs, streamed, then close the repository's state in sync with them."""
        watermark = cache.since_watermark
        result.source = "cache"
        # Streamed, a chunk at a time; the last chunk closes the state in its own transaction.
        chunk: list[FetchedPRFull] = []
        refused: dict[str, Any] = {}
        for pr in cache.iter_prs():
            if len(chunk) == CACHE_WRITE_CHUNK:
                refused.update(self._note_refused(tracked, chunk))
                result.stats = result.stats + save_pull_requests(tracked.team, chunk)
                result.prs += len(chunk)
                chunk = []
                reset_queries()
            chunk.append(pr)
        refused.update(self._note_refused(tracked, chunk))
        options = {OPTIONS_FIELD: _cache_options(cache), **refused}
        result.stats = result.stats + save_page(
            tracked,
            chunk,
            None,
            **options,
            etag=cache.etag or "",
            watermark=watermark,
            page_size=cache.page_size,
            pushed_at=cache.repo_pushed_at,
            last_synced_at=datetime.now(UTC),
            status=TrackedRepository.Status.OK,
            last_error="",
        )
        result.prs += len(chunk)
        reset_queries()
        return True

    # --- helpers ----------------------------------------------------------------------------

    def _tracked(self, repo: str) -> TrackedRepository:
        tracked, _ = TrackedRepository.objects.get_or_create(team=self.team, full_name=repo)
        return tracked

    def _reset(self, tracked: TrackedRepository) -> None:
        """Forget a repository's walk state: the next walk is a full one."""
        values: dict[str, Any] = {"checkpoint": None, "watermark": None, "etag": ""}
        tracked.record_sync(**values)

    def _same_limits(self, plan: WalkPlan) -> bool:
        return (plan.max_prs or None) == self.max_prs and (plan.days_back or None) == self.days_back

    # --- what the rows were fetched with ---------------------------------------------------

    def _options(self) -> dict[str, Any]:
        """This seed's options that decide what a repository's rows hold."""
        return {
            "max_prs": self.max_prs,
            "days_back": self.days_back,
            "check_runs": self.fetcher.check_runs_mode,
        }

    @staticmethod
    def _stored_options(tracked: TrackedRepository) -> dict[str, Any]:
        """The options of the repository's last full walk (or cache refill); {} when unknown."""
        stored = getattr(tracked, OPTIONS_FIELD, None)
        return stored if isinstance(stored, dict) else {}

    def _options_agree(
        self, tracked: TrackedRepository, options: dict[str, Any] | None = None
    ) -> bool:
        """True unless `options` (default: this seed's) and the stored ones differ in a key
        both know (state written before the options were recorded is taken as it is)."""
        stored = self._stored_options(tracked)
        wanted = self._options() if options is None else options
        return all(stored[key] == wanted[key] for key in stored.keys() & wanted.keys())

    @staticmethod
    def _store_options(tracked: TrackedRepository, options: dict[str, Any]) -> None:
        """Record the options a full walk starts with (its rows are fetched with them)."""
        tracked.record_sync(**{OPTIONS_FIELD: options})

    def _start(self, repo: str, *, resumed: bool, mode: str | None) -> None:
        if self.progress is not None:
            self.progress.start_repo(repo, resumed=resumed, mode=mode)

    def _say(self, text: str) -> None:
        if self.progress is not None:
            self.progress.message(text)
        else:
            logger.warning(text)


def _cache_options(cache: PRCache) -> dict[str, Any]:
    """The options a cache file was fetched with (check runs left out when it predates them)."""
    options: dict[str, Any] = {"max_prs": cache.max_prs, "days_back": cache.days_back}
    if cache.check_runs is not None:
        options["check_runs"] = cache.check_runs
    return options


def _describe(options: dict[str, Any]) -> str:
    if not options:
        return "unknown"
    parts = [f"{key}={options[key] or 0}" for key in ("max_prs", "days_back") if key in options]
    if "check_runs" in options:
        parts.append(f"check runs: {options['check_runs']}")
    return ", ".join(parts)


__all__ = ["ChangeCheck", "Prefetched", "RealProjectSeeder", "RepoSeedResult", "SeedProgress"]
