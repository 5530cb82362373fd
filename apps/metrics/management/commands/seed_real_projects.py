"""seed_real_projects: real public PRs into the database, cached, resumable, polite to GitHub.

    python manage.py seed_real_projects --project antiwork --max-prs 10
    python manage.py seed_real_projects --repo pallets/flask --team-slug flask --days-back 90

Credentials, the first that is set (the rule production sync follows too, in
apps/metrics/sync/github.py): --github-token; a GitHub App (GITHUB_APP_ID,
GITHUB_APP_PRIVATE_KEY_PATH, GITHUB_APP_INSTALLATION_ID); GITHUB_SEEDING_TOKENS (comma-separated:
a pool, the one with the most budget left is used); GITHUB_TOKEN. GitHub (or fakehub) at
GITHUB_API_URL.

Exit status: 0 when every repository is up to date; 1 on bad input or an error (one line on
stderr, no traceback), after the summary of what was done; 130 after Ctrl-C (the seed stops
after the current page and resumes on the next run). A repository of a project that GitHub does
not know is reported in one line and skipped, the others are seeded, and the run ends with
"N of M repositories not found" and exit 1. A repository named with --repo that does not exist
is an error. A repository left with no PR says why in one line (e.g. its newest PR is older
than --days-back, with both dates).

Size: over 400 lines because it is the whole of one command: its arguments and their checks, the
choice of credentials, the Rich progress fed by the client's events, Ctrl-C handling, and the
summary with its exit status; the walking itself lives in apps/metrics/seeding and pipeline.
"""

from __future__ import annotations

import re
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection

from apps.integrations.github.errors import BadCredentials, GitHubError, NotFound, RateLimited
from apps.integrations.github.tokens import TokenSource
from apps.metrics.pipeline.pages import GitHubGraphQLFetcher, PRPage, split_repo
from apps.metrics.pipeline.writer import SaveStats
from apps.metrics.seeding.projects import REAL_PROJECTS, RealProject, get_project
from apps.metrics.seeding.seeder import RealProjectSeeder, RepoSeedResult
from apps.metrics.sync.github import build_client, token_source_from_settings

_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
_REPO_PART = re.compile(r"^[A-Za-z0-9_.-]+$")


def _count(value: str | None, flag: str) -> int | None:
    """A whole number >= 0 (0 = no limit) from the command line; None when not given."""
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"{flag} must be a whole number (0 = no limit), got {value!r}") from None
    if number < 0:
        raise CommandError(f"{flag} must be 0 (no limit) or more, got {number}")
    return number


def _page_cap(value: str | None) -> int | None:
    """--max-page-size: a whole number from 1 to 100 (GitHub's `first`); None when not given."""
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= 100:
        raise CommandError(f"--max-page-size must be a whole number from 1 to 100, got {value!r}")
    return number


def _valid_repo(value: str) -> str:
    try:
        owner, name = split_repo(value)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if not _REPO_PART.match(owner) or not _REPO_PART.match(name):
        raise CommandError(f"not a repository name: {value!r} (expected OWNER/NAME)")
    return f"{owner}/{name}"


