"""The resumable page walk, shared by seeding and production sync.

`walk_repository()` drives `GitHubGraphQLFetcher.iter_pr_pages()` for one TrackedRepository and
hands every page to the writer together with the checkpoint that follows it
(`writer.save_page`: rows + checkpoint in one transaction). Whatever stops a walk (rate limit,
Ctrl-C, crash, kill -9) the database holds whole pages and the checkpoint of the last one, so
the next call resumes there and the walk ends with exactly the rows an uninterrupted walk gives.

- A full walk (`CREATED_AT DESC`) resumes from its cursor: creation order is stable.
- An incremental walk (`UPDATED_AT DESC`) always starts from the top and stops at the stored
  watermark minus the overlap: an old cursor in an order that moves is not trusted.
- The watermark (and the ETag of the change check that started the walk) move only when the
  walk completes, in the transaction of its last page.
- Pipelined: while page N is mapped and written (main thread: PRs, rows + checkpoint), page N+1
  is fetched by one background thread, which does no more between an answer and the next request
  than the walk's decisions need (cursor, stops, carried follow-ups, the spool's append of the
  nodes). That thread is the only one talking to GitHub during the walk, so one token still has
  one request in flight; the database is only touched from the caller's thread (Django
  connections are per thread). A fetch error surfaces when its page is taken, after the pages
  before it were written.

What a kill costs (pages fetched again on the next run):

- With a spool (a `Spool`: seeds with the cache on pass apps/metrics/seeding/spool.py's), each
  page is appended to the spool by the fetching thread as soon as it arrives, before the next
  request and before the page is handed over to be written. A resumed
  full walk first writes the spooled pages that follow its checkpoint (chained by their start
  cursors) with the checkpoints they would have had, then fetches on. Such a walk opens its
  checkpoint before its first request, so even a kill before the first commit resumes it. Only
  the page in flight is lost: at most one page per kill.
- Without a spool (production sync, `--no-cache` seeds), a kill during page N's write loses N
  (fetched, not committed) and N+1 (in flight, since the prefetch overlaps the write): at most
  two pages per kill, one when the kill lands outside a write. An incremental walk restarts from
  the top anyway.

Checkpoint JSON (docs/ARCHITECTURE.md), plus keys that make a resume exact:
`{"mode", "cursor", "page_size", "high_water", "started_at", "prs_done",
  "target_watermark", "etag", "pushed_at", "max_prs", "days_back"}`.

Size: over 400 lines because the resumable walk is one job: the plan and its checkpoint, the
prefetching thread, the spool replay and the completion must agree on what a page and its
checkpoint are, so that a kill at any point resumes exactly; splitting them would hide that.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from django.db import DatabaseError, reset_queries

from apps.integrations.github.errors import GitHubError, RateLimited
from apps.integrations.github.transport import when_sent
from apps.metrics.dates import parse_github_datetime, to_github_iso
from apps.metrics.models import PullRequest, TrackedRepository
from apps.metrics.pipeline.fetched import FetchedPRFull
from apps.metrics.pipeline.pages import (
    FULL,
    INCREMENTAL,
    MAX_PAGE_SIZE,
    ChangeCheck,
    GitHubGraphQLFetcher,
    PRPage,
)
from apps.metrics.pipeline.refused import refused_updates
from apps.metrics.pipeline.writer import SaveStats, save_page

logger = logging.getLogger(__name__)


@dataclass
class WalkResult:
    """How a walk went: complete or where it stopped, and what it wrote."""

    repo: str
    mode: str
    completed: bool = False
    resumed: bool = False
    interrupted: bool = False  # stopped on request (Ctrl-C) after a whole page
    pages: int = 0
    replayed: int = 0  # of `pages`: written from the spool of an earlier run, not fetched
    prs: int = 0
    points: int = 0
    page_size: int = MAX_PAGE_SIZE
    stats: SaveStats = field(default_factory=SaveStats)


@dataclass(frozen=True, slots=True)
class WalkPlan:
    """Where a walk starts: a new walk, or the open checkpoint of an interrupted one."""

    mode: str
    cursor: str | None
    page_size: int
    high_water: datetime | None
    started_at: datetime
    prs_done: int
    target_watermark: datetime | None
    etag: str | None
    pushed_at: datetime | None
    max_prs: int | None
    days_back: int | None
    resumed: bool
    # PRs held back by the last saved page, still completing (PRPage.held): a resumed full
    # walk asks for them by node id before its first page.
    held: tuple[str, ...] = ()

    @property
    def walk_id(self) -> str:
        """Identifies this walk across resumes (its partial cache pages carry it)."""
        return f"{self.mode}:{self.started_at.isoformat()}"

    def checkpoint(self, page: PRPage | None, prs_done: int) -> dict[str, Any]:
        cursor = self.cursor
        page_size = self.page_size
        high_water = self.high_water
        held = self.held
        if page is not None:
            cursor = page.end_cursor if self.mode == FULL else None
            page_size = page.next_page_size
            high_water = page.high_water
            held = page.held
        return {
            "mode": self.mode,
            "cursor": cursor,
            "page_size": page_size,
            "high_water": to_github_iso(high_water),
            "started_at": to_github_iso(self.started_at),
            "prs_done": prs_done,
            "target_watermark": to_github_iso(self.target_watermark),
            "etag": self.etag,
            "pushed_at": to_github_iso(self.pushed_at),
            "max_prs": self.max_prs,
            "days_back": self.days_back,
            "held": list(held),
        }


class PagePrefetcher:
    """Advance a page iterator one page ahead, in one background thread, one fetch at a time.

    `start()` begins fetching the next page and returns once its request is on its way;
    `take()` waits for the page and returns it (None at the end), raising whatever the fetch
    raised. Only one fetch is ever in flight, and the iterator is only advanced by that thread,
    so GitHub sees the walk's requests one after the other. The thread is a daemon: a process
    leaving on a second Ctrl-C does not wait for it.
    """

    # CPython runs one thread's Python code at a time (the GIL, docs.python.org/3/glossary.html
    # #term-global-interpreter-lock): the caller's work on the page it took (mapping, writing)
    # would slow the fetch thread on its way to the wire by milliseconds a page. So `start()`
    # waits until the request is out, or the thread ends, or this long (a budget wait).
    HEAD_START = 0.05

    def __init__(self, pages: Iterator[PRPage]) -> None:
        self._pages = pages
        self._thread: threading.Thread | None = None
        self._page: PRPage | None = None
        self._error: BaseException | None = None
        self._sent = threading.Event()

    @property
    def in_flight(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("a page is already being fetched")
        self._page, self._error = None, None
        self._sent.clear()
        self._thread = threading.Thread(target=self._fetch, name="walk-prefetch", daemon=True)
        self._thread.start()
        self._sent.wait(self.HEAD_START)

    def _fetch(self) -> None:
        try:
            with when_sent(self._sent.set):
                self._page = next(self._pages)
        except StopIteration:
            self._page = None
        except BaseException as exc:  # handed to the consumer, raised where the page is taken
            self._error = exc
        finally:
            self._sent.set()

    def take(self) -> PRPage | None:
        """The page being fetched (None when the walk has no more); re-raises its error."""
        thread = self._thread
        if thread is None:
            raise RuntimeError("no page is being fetched")
        thread.join()
        self._thread = None
        page, error = self._page, self._error
        self._page, self._error = None, None
        if error is not None:
            raise error
        return page

    def close(self, *, wait: bool = True) -> None:
        """Drop a page still being fetched (after waiting for its request to end, unless
        `wait` is False) and close the iterator."""
        thread = self._thread
        if thread is not None:
            if not wait:
                return  # the daemon thread ends with its request; the iterator is left to it
            thread.join()
            self._thread = None
            self._page, self._error = None, None
        close = getattr(self._pages, "close", None)
        if close is not None:
            close()


# Maps a page's kept GraphQL nodes to its PRs, as the fetcher does (`fetcher.map_nodes`).
MapNodes = Callable[[Sequence[dict[str, Any]]], tuple[FetchedPRFull, ...]]


class Spool(Protocol):
    """Where a walk's fetched pages are kept as they arrive (the seeder's `seeding.spool.PageSpool`).

    `append()` keeps a page with the cursor it started from, in the fetching thread, before the
    next request is sent: it should be quick (the seeder's keeps `page.nodes` when it has them).
    `settle()` runs in the caller's thread before the page's rows are written, while the next
    request travels: the place for the slower part (the seeder's keeps the mapped PRs there).
    `replay()` gives back, as PRPages, the kept pages of `plan`'s full walk from `cursor` on;
    `map_nodes` maps kept nodes to PRs as the fetcher does.
    """

    def append(self, plan: WalkPlan, start_cursor: str | None, page: PRPage) -> None: ...

    def settle(self, plan: WalkPlan, start_cursor: str | None, page: PRPage) -> None: ...

    def replay(
        self, plan: WalkPlan, cursor: str | None, map_nodes: MapNodes
    ) -> Iterator[PRPage]: ...


def _spooled(
    pages: Iterator[PRPage], spool: Spool, plan: WalkPlan, cursor: str | None
) -> Iterator[PRPage]:
    """`pages`, each appended to `spool` (with its start cursor) before it is handed on.

    Advanced by the prefetch thread, so a page is on disk as soon as it arrives: a kill while
    it waits to be written, or while it is written, no longer loses it.
    """
    start = cursor
    try:
        for page in pages:
            spool.append(plan, start, page)
            yield page
            start = page.end_cursor
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()


def open_walk(tracked: TrackedRepository) -> WalkPlan | None:
    """The plan of `tracked`'s interrupted walk, or None when no walk is open."""
    cp = tracked.checkpoint
    if not isinstance(cp, dict) or cp.get("mode") not in (FULL, INCREMENTAL):
        return None
    started = parse_github_datetime(cp.get("started_at")) or datetime.now(UTC)
    return WalkPlan(
        mode=cp["mode"],
        cursor=cp.get("cursor") if cp["mode"] == FULL else None,
        page_size=int(cp.get("page_size") or tracked.page_size or MAX_PAGE_SIZE),
        high_water=parse_github_datetime(cp.get("high_water")),
        started_at=started,
        prs_done=int(cp.get("prs_done") or 0) if cp["mode"] == FULL else 0,
        target_watermark=parse_github_datetime(cp.get("target_watermark")),
        etag=cp.get("etag") or None,
        pushed_at=parse_github_datetime(cp.get("pushed_at")),
        max_prs=cp.get("max_prs") or None,
        days_back=cp.get("days_back") or None,
        resumed=True,
        held=tuple(str(i) for i in cp.get("held") or ()) if cp["mode"] == FULL else (),
    )


def new_walk(
    tracked: TrackedRepository,
    change: ChangeCheck | None,
    *,
    full: bool,
    max_prs: int | None = None,
    days_back: int | None = None,
) -> WalkPlan:
    """Plan a fresh walk: full (from the newest created PR) or incremental (since the watermark)."""
    mode = FULL if full or tracked.watermark is None else INCREMENTAL
    return WalkPlan(
        mode=mode,
        cursor=None,
        page_size=int(tracked.page_size or MAX_PAGE_SIZE),
        high_water=None,
        started_at=datetime.now(UTC),
        prs_done=0,
        target_watermark=change.top_updated_at if change else None,
        etag=change.etag if change else None,
        pushed_at=change.pushed_at if change else None,
        max_prs=(max_prs or None) if mode == FULL else None,
        days_back=(days_back or None) if mode == FULL else None,
        resumed=False,
    )


def walk_repository(
    fetcher: GitHubGraphQLFetcher,
    tracked: TrackedRepository,
    plan: WalkPlan,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    before_save: Callable[[WalkPlan, PRPage], None] | None = None,
    on_page: Callable[[PRPage, SaveStats], None] | None = None,
    overlap: timedelta | None = None,
    spool: Spool | None = None,
    first_page: Any = None,
) -> WalkResult:
    """Walk `tracked`'s PR pages per `plan`, saving each page with its checkpoint; resumable.

    `spool`: where each fetched page is kept as it arrives (the seeder's page spool);
    a resumed full walk first writes the spooled pages that follow its checkpoint, then fetches
    on. `before_save(plan, page)` runs before a page's transaction; `on_page(page, stats)` after
    it (progress). `should_stop()` is asked once per page that is not the last, when it arrives:
    True saves that page and stops the walk there, resumable (`interrupted`), without asking for
    another page. Errors propagate after the repository's status and last error are recorded;
    the checkpoint of the last saved page stays, so the next walk resumes. Every callback runs
    in the caller's thread; the next page is fetched meanwhile in a background thread (see the
    module docstring). Django's query log is emptied after each page (it grows with DEBUG on).
    `first_page`: a new walk's first page, already fetched with other repositories' (a
    `PRPageResult`, `github_graphql.repos`); the walk goes on from its cursor as usual.
    """
    overlap = fetcher.overlap if overlap is None else overlap
    result = WalkResult(
        repo=tracked.full_name, mode=plan.mode, resumed=plan.resumed, page_size=plan.page_size
    )
    stop_at = None
    if plan.mode == INCREMENTAL and tracked.watermark is not None:
        stop_at = tracked.watermark - overlap
    since = None
    if plan.mode == FULL and plan.days_back:
        since = plan.started_at - timedelta(days=plan.days_back)
    prs_done = plan.prs_done

    def write(page: PRPage, start: str | None, stop: bool) -> None:
        """Save `page` (which began at cursor `start`) with the checkpoint after it (or close
        the walk with it); count it."""
        nonlocal prs_done
        if spool is not None:
            spool.settle(plan, start, page)
        if before_save is not None:
            before_save(plan, page)
        prs_done += len(page.prs)
        # Fields GitHub refuses this token: remembered with the page, warned about once.
        refused = refused_updates(tracked, page.prs, getattr(fetcher, "_log", None))
        if page.done:
            stats = _complete(tracked, plan, page, list(page.prs), **refused)
        else:
            stats = save_page(
                tracked,
                list(page.prs),
                plan.checkpoint(page, prs_done),
                status=TrackedRepository.Status.RUNNING,
                **refused,
            )
        # With DEBUG on, Django keeps every query's SQL (up to 9,000): a page's bulk inserts
        # are large, so that log would grow with the walk. A page is all it needs to hold.
        reset_queries()
        result.pages += 1
        result.prs += len(page.prs)
        result.points += page.points
        result.page_size = page.next_page_size
        result.stats = result.stats + stats
        if on_page is not None:
            on_page(page, stats)
        if page.done:
            result.completed = True
        elif stop:
            result.interrupted = True

    prefetch: PagePrefetcher | None = None
    interrupted_hard = False
    try:
        if spool is not None and plan.mode == FULL and not plan.resumed:
            # Open the walk before its first request: a kill before the first page is committed
            # then finds this walk (and the pages it spooled) on the next run, instead of
            # starting a new walk that would fetch them all again.
            save_page(
                tracked,
                [],
                plan.checkpoint(None, prs_done),
                status=TrackedRepository.Status.RUNNING,
            )
        if spool is not None and plan.mode == FULL and plan.resumed:
            # Pages fetched by the run that was stopped, spooled but not (all) committed: write
            # them from the spool, with the checkpoints they would have had, before any request.
            replayed = spool.replay(
                plan, plan.cursor, lambda nodes: fetcher.map_nodes(nodes, tracked.full_name)
            )
            try:
                for page in replayed:
                    stop = not page.done and should_stop()
                    write(page, plan.cursor, stop)
                    result.replayed += 1
                    plan = replace(
                        plan,
                        cursor=page.end_cursor,
                        page_size=page.next_page_size,
                        high_water=page.high_water,
                        prs_done=prs_done,
                        held=page.held,
                    )
                    if page.done or stop:
                        return result
            finally:
                replayed.close()

        remaining = None
        held = plan.held if plan.mode == FULL and plan.resumed else ()
        if plan.mode == FULL and plan.max_prs:
            # PRs held back are counted once written, but were fetched already.
            remaining = max(0, plan.max_prs - prs_done - len(held))
        if remaining == 0:
            _complete(tracked, plan, None, fetcher.fetch_held(tracked.full_name, held))
            result.completed = True
            return result
        known = 0
        if stop_at is not None:
            known = PullRequest.objects.filter(
                team_id=tracked.team_id, github_repo=tracked.full_name, pr_updated_at__gte=stop_at
            ).count()
        pages = fetcher.iter_pr_pages(
            tracked.full_name,
            mode=plan.mode,
            cursor=plan.cursor,
            watermark=stop_at,
            page_size=plan.page_size,
            max_prs=remaining,
            since=since,
            high_water=plan.high_water,
            known_overlap=known,
            held=held,
            mapped=False,  # mapped here, while the next page travels
            first_result=(
                first_page
                if plan.mode == FULL and not plan.resumed and plan.cursor is None
                else None
            ),
        )
        if spool is not None:
            pages = _spooled(pages, spool, plan, plan.cursor)
        prefetch = PagePrefetcher(pages)
        prefetch.start()
        start = plan.cursor
        while prefetch.in_flight:
            page = prefetch.take()  # a fetch error surfaces here, after the pages before it
            if page is None:
                break
            # Asked once per page, when it arrives: True saves this page and ends the walk. The
            # next page is only asked for when the walk goes on, so a stop wastes no request.
            stop = not page.done and should_stop()
            if not page.done and not stop:
                prefetch.start()  # page N+1 travels while page N is mapped and written
            write(fetcher.mapped(page, tracked.full_name), start, stop)
            start = page.end_cursor
            if page.done or stop:
                break
    except (GitHubError, DatabaseError) as exc:
        _record_failure(tracked, exc)
        raise
    except (KeyboardInterrupt, SystemExit):
        interrupted_hard = True
        raise
    finally:
        # A page fetched ahead but not written (an error while writing) is dropped; its request
        # ends before the walk returns, so the caller's next request is never sent beside it.
        if prefetch is not None:
            prefetch.close(wait=not interrupted_hard)
    return result


def _complete(
    tracked: TrackedRepository, plan: WalkPlan, page: PRPage | None, prs: list, **extra: Any
) -> SaveStats:
    """Save the last page and close the walk: watermark, ETag, page size, status, one transaction."""
    high_water = page.high_water if page is not None else plan.high_water
    watermark = plan.target_watermark
    if watermark is None:
        # No probe told us GitHub's newest update: the newest we saw is the best we know.
        candidates = [d for d in (tracked.watermark, high_water) if d is not None]
        watermark = max(candidates) if candidates else None
    updates: dict[str, Any] = {
        "watermark": watermark,
        "page_size": page.next_page_size if page is not None else plan.page_size,
        "last_synced_at": datetime.now(UTC),
        "status": TrackedRepository.Status.OK,
        "last_error": "",
        **extra,
    }
    if plan.etag is not None or plan.target_watermark is not None:
        updates["etag"] = plan.etag or ""
    pushed_at = (page.pushed_at if page is not None else None) or plan.pushed_at
    if pushed_at is not None:
        updates["pushed_at"] = pushed_at
    return save_page(tracked, prs, None, **updates)


def _record_failure(tracked: TrackedRepository, exc: Exception) -> None:
    """Note why the walk stopped (status, last error); the checkpoint is left as it was."""
    if isinstance(exc, DatabaseError):
        return  # the database is the problem: nothing more to write there
    status = (
        TrackedRepository.Status.RATE_LIMITED
        if isinstance(exc, RateLimited)
        else TrackedRepository.Status.FAILED
    )
    updates: dict[str, Any] = {"status": status, "last_error": str(exc)[:1000]}
    if isinstance(exc, RateLimited) and exc.reset_at:
        updates["rate_limit_reset_at"] = datetime.fromtimestamp(exc.reset_at, UTC)
    try:
        tracked.record_sync(**updates)
    except DatabaseError:  # pragma: no cover - reporting the first error matters more
        logger.warning("could not record the failure of %s", tracked.full_name)
