"""GitHubGraphQLFetcher: GitHub's PR pages in, `FetchedPRFull` values out; change checks.

Size: over 400 lines because one page of a walk is one job whose parts share its state: the
page itself (carried follow-ups, held PRs, the watermark and `since` stops), the one retry loop
around its request (which asks apps/metrics/pipeline/page_size.py for a smaller page or retries
the same), the change checks that decide whether a walk starts, and the optional REST check runs
of the page's PRs.

The fetcher reads GitHub only: no rows, no cache, no checkpoint. `iter_pr_pages()` yields typed
pages (`PRPage`); what is kept of them, and where, is decided by whoever drives it: the walk
(apps/metrics/pipeline/walk.py) saves each page through the writer, the seeder
(apps/metrics/seeding/seeder.py) decides what the seeding cache and its page spool hold.

What the fetcher does to be cheap and polite (docs.github.com: rest/guides/best-practices-for-
using-the-rest-api, graphql/overview/rate-limits-and-query-limits-for-the-graphql-api):

- Change check first: `GET /repos/{o}/{r}/pulls?state=all&sort=updated&direction=desc&per_page=1`
  with `If-None-Match` = the ETag kept with the data. A `304` costs no point and means no PR
  changed. Its body's newest `updated_at` is the watermark of the walk that follows. Where the
  probe is unavailable, `fetch_repo_metadata()` (about 1 point, `pushedAt`) decides instead.
- Incremental: only PRs updated since the watermark (minus an overlap) are fetched, newest
  update first, stopping at the first older PR; one look-ahead node per page means k changed PRs
  cost ceil(k / page) pages whatever k is.
- Adaptive page size: a PR page answered 502/504 or timing out is retried at half the size (down
  to 1), growing back by doubling after successes; the size that worked is remembered. Other
  transient faults (503, 500, dropped connections) are retried at the same size with backoff,
  in the same retry loop, so any mix of faults still converges to the largest page GitHub answers.
- An `errors` answer is never empty data: the client raises or re-fetches incomplete nodes; a
  page claiming more pages but holding no PR is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from apps.integrations.github.completion import (
    MAX_CONNECTIONS_PER_FOLLOW_UP,
    merge_follow_up,
    overflowing,
)
from apps.integrations.github.errors import (
    BadCredentials,
    GitHubError,
    GraphQLFailed,
    NotFound,
    RateLimited,
    ServerError,
)
from apps.integrations.github.queries import PAGE_SIZE
from apps.integrations.github.retry import RetryPolicy, retry_context
from apps.metrics.dates import parse_github_datetime
from apps.metrics.pipeline.fetched import FetchedCheckRun, FetchedPRFull, pr_node_dates
from apps.metrics.pipeline.page_size import PageSizeSearch, page_too_heavy
from apps.metrics.pipeline.sanitise import MAPPING_ERRORS, map_pr_node

logger = logging.getLogger(__name__)

# The page cap: PRs a page at most, and where a repository's first walk starts. Override with
# the GITHUB_MAX_PAGE_SIZE setting or the seed's --max-page-size; bench/bench_page_size.py
# measures caps on light and heavy histories. FETCH_PRS_BULK_QUERY's page (PAGE_SIZE) is the
# largest GitHub rounds to 3 points with full nested detail (1 + 11 connections x 31 = 342).
MAX_PAGE_SIZE = PAGE_SIZE
# Incremental walks re-read PRs updated this long before the watermark: GitHub's updatedAt has
# one-second resolution and its replicas may lag a little behind each other.
DEFAULT_OVERLAP = timedelta(seconds=60)
# The REST fallback for check runs keeps this many core requests in reserve.
REST_RESERVE = 10
REST_WARN_BELOW = 100
# Incremental pages grow by at most this many nodes for PRs the overlap re-reads.
MAX_OVERLAP_ROOM = 25
# PRs held back for carried follow-ups at most; beyond, they are completed at once.
MAX_WAITING = 25

FULL = "full"
INCREMENTAL = "incremental"


def split_repo(repo: str) -> tuple[str, str]:
    """("owner", "name") of "owner/name"; ValueError naming the input otherwise."""
    owner, sep, name = repo.strip().partition("/")
    if not sep or not owner or not name or "/" in name or " " in repo.strip():
        raise ValueError(f"not a repository name: {repo!r} (expected OWNER/NAME)")
    return owner, name


@dataclass(frozen=True, slots=True)
class ChangeCheck:
    """What the change check found.

    `changed` False: GitHub answered 304 (or `pushedAt` did not move): the kept data is current.
    `etag`: the probe's ETag, to keep with the data once the walk that follows completes.
    `top_updated_at`: the newest PR `updatedAt` at probe time: the watermark after that walk.
    """

    changed: bool
    etag: str | None = None
    top_updated_at: datetime | None = None
    pushed_at: datetime | None = None
    via: str = "probe"  # "probe" | "metadata"
    # The repository's nameWithOwner when GitHub answered under another name than the one
    # asked (renamed or transferred); None otherwise.
    renamed_to: str | None = None


@dataclass(frozen=True, slots=True)
class PRPage:
    """One page of a walk: the PRs to save and where the walk stands after them."""

    prs: tuple[FetchedPRFull, ...]
    mode: str
    end_cursor: str | None  # resume a full walk after this cursor
    has_next: bool  # GitHub has more PRs after this page
    done: bool  # the walk is complete after this page (end, max_prs, since or watermark)
    page_size: int  # the size this page was fetched with
    next_page_size: int  # the size the next page will try
    high_water: datetime | None  # newest updatedAt seen in this walk so far
    pushed_at: datetime | None = None
    total_count: int | None = None  # PRs in the repository, as GitHub counts them
    points: int = 0
    requests: int = 0
    shrunk: int = 0  # times the page size was halved to get this page
    # A full walk stopped by `since`: when the first PR left out was created (what an empty
    # `--days-back` seed tells the user: the newest PR is older than the cut-off).
    cut_created_at: datetime | None = None
    # PRs of this page or earlier ones still completing (node ids): their follow-ups ride in
    # the next page's query; they come in a later page's `prs`. A resumed walk asks for them.
    held: tuple[str, ...] = ()
    # A page yielded unmapped (`iter_pr_pages(mapped=False)`): its complete GraphQL nodes, in
    # page order; `GitHubGraphQLFetcher.mapped()` fills `prs` from them and keeps them (the
    # spool keeps a page's nodes before the next request, its PRs later). Empty otherwise.
    nodes: tuple[dict[str, Any], ...] = ()


@dataclass
class FetchCounters:
    """Running totals a progress display reads."""

    pages: int = 0
    prs: int = 0
    shrinks: int = 0
    check_run_requests: int = 0


class GitHubGraphQLFetcher:
    """Fetch a repository's PRs, complete, through the shared client; nothing is written."""

    def __init__(
        self,
        client_or_token: Any,
        *,
        fetch_check_runs: bool = True,
        rest_check_runs: bool = False,
        overlap: timedelta = DEFAULT_OVERLAP,
        max_page_size: int | None = None,
        base_url: str | None = None,
        log: Callable[[str], None] | None = None,
        carry_follow_ups: bool = True,
    ) -> None:
        if isinstance(client_or_token, str | list | tuple):
            from apps.integrations.github.client import GitHubGraphQLClient

            kwargs = {"base_url": base_url} if base_url else {}
            client_or_token = GitHubGraphQLClient(client_or_token, **kwargs)
        self.client = client_or_token
        self.fetch_check_runs = fetch_check_runs
        self.rest_check_runs = rest_check_runs
        self.overlap = overlap
        if not max_page_size:
            from django.conf import settings

            max_page_size = getattr(settings, "GITHUB_MAX_PAGE_SIZE", 0) or MAX_PAGE_SIZE
        self.max_page_size = max(1, min(100, max_page_size))  # GitHub: `first` is 1-100
        # Follow-ups of a page's overflowing connections ride in the next page's query
        # (`carry.py`); False: each page's follow-ups are requests of their own.
        self.carry_follow_ups = carry_follow_ups
        self.counters = FetchCounters()
        self._log = log or logger.warning
        self._rest_budget_shown: set[str] = set()  # repositories whose REST budget was shown

    @property
    def check_runs_mode(self) -> str:
        """How this fetcher fills check runs: "graphql" (in the PR query), "rest", or "none".

        It changes what a PR holds, so it is kept with the data (cache header, the seed's
        completed-walk state) and a seed with another mode does not trust data fetched so.
        """
        if not self.fetch_check_runs:
            return "none"
        return "rest" if self.rest_check_runs else "graphql"

    def fetch_repo_metadata(self, repo: str) -> Any:
        """The repository's metadata (`pushedAt` ...), about 1 point: the seed's change check."""
        owner, name = split_repo(repo)
        try:
            return self.client.fetch_repo_metadata(owner, name)
        except GitHubError as exc:
            raise exc.for_repo(repo) from None

    # --- change checks ----------------------------------------------------------------------

    def check_for_changes(
        self, repo: str, *, etag: str | None = None, pushed_at: datetime | None = None
    ) -> ChangeCheck:
        """Ask GitHub whether any PR changed since `etag` was seen (one request, 0 points on 304).

        Falls back to `fetch_repo_metadata` (`pushedAt`) when the REST probe is unavailable.
        Raises NotFound / BadCredentials / RateLimited as they come (naming the repository).
        """
        owner, name = split_repo(repo)
        try:
            response = self.client.probe_pulls(owner, name, etag)
        except (NotFound, BadCredentials, RateLimited) as exc:
            raise exc.for_repo(repo) from None
        except GitHubError as exc:
            if isinstance(exc, ServerError) and exc.retryable:
                raise exc.for_repo(repo) from None
            return self._metadata_check(repo, pushed_at, reason=str(exc))
        # A probe GitHub redirected (301) asked for a repository under a former name: the
        # metadata query (~1 point, once) tells the name it answers to now.
        renamed_to = self._new_name(repo) if getattr(response, "redirected", False) else None
        if getattr(response, "not_modified", False) or response.status == 304:
            return ChangeCheck(changed=False, etag=etag, via="probe", renamed_to=renamed_to)
        if response.status != 200:
            return self._metadata_check(repo, pushed_at, reason=f"probe answered {response.status}")
        items = response.data if isinstance(response.data, list) else []
        top = (
            parse_github_datetime(items[0].get("updated_at"))
            if items and isinstance(items[0], dict)
            else None
        )
        return ChangeCheck(
            changed=True, etag=response.etag or None, top_updated_at=top, renamed_to=renamed_to
        )

    def _new_name(self, repo: str) -> str | None:
        """GitHub's nameWithOwner for `repo` when it differs from `repo` (not only in case)."""
        name = getattr(self.fetch_repo_metadata(repo), "name_with_owner", None)
        return name if isinstance(name, str) and name.lower() != repo.lower() else None

    def _metadata_check(self, repo: str, pushed_at: datetime | None, *, reason: str) -> ChangeCheck:
        self._log(f"{repo}: pulls probe unavailable ({reason}); checking pushedAt instead")
        meta = self.fetch_repo_metadata(repo)
        new_pushed = parse_github_datetime(getattr(meta, "pushed_at", None))
        unchanged = pushed_at is not None and new_pushed is not None and new_pushed <= pushed_at
        name = getattr(meta, "name_with_owner", None)
        renamed_to = name if isinstance(name, str) and name.lower() != repo.lower() else None
        return ChangeCheck(
            changed=not unchanged, pushed_at=new_pushed, via="metadata", renamed_to=renamed_to
        )

    # --- pages ------------------------------------------------------------------------------

    def iter_pr_pages(
        self,
        repo: str,
        mode: str = FULL,
        cursor: str | None = None,
        watermark: datetime | None = None,
        page_size: int = MAX_PAGE_SIZE,
        max_prs: int | None = None,
        since: datetime | None = None,
        high_water: datetime | None = None,
        known_overlap: int = 0,
        first_result: Any = None,
        held: Sequence[str] = (),
        mapped: bool = True,
    ) -> Iterator[PRPage]:
        """Yield `repo`'s PR pages; the last one has `done` set. Reads GitHub, writes nothing.

        `full`: newest created first (`CREATED_AT DESC`) from `cursor`, stopping after `max_prs`
        PRs or at the first PR created before `since`. `incremental`: newest update first
        (`UPDATED_AT DESC`) from the top, stopping at the first PR updated before `watermark`.
        `known_overlap`: how many PRs we already hold updated at or after `watermark` (the
        overlap re-reads them); incremental pages make room for them and for one look-ahead
        node, so k changed PRs take ceil(k / page_size) pages.
        `first_result`: the walk's first page, already fetched (a `PRPageResult` of complete
        nodes from a many-repository query): it is used instead of asking for that page.
        `held`: node ids of PRs an interrupted walk held back (`PRPage.held`); they are asked
        for first and come with the first page.
        `mapped=False`: pages come with their complete nodes and no PRs yet (`PRPage.nodes`);
        the caller maps them with `mapped(page)`, in its own time (the walk, while the next
        request travels). The walk's decisions (watermark, `since`, `max_prs`) read the nodes'
        dates either way; with REST check runs the PRs are mapped here all the same.

        A PR overflowing a nested first page is held back: its follow-ups ride in the next
        page's query and it comes in the page that completes it (`PRPage.held` lists those
        still completing). At most MAX_WAITING PRs wait so; the last page completes the rest
        with follow-ups of its own.
        """
        if mode not in (FULL, INCREMENTAL):
            raise ValueError(f"unknown walk mode {mode!r}")
        owner, name = split_repo(repo)
        search = PageSizeSearch(
            size=max(1, min(page_size or self.max_page_size, self.max_page_size)),
            max_size=self.max_page_size,
        )
        remaining = max_prs if max_prs else None
        after = cursor if mode == FULL else None
        extra = 1 + min(max(0, known_overlap), MAX_OVERLAP_ROOM) if mode == INCREMENTAL else 0
        # A full walk from the top knows, after its first page, how many PRs are left: its last
        # page asks for no more (GitHub prices a page by its `first`, not by what it returns).
        left: int | None = None
        seen = 0
        carrying = self.carry_follow_ups
        waiting: dict[str, tuple[dict[str, Any], dict[str, str | None]]] = {}
        finished: list[dict[str, Any]] = []
        held_cost = held_requests = 0
        if held:
            before = self._client_usage()
            try:
                finished = self.client.fetch_prs_by_node_ids(list(held), repo=repo)
            except GitHubError as exc:
                raise exc.for_repo(repo) from None
            held_requests, held_cost = (
                a - b for a, b in zip(self._client_usage(), before, strict=True)
            )
        while True:
            want = search.size if remaining is None else max(1, min(search.size, remaining))
            if left is not None:
                want = max(1, min(want, left))
            # Incremental: room for the overlap's known PRs and one look-ahead node, so a page
            # that ends exactly at the watermark needs no next page.
            first = want + extra
            order = "UPDATED_AT" if mode == INCREMENTAL else "CREATED_AT"
            shrunk = 0
            prefetched, first_result = first_result, None
            carry = next_carry(waiting) if carrying else []
            page_kwargs: dict[str, Any] = {"carry": carry, "complete": False} if carrying else {}
            failed_tries = 0
            if prefetched is not None:
                result = prefetched
                carry = []  # asked for with other repositories: nothing rode along
            else:
                # One retry loop for the page: a heavy-page signal at a size leads to a smaller size
                # (a new series of tries); any other transient fault is retried at the same size
                # with the policy's backoff. A limit or a permanent error ends the walk as it comes.
                retries = retry_context(self._retry_policy(), self._retry_wait)
                for attempt in retries:
                    with attempt:
                        try:
                            # No client retries for the page itself: this loop decides, per error,
                            # between a smaller page and the same page again.
                            result = self.client.fetch_pr_page(
                                owner,
                                name,
                                first=first,
                                after=after,
                                order=order,
                                retry=False,
                                **page_kwargs,
                            )
                        except GitHubError as exc:
                            if page_too_heavy(exc) and want > 1:
                                # GitHub's docs: an expensive query times out; a smaller page fits.
                                want = search.too_heavy(want)
                                first = want + extra
                                shrunk += 1
                                self.counters.shrinks += 1
                                retries.restart()
                            raise exc.for_repo(repo) from None
                failed_tries = retries.tries - 1
            extra_cost = held_cost
            extra_requests = held_requests
            held_cost = held_requests = 0
            carried = getattr(result, "carried", None) or {}
            for node_id, cursors in carry:
                node, all_cursors = waiting[node_id]
                merge_follow_up(node, carried[node_id], cursors, all_cursors, repo)
                if not all_cursors:
                    finished.append(node)
                    del waiting[node_id]
            nodes = list(result.nodes or [])
            if not nodes and result.has_next_page:
                raise GraphQLFailed(
                    [{"message": "a page with no pull requests claimed more pages"}], repo=repo
                )
            page_nodes: list[dict[str, Any]] = []
            kept = 0
            done = not result.has_next_page
            cut_created_at: datetime | None = None
            for node in nodes:
                try:
                    created_at, updated_at = pr_node_dates(node)
                except MAPPING_ERRORS:
                    map_pr_node(node, repo)  # reports it; the rest of the page is kept
                    continue
                if mode == INCREMENTAL and watermark is not None and updated_at < watermark:
                    done = True
                    break
                if mode == FULL and since is not None and created_at < since:
                    cut_created_at = created_at
                    done = True
                    break
                kept += 1
                cursors = overflowing(node) if carrying else {}
                if cursors and node.get("id"):
                    waiting[node["id"]] = (node, cursors)  # on a later page, once complete
                else:
                    page_nodes.append(node)
                if remaining is not None and kept >= remaining:
                    done = True
                    break
            if remaining is not None:
                remaining -= kept
            seen += len(nodes)
            if mode == FULL and cursor is None and isinstance(result.total_count, int):
                left = result.total_count - seen
            if waiting and (done or len(waiting) > MAX_WAITING):
                # The walk ends here (or too much waits): the rest with follow-ups of its own.
                rest = [node for node, _cursors in waiting.values()]
                more_cost, more_requests = self._complete(rest, repo)
                extra_cost += more_cost
                extra_requests += more_requests
                finished.extend(rest)
                waiting.clear()
            if finished:
                page_nodes = finished + page_nodes
                finished = []
            for node in page_nodes:
                high_water = _max_dt(high_water, _updated_at(node))
            prs: list[FetchedPRFull] = []
            if mapped or self.check_runs_mode == "rest":
                prs = list(self.map_nodes(page_nodes, repo))
                page_nodes = []
                if self.check_runs_mode == "rest" and prs:
                    prs = self._add_check_runs_to_prs(repo, prs)
            next_size = search.answered()
            self.counters.pages += 1
            self.counters.prs += len(prs) + len(page_nodes)
            yield PRPage(
                prs=tuple(prs),
                mode=mode,
                end_cursor=result.end_cursor or after,
                has_next=bool(result.has_next_page),
                done=done,
                page_size=search.size,
                next_page_size=next_size,
                high_water=high_water,
                pushed_at=parse_github_datetime(getattr(result, "pushed_at", None)),
                total_count=getattr(result, "total_count", None),
                points=int(getattr(result, "cost", 0) or 0) + extra_cost,
                requests=(
                    0
                    if prefetched is not None
                    else int(getattr(result, "requests", 1) or 1) + failed_tries
                )
                + extra_requests,
                shrunk=shrunk,
                cut_created_at=cut_created_at,
                held=tuple(waiting),
                nodes=tuple(page_nodes),
            )
            if done:
                return
            after = result.end_cursor
            search.size = next_size

    def _retry_policy(self) -> RetryPolicy:
        return getattr(self.client, "retry", None) or RetryPolicy()

    def _retry_wait(self, seconds: float, reason: str) -> None:
        """Wait before re-sending a page (through the client's clock): GitHub asks for
        exponential backoff, and a timed-out query may still be running on its side."""
        wait = getattr(self.client, "retry_wait", None)
        if wait is not None:
            wait(seconds, reason)
            return
        clock = getattr(self.client, "clock", None)
        if clock is not None:
            clock.sleep(seconds)

    def fetch_held(self, repo: str, held: Sequence[str]) -> list[FetchedPRFull]:
        """PRs an interrupted walk held back (`PRPage.held`), complete, by node id."""
        if not held:
            return []
        try:
            nodes = self.client.fetch_prs_by_node_ids(list(held), repo=repo)
        except GitHubError as exc:
            raise exc.for_repo(repo) from None
        return list(self.map_nodes(nodes, repo))

    def _client_usage(self) -> tuple[int, int]:
        stats = getattr(self.client, "stats", None)
        if stats is None:
            return 0, 0
        return int(stats.requests), int(stats.points_used)

    def _complete(self, nodes: list[dict[str, Any]], repo: str) -> tuple[int, int]:
        """Complete held nodes with follow-ups of their own; (points, requests)."""
        try:
            return self.client.complete(nodes, repo)
        except GitHubError as exc:
            raise exc.for_repo(repo) from None

    # --- mapping ----------------------------------------------------------------------------

    def map_nodes(self, nodes: Sequence[dict[str, Any]], repo: str) -> tuple[FetchedPRFull, ...]:
        """The PRs of complete GraphQL nodes (`PRPage.nodes`), as `iter_pr_pages` maps them;
        a node that cannot be mapped is reported and left out."""
        mapped = (self._map_pr(node, repo) for node in nodes)
        return tuple(pr for pr in mapped if pr is not None)

    def mapped(self, page: PRPage, repo: str) -> PRPage:
        """`page` with its PRs, mapped from its nodes when it came unmapped."""
        if page.prs or not page.nodes:
            return page
        return replace(page, prs=self.map_nodes(page.nodes, repo))

    def _map_pr(self, node: dict[str, Any], repo: str | None = None) -> FetchedPRFull | None:
        """Map one complete GraphQL PR node to a FetchedPRFull (CI dropped when off); None
        (logged) for a node that cannot be mapped."""
        # Rows are keyed by the name the team tracks, whatever case GitHub answers in.
        pr = map_pr_node(node, repo)
        if pr is None:
            return None
        if not self.fetch_check_runs:
            # No CI at all: statuses alone could call "passed" a PR whose check runs failed.
            pr = replace(pr, check_runs=(), status_contexts=())
        elif self.rest_check_runs:
            pr = replace(pr, check_runs=())
        return pr

    # --- REST check runs (optional, serial) --------------------------------------------------

    def _check_rest_rate_limit(self, needed: int = 1, repo: str | None = None) -> int | None:
        """Core requests remaining (None when unknown), -1 when too few: then the REST path skips.

        Says what remains in one line the first time per repository, and again whenever it is
        low (below REST_WARN_BELOW: a warning) or too low (fewer than `needed` + REST_RESERVE:
        skipped, so the budget is not spent to the last request).
        """
        where = f"{repo}: " if repo else ""
        key = repo or ""
        shown = key in self._rest_budget_shown
        self._rest_budget_shown.add(key)
        state = (getattr(self.client, "rate_limits", None) or {}).get("core")
        if state is None:
            if not shown:
                self._log(f"{where}REST check runs: core requests remaining not known yet")
            return None
        remaining = int(state.remaining)
        reset = datetime.fromtimestamp(state.reset_at, UTC).strftime("%H:%M:%S UTC")
        if remaining < needed + REST_RESERVE:
            self._log(
                f"{where}REST check runs skipped: {remaining:,} core requests remain "
                f"(need {needed} + {REST_RESERVE}); the limit resets at {reset}"
            )
            return -1
        if remaining < REST_WARN_BELOW:
            self._log(
                f"{where}REST rate limit low: {remaining:,} core requests remain until {reset}"
            )
        elif not shown:
            self._log(
                f"{where}REST check runs: {remaining:,} core requests remain (resets {reset})"
            )
        return remaining

    def _add_check_runs_to_prs(self, repo: str, prs: list[FetchedPRFull]) -> list[FetchedPRFull]:
        """Fill each PR's check runs from REST, one request at a time (the optional fallback).

        GraphQL already brings check runs in the PR query; this path exists for `--rest-check-runs`.
        Skipped (PRs returned unchanged) when the core budget is too low to finish.
        """
        owner, name = split_repo(repo)
        with_head = [pr for pr in prs if pr.commits]
        if not with_head or self._check_rest_rate_limit(len(with_head), repo) == -1:
            return prs
        out: list[FetchedPRFull] = []
        for pr in prs:
            if not pr.commits:
                out.append(pr)
                continue
            head_sha = pr.commits[-1].sha  # commits are oldest first: the last is the head
            try:
                items = self.client.fetch_check_runs_rest(owner, name, head_sha)
            except GitHubError as exc:
                raise exc.for_repo(repo) from None
            self.counters.check_run_requests += 1
            runs = tuple(_check_run_from_rest(item) for item in items)
            out.append(replace(pr, check_runs=runs))
        return out