class _Progress:
    """Rich progress: a bar per repository, points remaining, a countdown while waiting.

    Also the client's listener (on_request / on_wait / on_rate_limit), so requests, budget and
    waits show as they happen. Never sees a token: the client passes only its hash prefix.
    """

    def __init__(self, stream: Any, enabled: bool = True) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(file=stream, highlight=False, soft_wrap=True)
        self.enabled = enabled
        self.points_remaining: int | None = None
        self.reset_at: float | None = None
        self.requests = 0
        self.wait_until: float | None = None
        self.wait_reason = ""
        self._tasks: dict[str, Any] = {}
        self._pages: dict[str, int] = {}
        self._prs: dict[str, int] = {}
        self._current: str | None = None
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[prs]:>5} PRs"),
            TextColumn("{task.fields[pages]:>3} pages"),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=self.console,
            refresh_per_second=4,
            disable=not enabled,
        )

    def __enter__(self) -> _Progress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    # --- SeedProgress -----------------------------------------------------------------------

    def start_repo(self, repo: str, *, resumed: bool, mode: str | None) -> None:
        self._current = repo
        if repo not in self._tasks:
            self._pages[repo] = 0
            self._tasks[repo] = self.progress.add_task(
                repo, total=None, pages=0, prs=0, status="checking for changes"
            )
        if resumed:
            self._set(repo, status=f"resuming {mode} walk")

    def page(self, repo: str, page: PRPage, stats: SaveStats) -> None:
        self._pages[repo] = self._pages.get(repo, 0) + 1
        task = self._tasks.get(repo)
        if task is None:
            return
        total = None
        if page.mode == "full" and page.total_count:
            total = page.total_count
        self._prs[repo] = self._prs.get(repo, 0) + len(page.prs)
        self.progress.update(
            task, advance=len(page.prs), pages=self._pages[repo], prs=self._prs[repo]
        )
        if total is not None:
            self.progress.update(task, total=total)
        self._set(repo, status=self._budget_text())

    def finish_repo(self, result: RepoSeedResult) -> None:
        task = self._tasks.get(result.repo)
        if task is None:
            return
        if result.source == "not_found":
            status = "not found: skipped"
        elif result.completed:
            status = {
                "unchanged": "unchanged (304, 0 points)",
                "cache": "from cache",
            }.get(result.source, f"done ({result.source})")
        elif result.interrupted:
            status = "stopped: resumable"
        else:
            status = "failed: resumable"
        if result.completed:
            self.progress.update(task, total=1, completed=1, prs=result.prs)
        self._set(result.repo, status=status)

    def message(self, text: str) -> None:
        self.console.print(text, markup=False)

    # --- ClientListener ---------------------------------------------------------------------

    def on_request(self, info: Any) -> None:
        self.requests += 1

    def on_wait(self, seconds: float, reason: str) -> None:
        self.wait_until = time.monotonic() + seconds
        self.wait_reason = reason
        if self._current:
            self._set(self._current, status=f"waiting {seconds:.0f}s: {reason}")

    def on_rate_limit(self, state: Any) -> None:
        if getattr(state, "resource", "graphql") == "graphql":
            self.points_remaining = int(state.remaining)
            self.reset_at = float(state.reset_at)

    # --- helpers ----------------------------------------------------------------------------

    def _budget_text(self) -> str:
        if self.points_remaining is None:
            return ""
        reset = ""
        if self.reset_at:
            reset = f", resets in {max(0, int(self.reset_at - time.time()))}s"
        return f"{self.points_remaining} points left{reset}"

    def _set(self, repo: str, **fields: Any) -> None:
        task = self._tasks.get(repo)
        if task is not None:
            self.progress.update(task, **fields)


class Command(BaseCommand):
    help = "Seed the database with the real PRs of public GitHub projects (cached, resumable)."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        fail = parser.error

        def one_line_error(message: str) -> None:
            # argparse prints its usage block too; bad input is one line here.
            if getattr(parser, "called_from_command_line", False):
                sys.stderr.write(f"{prog_name} {subcommand}: error: {message} (see --help)\n")
                sys.exit(2)
            fail(message)

        parser.error = one_line_error  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--project", help=f"a project of the registry ({', '.join(REAL_PROJECTS)}) or 'all'"
        )
        parser.add_argument(
            "--repo",
            action="append",
            default=[],
            metavar="OWNER/NAME",
            help="a repository to seed (repeatable): an ad-hoc project",
        )
        parser.add_argument("--team-slug", help="the team of --repo (default: the first owner)")
        parser.add_argument("--list-projects", action="store_true", help="list projects, exit")
        parser.add_argument("--max-prs", help="PRs per repository (0 = no limit)")
        parser.add_argument("--days-back", help="only PRs created in the last N days (0 = all)")
        parser.add_argument("--refresh", action="store_true", help="drop the cache, fetch all")
        parser.add_argument(
            "--no-cache", action="store_true", help="neither read nor write the cache"
        )
        parser.add_argument("--clear", action="store_true", help="delete the team's PRs first")
        parser.add_argument("--no-check-runs", action="store_true", help="store no check runs")
        parser.add_argument(
            "--rest-check-runs",
            action="store_true",
            help="check runs through REST, one request per PR (the slow fallback)",
        )
        parser.add_argument(
            "--max-page-size",
            help="PRs a page at most, 1-100 (default: GITHUB_MAX_PAGE_SIZE, else the built-in "
            "cap); heavy repositories shrink below it by themselves",
        )
        parser.add_argument(
            "--follow-ups-per-page",
            action="store_true",
            help="complete each page's overflowing PRs with requests of their own "
            "(instead of carrying the follow-ups in the next page's query)",
        )
        parser.add_argument(
            "--per-repo",
            action="store_true",
            help="ask for each repository's first page alone (no many-repository query)",
        )
        parser.add_argument(
            "--github-token",
            help="a token; default: GITHUB_APP_* if set, else GITHUB_SEEDING_TOKENS, "
            "else GITHUB_TOKEN",
        )
        parser.add_argument(
            "--on-limit",
            choices=("wait", "stop"),
            default="wait",
            help="at GitHub's rate limit: wait for the reset (default) or stop, resumable",
        )

    # --- main -------------------------------------------------------------------------------

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list_projects"]:
            self._list_projects()
            return
        max_prs = _count(options["max_prs"], "--max-prs")
        max_page_size = _page_cap(options.get("max_page_size"))
        days_back = _count(options["days_back"], "--days-back")
        plan = self._plan(options)
        tokens = self._tokens(options.get("github_token"))
        self._check_database()

        self._stop_requested = False
        previous = self._install_interrupt()
        progress = _Progress(self.stdout._out)
        # One process: the per-token lock and budget stay in it (no Redis coordination).
        client = build_client(
            tokens, on_limit=options["on_limit"], listener=progress, coordinate=False
        )
        fetcher = GitHubGraphQLFetcher(
            client,
            fetch_check_runs=not options["no_check_runs"],
            rest_check_runs=options["rest_check_runs"],
            max_page_size=max_page_size,
            log=progress.message,
            carry_follow_ups=not options["follow_ups_per_page"],
        )
        results: list[RepoSeedResult] = []
        failure: str | None = None
        cleared = 0
        try:
            with progress:
                for project, explicit in plan:
                    seeder = RealProjectSeeder.for_project(
                        fetcher,
                        project,
                        max_prs=max_prs,
                        days_back=days_back,
                        refresh=options["refresh"],
                        clear=options["clear"],
                        progress=progress,
                        should_stop=lambda: self._stop_requested,
                        batch=not options["per_repo"],
                        use_cache=not options["no_cache"],
                        cache_dir=settings.SEEDING_CACHE_DIR,
                    )
                    if explicit:
                        prefetched = seeder.prefetch(project.repos)
                        for repo in project.repos:
                            try:
                                results.append(
                                    seeder.seed_repo(repo, prefetched=prefetched.get(repo))
                                )
                            except NotFound as exc:
                                raise CommandError(str(exc)) from None
                    else:
                        results.extend(seeder.seed_repos(project.repos))
                    cleared += seeder.cleared
                    if self._stop_requested:
                        break
        except RateLimited as exc:
            failure = f"{exc}"
        except GitHubError as exc:
            failure = str(exc)
        except DatabaseError as exc:
            failure = f"database error: {_one_line(exc)}: check DATABASE_URL / SQLITE_PATH"
        except OSError as exc:
            failure = f"cannot write the seeding cache ({exc.strerror}): check SEEDING_CACHE_DIR"
        except KeyboardInterrupt:
            failure = "aborted; run the same command again to resume from the last saved page"
            self._stop_requested = True
        finally:
            signal.signal(signal.SIGINT, previous)
            client.close()

        if cleared:
            self.stdout.write(f"cleared {cleared} PRs first (--clear)")
        self._summary(results, client)
        if failure is not None:
            raise CommandError(failure, returncode=130 if self._stop_requested else 1)
        if self._stop_requested:
            raise CommandError(
                "interrupted: stopped after a whole page; run the same command again to resume",
                returncode=130,
            )
        missing = [r.repo for r in results if r.source == "not_found"]
        if missing:
            raise CommandError(
                f"{len(missing)} of {len(results)} repositories not found on GitHub: "
                f"{', '.join(missing)} (the others were seeded; see the lines above)"
                if len(missing) < len(results)
                else f"{len(missing)} of {len(results)} repositories not found on GitHub: "
                f"{', '.join(missing)}; nothing was seeded"
            )
        if results and not any(r.ok for r in results):
            raise CommandError("no repository could be seeded (see the lines above)")

    # --- input ------------------------------------------------------------------------------

    def _plan(self, options: dict[str, Any]) -> list[tuple[RealProject, bool]]:
        """[(project, explicit)]: registry projects, or the ad-hoc one made of --repo."""
        plan: list[tuple[RealProject, bool]] = []
        name = options.get("project")
        if name:
            if name == "all":
                plan.extend((project, False) for project in REAL_PROJECTS.values())
            else:
                try:
                    plan.append((get_project(name), False))
                except KeyError as exc:
                    raise CommandError(exc.args[0]) from None
        repos = [_valid_repo(value) for value in options.get("repo") or []]
        if repos:
            slug = options.get("team_slug") or repos[0].split("/")[0].lower()
            if not _SLUG.match(slug):
                raise CommandError(f"--team-slug must be letters, digits, - or _, got {slug!r}")
            unique = tuple(dict.fromkeys(repos))
            plan.append((RealProject(name=slug, team_name=slug, repos=unique), True))
        elif options.get("team_slug"):
            raise CommandError("--team-slug goes with --repo OWNER/NAME")
        if not plan:
            known = ", ".join(REAL_PROJECTS)
            raise CommandError(
                f"nothing to seed: pass --project NAME ({known} or all) or --repo OWNER/NAME"
            )
        return plan

    def _tokens(self, explicit: str | None) -> TokenSource:
        """The credentials, by `apps/metrics/sync/github.py`'s rule (the one sync uses too)."""
        try:
            return token_source_from_settings(explicit)
        except BadCredentials as exc:
            if explicit is not None:
                raise CommandError("--github-token is empty") from None
            raise CommandError(f"{exc}, or pass --github-token") from None
        except GitHubError as exc:
            raise CommandError(str(exc)) from None

    def _check_database(self) -> None:
        """Fail in one line, before any request, when the database cannot be used."""
        from apps.metrics.models import Team, TrackedRepository

        try:
            connection.ensure_connection()
            Team.objects.exists()
            TrackedRepository.objects.exists()
        except DatabaseError as exc:
            text = _one_line(exc)
            if "no such table" in text or "does not exist" in text:
                raise CommandError(
                    f"the database has no tables ({text}): run `python manage.py migrate` first"
                ) from None
            raise CommandError(
                f"database unreachable ({text}): check DATABASE_URL / SQLITE_PATH"
            ) from None

    # --- Ctrl-C -----------------------------------------------------------------------------

    def _install_interrupt(self) -> Callable[..., Any] | int | None:
        def on_sigint(signum: int, frame: Any) -> None:
            if self._stop_requested:
                raise KeyboardInterrupt  # a second Ctrl-C: stop now (the open page rolls back)
            self._stop_requested = True
            self.stderr.write("stopping after the current page (Ctrl-C again to abort)...")

        try:
            return signal.signal(signal.SIGINT, on_sigint)
        except ValueError:  # not the main thread (e.g. called from a worker): no handler
            return signal.getsignal(signal.SIGINT)

    # --- output -----------------------------------------------------------------------------

    def _list_projects(self) -> None:
        for project in REAL_PROJECTS.values():
            limits = []
            if project.max_prs:
                limits.append(f"max {project.max_prs} PRs/repo")
            if project.days_back:
                limits.append(f"last {project.days_back} days")
            suffix = f" ({', '.join(limits)})" if limits else ""
            self.stdout.write(f"{project.name:<10} {', '.join(project.repos)}{suffix}")
            if project.description:
                self.stdout.write(f"{'':<10} {project.description}")

    def _summary(self, results: list[RepoSeedResult], client: Any) -> None:
        if not results:
            return
        total = SaveStats()
        requests = points = prs = 0
        for r in results:
            s = r.stats
            total = total + s
            requests += r.requests
            points += r.points
            prs += r.prs
            if r.source == "not_found":
                self.stdout.write(f"{r.repo}: not found on GitHub, skipped")
                continue
            self.stdout.write(
                f"{r.repo}: {r.source or 'failed'}, {r.prs} PRs "
                f"({s.prs_created} new, {s.prs_updated} updated), {s.reviews} reviews, "
                f"{s.commits} commits, {s.files} files, {s.check_runs} check runs, "
                f"{s.members_created} members created; {r.requests} requests, {r.points} points"
            )
        stats = getattr(client, "stats", None)
        if stats is not None:
            # Many-repository queries belong to no single repository: the client's totals.
            requests = int(stats.requests)
            points = int(stats.points_used)
        self.stdout.write(
            f"total: {len(results)} repositories, {prs} PRs, {total.reviews} reviews, "
            f"{total.commits} commits, {total.files} files, {total.check_runs} check runs, "
            f"{total.members_created} members created; {requests} requests, "
            f"{points} points used, {_budget(client)}"
        )


def _budget(client: Any) -> str:
    """What is known of the token's budgets: GraphQL points and REST core requests remaining.

    An all-304 run sends no GraphQL request, so GitHub told us nothing of the points; the REST
    probe's `x-ratelimit-*` headers still give the core budget.
    """
    limits = getattr(client, "rate_limits", None) or {}
    graphql, core = limits.get("graphql"), limits.get("core")
    if graphql is not None:
        text = f"points remaining {graphql.remaining:,} (resets {_hhmm(graphql.reset_at)})"
    else:
        text = "GraphQL points remaining unknown this run (no GraphQL request)"
    if core is not None:
        text += f"; REST {core.remaining:,} remaining (resets {_hhmm(core.reset_at)})"
    return text


def _hhmm(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M UTC")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