def _check_run_from_rest(item: dict[str, Any]) -> FetchedCheckRun:
    """Map one REST check run (GET /repos/{o}/{r}/commits/{sha}/check-runs item)."""
    app = item.get("app") or {}
    return FetchedCheckRun(
        github_check_run_id=int(item["id"]),
        name=str(item.get("name") or ""),
        status=str(item.get("status") or "").lower(),
        conclusion=(str(item["conclusion"]).lower() if item.get("conclusion") else None),
        started_at=parse_github_datetime(item.get("started_at")),
        completed_at=parse_github_datetime(item.get("completed_at")),
        app_name=app.get("name") if isinstance(app, dict) else None,
    )


def next_carry(
    waiting: Mapping[str, tuple[dict[str, Any], dict[str, str | None]]],
) -> list[tuple[str, dict[str, str | None]]]:
    """The follow-ups the next page carries: at most MAX_CONNECTIONS_PER_FOLLOW_UP connections."""
    batch: list[tuple[str, dict[str, str | None]]] = []
    budget = MAX_CONNECTIONS_PER_FOLLOW_UP
    for node_id, (_node, cursors) in waiting.items():
        if budget <= 0:
            break
        chosen = dict(list(cursors.items())[:budget])
        budget -= len(chosen)
        batch.append((node_id, chosen))
    return batch


def _updated_at(node: dict[str, Any]) -> datetime | None:
    """A PR node's updatedAt as its mapping reads it; None for a node that cannot be mapped."""
    try:
        return pr_node_dates(node)[1]
    except MAPPING_ERRORS:
        return None


def _max_dt(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


__all__ = [
    "FULL",
    "INCREMENTAL",
    "ChangeCheck",
    "FetchCounters",
    "GitHubGraphQLFetcher",
    "PRPage",
    "split_repo",
]
