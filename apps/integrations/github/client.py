"""GitHubGraphQLClient: the one GitHub client shared by seeding and production sync.

Size: over 400 lines because it holds both the endpoint methods and the request loop; moving the
loop to a session module is issue 10's next step.

What every request goes through, in this order: a token from the TokenSource (the richest of a
pool), the primary-limit check (wait for the reset, or raise `RateLimited` with
`on_limit="stop"`), the per-token lock of the Coordinator (one request in flight per token),
one HTTP exchange in `transport.py`, the budget read back from headers and `rateLimit`, and on
failure the RetryPolicy (backoff with full jitter for transient errors, GitHub's hints for
limits). Every wait goes through the Clock, so tests switch waiting off with `InstantClock`.
Lock and budget go by the key of what GitHub budgets: each pool member's `token_key`, else the
source's stable `key` (one GitHub App installation is one budget, whichever worker's token).
With `on_limit="stop"` (workers that re-queue) nothing is waited for inside the client: a spent
primary budget raises `RateLimited` (reset_at tells when to re-queue), a secondary limit -- an
answer, or a block another process recorded -- raises `SecondaryRateLimited` whose
`retry_after` is the whole wait the policy chose. With `on_limit="wait"` (seeding) both are
waited out, secondary limits bounded by the policy's `secondary_attempts`. Consecutive secondary
hits of a token are counted through the coordinator when it can (`SecondaryStreaks`), so a
re-queued task that is hit again backs off longer, as GitHub asks.

PR pages come back *complete* (`completion.py` fills overflowing nested connections). A PR node
that came back with an error path (partial data) is re-fetched alone; an `errors` answer is
never taken as empty data. A field GitHub refuses the token (`FORBIDDEN`,
`INSUFFICIENT_SCOPES` at a path inside a node) is permanent: the node is kept without it and
names it under `field_errors.UNAVAILABLE_KEY`; it is not re-fetched. `fetch_prs_by_node_ids` (the CI re-poll) asks `nodes(ids:)` for PRs
it already knows and completes them the same way.

Adaptive page size (the fetcher's job) -- the design chosen: `fetch_pr_page(..., retry=False)`
switches transient retries off for the page request itself, so the first 502/503/504
(`ServerError`) or timeout / dropped connection (`TransportFailed`) reaches the caller at once
and it can halve the page. With the default `retry=True` the same errors are raised only after
the policy's retries. Rate limits are waited for in both cases, and follow-up requests always
retry normally.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from .carry import CARRY_ALIAS, build_page_query_with_carry
from .clock import Clock, SystemClock
from .completion import broken_node_indexes, complete_nodes, error_under, has_number
from .coordination import (
    Coordinator,
    SecondaryStreaks,
    default_coordinator,
    next_send_at,
    token_key,
)
from .endpoints import graphql_url_for
from .errors import (
    BadCredentials,
    GitHubError,
    GraphQLFailed,
    NotFound,
    RateLimited,
    SecondaryRateLimited,
)
from .field_errors import mark_unavailable, split_field_errors
from .queries import (
    FETCH_PRS_BULK_QUERY,
    FETCH_PRS_BY_NODE_IDS_QUERY,
    FETCH_PRS_UPDATED_QUERY,
    FETCH_REPO_METADATA_QUERY,
    FETCH_SINGLE_PR_QUERY,
    MAX_NODE_IDS,
    PAGE_SIZE,
)
from .ratelimit import CostEstimates, RateLimitState, parse_retry_after, query_key
from .repos import RepoSnapshot, build_repos_query
from .retry import RetryPolicy
from .tokens import TokenSource, as_token_source
from .transport import DEFAULT_TIMEOUT, HTTPAnswer, Transport, raise_for_status
from .values import (
    ClientListener,
    ClientStats,
    GraphQLResponse,
    PRPageResult,
    RepoMetadata,
    RequestInfo,
    RestResponse,
)

__all__ = ["DEFAULT_BASE_URL", "MAX_PRIMARY_WAITS", "Checker", "GitHubGraphQLClient"]

# The package's name: log records keep the logger name they had when this was one module.
logger = logging.getLogger(__package__)

DEFAULT_BASE_URL = "https://api.github.com"
MAX_PRIMARY_WAITS = 3  # consecutive limit answers for one request before giving up

Checker = Callable[[HTTPAnswer, float], None]


class GitHubGraphQLClient:
    """GitHub GraphQL + REST, polite and complete; see the module docstring for the rules."""

    def __init__(
        self,
        token: str | Sequence[str] | TokenSource,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        on_limit: Literal["wait", "stop"] = "wait",
        coordinator: Coordinator | None = None,
        listener: ClientListener | None = None,
        *,
        transport: Transport | None = None,
        graphql_url: str | None = None,
    ) -> None:
        if on_limit not in ("wait", "stop"):
            raise ValueError(f"on_limit must be 'wait' or 'stop', not {on_limit!r}")
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        # REST goes below base_url; GraphQL to the endpoint GitHub documents for it (on
        # Enterprise Server beside /api/v3, not below it), or to `graphql_url` when given.
        self.graphql_url = graphql_url_for(self.base_url, graphql_url)
        self.tokens: TokenSource = as_token_source(token)
        self.retry = retry or RetryPolicy()
        self.clock: Clock = clock or SystemClock()
        self.on_limit = on_limit
        self.coordinator: Coordinator = coordinator or default_coordinator(self.base_url)
        self.listener = listener
        self.transport = transport or Transport(self.base_url, timeout=timeout)
        self.tokens.bind(self.coordinator, self.clock)
        self.rate_limits: dict[str, RateLimitState] = {}
        self.stats = ClientStats()
        self._costs = CostEstimates()
        self._stats_lock = threading.Lock()
        self._streaks: SecondaryStreaks | None = (
            self.coordinator if isinstance(self.coordinator, SecondaryStreaks) else None
        )

    # ---- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> GitHubGraphQLClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GitHubGraphQLClient(base_url={self.base_url!r}, token_key={self.tokens.key})"

    # ---- public API ------------------------------------------------------------------------

    def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        repo: str | None = None,
        retry: bool | RetryPolicy = True,
        aliased: bool = False,
    ) -> GraphQLResponse:
        """Run one GraphQL document; raise on errors without data; return partial data + errors.

        `aliased`: the document asks about several repositories under aliases; a NOT_FOUND at
        one alias is that alias's answer (returned with the rest), not the call's.
        """
        key = query_key(query)
        policy = self._policy(retry)
        answer = self._send(
            kind="graphql",
            method="POST",
            path=self.graphql_url,
            resource="graphql",
            json_body={"query": query, "variables": dict(variables or {})},
            estimate=self._costs.estimate(key),
            policy=policy,
            repo=repo,
            check=self._check_aliased_graphql if aliased else self._check_graphql,
            cost_key=key,
        )
        body = answer.body
        data = body.get("data") or {}
        errors = [e for e in (body.get("errors") or []) if isinstance(e, dict)]
        state = RateLimitState.from_graphql(data.get("rateLimit"))
        cost = state.cost if state is not None and state.cost is not None else 1
        return GraphQLResponse(data=data, errors=errors, cost=cost, rate_limit=state)

    def rest_get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        etag: str | None = None,
        *,
        repo: str | None = None,
        retry: bool | RetryPolicy = True,
    ) -> RestResponse:
        """GET below base_url; with `etag`, a conditional request (304 -> not_modified, 0 points)."""
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        if etag:
            headers["If-None-Match"] = etag
        answer = self._send(
            kind="rest",
            method="GET",
            path=path,
            resource="core",
            params=params,
            headers=headers,
            estimate=1,
            policy=self._policy(retry),
            repo=repo,
        )
        not_modified = answer.status == 304
        if not_modified:
            with self._stats_lock:
                self.stats.not_modified += 1
        return RestResponse(
            status=answer.status,
            data=None if not_modified else answer.body,
            etag=answer.headers.get("etag") or (etag if not_modified else None),
            headers={k.lower(): v for k, v in answer.headers.items()},
            not_modified=not_modified,
            redirected=bool(answer.extra.get("redirected")),
        )

    def fetch_repo_metadata(self, owner: str, name: str) -> RepoMetadata:
        """pushedAt and friends for one repository: the ~1-point change check."""
        full = f"{owner}/{name}"
        response = self.execute(
            FETCH_REPO_METADATA_QUERY, {"owner": owner, "name": name}, repo=full
        )
        repo = self._repository(response, full)
        branch = repo.get("defaultBranchRef") or {}
        return RepoMetadata(
            name_with_owner=repo.get("nameWithOwner") or full,
            pushed_at=repo.get("pushedAt"),
            updated_at=repo.get("updatedAt"),
            default_branch=branch.get("name") if isinstance(branch, Mapping) else None,
        )

    def fetch_pr_page(
        self,
        owner: str,
        name: str,
        first: int = PAGE_SIZE,
        after: str | None = None,
        order: Literal["CREATED_AT", "UPDATED_AT"] = "CREATED_AT",
        *,
        retry: bool | RetryPolicy = True,
        carry: Sequence[tuple[str, Mapping[str, str | None]]] = (),
        complete: bool = True,
    ) -> PRPageResult:
        """One page of PRs (newest first by `order`), every node complete.

        `retry=False`: a 5xx / timeout of the page request itself is raised at once
        (`ServerError` / `TransportFailed`), so the caller can halve `first` and try again.
        `carry`: follow-ups of earlier pages' PRs ([(node id, {connection: after cursor})])
        sent in the same query (`carry.py`); their answers come back in `carried`.
        `complete=False`: nodes overflowing a nested first page are returned as they are (the
        caller completes them, e.g. by carrying their follow-ups into the next page).
        """
        if order not in ("CREATED_AT", "UPDATED_AT"):
            raise ValueError(f"order must be CREATED_AT or UPDATED_AT, not {order!r}")
        if first < 1 or first > 100:
            raise ValueError(f"first must be between 1 and 100, not {first}")
        full = f"{owner}/{name}"
        query = FETCH_PRS_BULK_QUERY if order == "CREATED_AT" else FETCH_PRS_UPDATED_QUERY
        variables = {"owner": owner, "name": name, "first": first, "after": after}
        if carry:
            query, carried_variables = build_page_query_with_carry(order, carry)
            variables.update(carried_variables)
        cost = 0
        requests = 0
        page_policy = self._policy(retry)
        tries = 0
        while True:
            tries += 1
            response = self.execute(query, variables, repo=full, retry=page_policy)
            cost += response.cost
            requests += 1
            repo = self._repository(response, full)
            connection = repo.get("pullRequests")
            # A field GitHub refuses this token (FORBIDDEN, INSUFFICIENT_SCOPES) is refused
            # every time: the node is kept without it, never re-fetched (field_errors.py).
            refused, errors = split_field_errors(
                response.errors, ("repository", "pullRequests", "nodes")
            )
            broken = broken_node_indexes(errors, ("repository", "pullRequests", "nodes"))
            nodes_raw = connection.get("nodes") if isinstance(connection, Mapping) else None
            unusable = not isinstance(nodes_raw, list) or any(
                not error_under(e, ("repository", "pullRequests", "nodes")) for e in errors
            )
            nodeless = isinstance(nodes_raw, list) and any(
                i >= len(nodes_raw) or not has_number(nodes_raw[i]) for i in broken
            )
            if not (unusable or nodeless):
                break
            # Errors we cannot pin on one identifiable PR: the page as a whole is retried.
            failure = GraphQLFailed(
                errors or [{"message": "pullRequests missing from the answer"}],
                retryable=True,
                repo=full,
                detail="GitHub answered the PR page with errors",
            )
            self._back_off_or_raise(tries, failure, f"{full}: page answered with errors")
        assert isinstance(connection, Mapping) and isinstance(nodes_raw, list)
        for index, fields in refused.items():
            if isinstance(index, int) and index < len(nodes_raw):
                mark_unavailable(nodes_raw[index], fields)
        nodes: list[dict[str, Any]] = []
        refetch: list[int] = []
        for i, node in enumerate(nodes_raw):
            if i in broken:
                refetch.append(int(node["number"]))
                nodes.append({})  # placeholder, replaced below in place
            elif isinstance(node, dict):
                nodes.append(node)
        carried: dict[str, Any] = {}
        for i, (node_id, _cursors) in enumerate(carry):
            answer = response.data.get(f"{CARRY_ALIAS}{i}")
            if not isinstance(answer, Mapping):
                raise GraphQLFailed(
                    [{"message": f"PR node {node_id} vanished during follow-up queries"}],
                    retryable=True,
                    repo=full,
                )
            carried[node_id] = answer
        if complete:
            done_cost, done_requests = self._complete([n for n in nodes if n], full)
            cost += done_cost
            requests += done_requests
        if refetch:
            by_number = {}
            for number in refetch:
                single, single_cost, single_requests = self._fetch_single(owner, name, number)
                cost += single_cost
                requests += single_requests
                by_number[number] = single
            rebuilt: list[dict[str, Any]] = []
            it = iter(refetch)
            for node in nodes:
                if node:
                    rebuilt.append(node)
                else:
                    single = by_number[next(it)]
                    if single is not None:  # deleted meanwhile: nothing to return
                        rebuilt.append(single)
            nodes = rebuilt
        page_info = connection.get("pageInfo") or {}
        return PRPageResult(
            nodes=nodes,
            pushed_at=repo.get("pushedAt"),
            total_count=int(connection.get("totalCount") or 0),
            end_cursor=page_info.get("endCursor"),
            has_next_page=bool(page_info.get("hasNextPage")),
            cost=cost,
            requests=requests,
            carried=carried,
        )

    def fetch_single_pr(self, owner: str, name: str, number: int) -> dict[str, Any] | None:
        """One PR, complete; None when the repository has no PR with that number."""
        node, _cost, _requests = self._fetch_single(owner, name, number)
        return node

    def fetch_prs_by_node_ids(
        self, node_ids: Sequence[str], batch: int = 10, *, repo: str | None = None
    ) -> list[dict[str, Any]]:
        """Complete PR nodes for `node_ids`, in their order: one `nodes(ids:)` request per `batch`
        ids, then the follow-ups filling overflowing connections of all of them together.

        Ids that no longer resolve, or name something other than a PR, are left out (compare
        the result's `id`s). A node with errors attached is asked for again, never returned
        partial. `repo` only names the repository in errors and listener events.
        """
        if not 1 <= batch <= MAX_NODE_IDS:
            raise ValueError(f"batch must be between 1 and {MAX_NODE_IDS}, not {batch}")
        ids = list(dict.fromkeys(i for i in node_ids if i))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), batch):
            found.update(self._fetch_nodes(ids[start : start + batch], repo))
        self._complete(list(found.values()), repo)
        return [found[i] for i in ids if i in found]

    def probe_pulls(self, owner: str, name: str, etag: str | None) -> RestResponse:
        """Has any PR changed? `GET pulls?sort=updated` with If-None-Match: a 304 costs nothing."""
        return self.rest_get(
            f"/repos/{owner}/{name}/pulls",
            {"state": "all", "sort": "updated", "direction": "desc", "per_page": 1},
            etag=etag,
            repo=f"{owner}/{name}",
        )

    def fetch_repositories(
        self,
        repos: Sequence[str],
        first: int | None = None,
        *,
        order: Literal["CREATED_AT", "UPDATED_AT"] = "CREATED_AT",
        retry: bool | RetryPolicy = True,
    ) -> list[RepoSnapshot]:
        """Ask about many repositories ("owner/name") in one request (`repos.py`), in order.

        Without `first`: the change check (newest PR update, pushedAt, nameWithOwner). With
        `first`: also each repository's first page of PRs, newest created first, complete (the
        follow-ups of all the pages go together). A repository GitHub does not know comes back
        `found=False`; one whose part of the answer carried errors `failed=True` (ask about it
        alone). The caller sizes the batch (`repos.CHECK_BATCH`, `repos.page_batch_size`).
        """
        pairs = []
        for full in repos:
            owner, _, name = full.partition("/")
            pairs.append((owner, name))
        query, variables = build_repos_query(pairs, first, order)
        response = self.execute(query, variables, retry=self._policy(retry), aliased=True)
        snapshots: list[RepoSnapshot] = []
        nodes: list[dict[str, Any]] = []
        unplaced = [
            e for e in response.errors if not str((e.get("path") or [""])[0]).startswith("r")
        ]
        if unplaced:
            raise GraphQLFailed(unplaced, retryable=True, detail="many-repository query failed")
        for i, full in enumerate(repos):
            alias = f"r{i}"
            errors = [e for e in response.errors if (e.get("path") or [None])[0] == alias]
            raw = response.data.get(alias)
            if raw is None and errors and all(e.get("type") == "NOT_FOUND" for e in errors):
                snapshots.append(RepoSnapshot(full, found=False))
                continue
            if errors or not isinstance(raw, Mapping):
                snapshots.append(RepoSnapshot(full, failed=True))
                continue
            latest = raw.get("latest") if isinstance(raw.get("latest"), Mapping) else {}
            top = [n for n in latest.get("nodes") or [] if isinstance(n, Mapping)]
            page = None
            if first is not None:
                connection = raw.get("pullRequests")
                page_nodes_ = connection.get("nodes") if isinstance(connection, Mapping) else None
                if not isinstance(page_nodes_, list) or not all(
                    isinstance(n, dict) for n in page_nodes_
                ):
                    snapshots.append(RepoSnapshot(full, failed=True))
                    continue
                assert isinstance(connection, Mapping)
                info = connection.get("pageInfo") or {}
                page = PRPageResult(
                    nodes=page_nodes_,
                    pushed_at=raw.get("pushedAt"),
                    total_count=int(connection.get("totalCount") or 0),
                    end_cursor=info.get("endCursor"),
                    has_next_page=bool(info.get("hasNextPage")),
                    cost=0,  # the call's points are the batch's, counted by the client
                    requests=0,
                )
                nodes.extend(page_nodes_)
            snapshots.append(
                RepoSnapshot(
                    full,
                    name_with_owner=raw.get("nameWithOwner"),
                    pushed_at=raw.get("pushedAt"),
                    top_updated_at=top[0].get("updatedAt") if top else None,
                    total_count=int(latest.get("totalCount") or 0),
                    page=page,
                )
            )
        if nodes:
            self._complete(nodes, None)
        return snapshots

    def fetch_check_runs_rest(self, owner: str, name: str, sha: str) -> list[dict[str, Any]]:
        """Every check run of one commit through REST (the optional, serial fallback)."""
        runs: list[dict[str, Any]] = []
        page = 1
        while True:
            response = self.rest_get(
                f"/repos/{owner}/{name}/commits/{sha}/check-runs",
                {"per_page": 100, "page": page},
                repo=f"{owner}/{name}",
            )
            data = response.data if isinstance(response.data, Mapping) else {}
            batch = [r for r in data.get("check_runs") or [] if isinstance(r, dict)]
            runs.extend(batch)
            total = int(data.get("total_count") or 0)
            if not batch or len(runs) >= total:
                return runs
            page += 1

    # ---- completion of nested connections ---------------------------------------------------

    def _fetch_single(
        self, owner: str, name: str, number: int
    ) -> tuple[dict[str, Any] | None, int, int]:
        full = f"{owner}/{name}"
        variables = {"owner": owner, "name": name, "number": number}
        cost = 0
        tries = 0
        while True:
            tries += 1
            response = self.execute(FETCH_SINGLE_PR_QUERY, variables, repo=full)
            cost += response.cost
            repo = self._repository(response, full)
            node = repo.get("pullRequest")
            refused, errors = split_field_errors(response.errors, ("repository", "pullRequest"))
            if not errors:
                mark_unavailable(node, refused.get(None, ()))
                break
            if node is None and all(e.get("type") == "NOT_FOUND" for e in errors):
                return None, cost, tries
            failure = GraphQLFailed(
                errors,
                retryable=True,
                repo=full,
                detail=f"PR #{number} kept coming back with errors",
            )
            self._back_off_or_raise(tries, failure, f"{full}#{number}: answered with errors")
        if not isinstance(node, dict):
            return None, cost, tries
        more_cost, more_requests = self._complete([node], full)
        return node, cost + more_cost, tries + more_requests

    def _fetch_nodes(self, ids: Sequence[str], repo: str | None) -> dict[str, dict[str, Any]]:
        """{node id: PR node as answered} for `ids` (one request; more only for broken nodes)."""
        pending = list(ids)
        out: dict[str, dict[str, Any]] = {}
        tries = 0
        while pending:
            tries += 1
            response = self.execute(FETCH_PRS_BY_NODE_IDS_QUERY, {"ids": pending}, repo=repo)
            raw = response.data.get("nodes")
            refused, errors = split_field_errors(response.errors, ("nodes",))
            usable = (
                isinstance(raw, list)
                and len(raw) == len(pending)
                and all(error_under(e, ("nodes",)) for e in errors)
            )
            if usable:
                assert isinstance(raw, list)
                again: list[str] = []
                for i, (node_id, node) in enumerate(zip(pending, raw, strict=True)):
                    at_i = [e for e in errors if e["path"][1] == i]
                    mark_unavailable(node, refused.get(i, ()))
                    if node is None and all(e.get("type") == "NOT_FOUND" for e in at_i):
                        continue  # gone (or never was): nothing to return
                    if at_i:
                        again.append(node_id)  # partial: asked for again, alone with the rest
                    elif isinstance(node, dict) and node.get("id"):
                        out[node_id] = node
                    # else: a node of another type (`{}` under the PullRequest fragment)
                pending = again
                if not pending:
                    break
            failure = GraphQLFailed(
                errors or [{"message": "nodes missing from the answer"}],
                retryable=True,
                repo=repo,
                detail=f"{len(pending)} PR node(s) kept coming back with errors",
            )
            self._back_off_or_raise(tries, failure, f"{repo or 'PR nodes'}: answered with errors")
        return out

    def complete(self, nodes: Sequence[dict[str, Any]], repo: str | None = None) -> tuple[int, int]:
        """Fill every overflowing nested connection of `nodes` in place with follow-up
        requests of their own; (points, requests)."""
        return self._complete(nodes, repo)

    def _complete(self, nodes: Sequence[dict[str, Any]], repo: str | None) -> tuple[int, int]:
        """Fill every overflowing nested connection of `nodes` in place; (points, requests)."""

        def follow_up(query: str, variables: Mapping[str, Any], size: int) -> GraphQLResponse:
            return self._execute_complete(query, variables, repo, size)

        return complete_nodes(nodes, follow_up, repo)

    def _execute_complete(
        self, query: str, variables: Mapping[str, Any], repo: str | None, size: int
    ) -> GraphQLResponse:
        """A follow-up request; any error is retried (its data is never partially merged)."""
        tries = 0
        while True:
            tries += 1
            response = self.execute(query, variables, repo=repo)
            if not response.errors:
                return response
            failure = GraphQLFailed(
                response.errors,
                retryable=True,
                repo=repo,
                detail=f"follow-up query for {size} PR(s) kept failing",
            )
            self._back_off_or_raise(tries, failure, f"{repo}: follow-up answered with errors")

    def _back_off_or_raise(self, tries: int, failure: GraphQLFailed, reason: str) -> None:
        """After an answer with errors: raise `failure` when tries are spent, else back off."""
        if tries >= self.retry.attempts:
            raise failure
        self._count_retry()
        self._wait(self.retry.backoff(tries - 1), reason)

    def retry_wait(self, seconds: float, reason: str) -> None:
        """One retry of a caller's own loop (the page-size search): counted, then waited for
        through the client's clock, the listener told, as the client's own retries are."""
        self._count_retry()
        self._wait(seconds, reason)

    # ---- the request loop ------------------------------------------------------------------

    def _policy(self, retry: bool | RetryPolicy) -> RetryPolicy:
        if isinstance(retry, RetryPolicy):
            return retry
        return self.retry if retry else self.retry.without_retries()

    def _next_token(self, resource: str, cost: int) -> str:
        return self.tokens.token_for(resource, cost)

    def _coordination_key(self, token: str) -> str:
        """The name the lock and the budget of `token` go by: what GitHub budgets.

        A pool's members are separate budgets, so each goes by its own `token_key`. A single-
        token source goes by its stable `key`: a PAT's `token_key`, or an App installation's key
        -- every worker process buys its own installation token, yet GitHub counts one budget
        per installation, so keying by the token string would split lock and budget per process.
        """
        return self.tokens.key_for(token)

    def _send(
        self,
        *,
        kind: Literal["graphql", "rest"],
        method: str,
        path: str,
        resource: str,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        estimate: int,
        policy: RetryPolicy,
        repo: str | None,
        check: Checker | None = None,
        cost_key: str | None = None,
    ) -> HTTPAnswer:
        """Send one logical request through limits, lock, transport and retries."""
        tries = 0
        secondary_hits = 0
        limit_hits = 0
        rejected: set[str] = set()
        while True:
            token = self._next_token(resource, estimate)
            key = self._coordination_key(token)
            self._await_budget(key, resource, estimate, repo)
            error: GitHubError | None = None
            answer: HTTPAnswer | None = None
            with self.coordinator.token_lock(key):
                # Another thread may have met a limit while we queued for the lock.
                now = self.clock.now()
                if self._free_at(key, resource, estimate, now) > now:
                    continue
                tries += 1
                self._count_request(kind)
                try:
                    answer = self.transport.request(
                        method,
                        path,
                        token=token,
                        json_body=json_body,
                        params=params,
                        headers=headers,
                    )
                except GitHubError as exc:  # TransportFailed: no answer at all
                    error = exc
                else:
                    error = self._after_answer(answer, key, kind, resource, check, cost_key)
                if isinstance(error, RateLimited):
                    secondary_hits, limit_hits = self._block(
                        error, key, policy, secondary_hits, limit_hits
                    )
            self._notify_request(kind, method, path, answer, key, repo, error)
            if error is None:
                assert answer is not None
                self._clear_streak(key)
                return answer
            error.for_repo(repo)
            if isinstance(error, SecondaryRateLimited):
                if self.on_limit == "stop":
                    raise error  # its retry_after is the policy's whole wait: re-queue for it
                if secondary_hits > policy.secondary_attempts:
                    raise SecondaryRateLimited(
                        f"GitHub secondary rate limit persisted after {secondary_hits} tries "
                        f"(the last wait {error.retry_after:.0f}s)",
                        retry_after=error.retry_after,
                        resource=error.resource,
                        repo=repo,
                    )
                continue  # _await_budget waits out the block recorded above
            if isinstance(error, RateLimited):
                if limit_hits > MAX_PRIMARY_WAITS:
                    raise error
                if self.on_limit == "stop" and not self._other_token_free(key, resource, estimate):
                    raise error
                continue
            if isinstance(error, BadCredentials):
                # By token string, not coordination key: a renewed App token shares its
                # installation's key but is a new token, worth one more try.
                rejected.add(token_key(token))
                self.tokens.invalidate(token)
                try:
                    replacement = self._next_token(resource, estimate)
                except BadCredentials:
                    raise error from None
                if token_key(replacement) in rejected:
                    raise error
                continue
            if not policy.should_retry(error, tries):
                raise error
            hint = parse_retry_after(answer.headers, self.clock.now()) if answer else None
            delay = policy.delay_for(error, tries - 1, hint)
            self._count_retry()
            self._wait(delay, f"retrying after {_short(error)}")

    def _after_answer(
        self,
        answer: HTTPAnswer,
        key: str,
        kind: str,
        resource: str,
        check: Checker | None,
        cost_key: str | None,
    ) -> GitHubError | None:
        """Book-keep one answer (stats, budgets); return the error it means, if any."""
        now = self.clock.now()
        header_state = RateLimitState.from_headers(answer.headers, default_resource=resource)
        if header_state is not None:
            self._observe(key, header_state)
        try:
            raise_for_status(answer, now=now, resource=resource)
            if check is not None:
                check(answer, now)
        except GitHubError as exc:
            return exc
        if kind == "graphql":
            state = _graphql_rate_limit(answer)
            if state is not None:
                self._observe(key, state)
                if cost_key is not None:
                    self._costs.record(cost_key, state.cost)
                with self._stats_lock:
                    self.stats.points_used += state.cost or 0
        return None

    def _check_aliased_graphql(self, answer: HTTPAnswer, now: float) -> None:
        """`_check_graphql` for a many-repository document: NOT_FOUND at an alias is an answer."""
        self._check_graphql(answer, now, aliased=True)

    def _check_graphql(self, answer: HTTPAnswer, now: float, *, aliased: bool = False) -> None:
        """Raise for GraphQL answers without usable data (limits, NOT_FOUND, failures)."""
        body = answer.body
        if not isinstance(body, Mapping):
            raise GraphQLFailed(
                [{"message": "GitHub sent no JSON object"}],
                retryable=True,
                detail="GitHub GraphQL answer unreadable",
            )
        errors = [e for e in (body.get("errors") or []) if isinstance(e, Mapping)]
        data = body.get("data")
        if any(e.get("type") == "RATE_LIMITED" for e in errors):
            # docs.github.com: the GraphQL primary limit answers 200 (or 403) with RATE_LIMITED.
            state = RateLimitState.from_headers(answer.headers, default_resource="graphql")
            hint = parse_retry_after(answer.headers, now)
            if state is not None and state.remaining == 0:
                raise RateLimited(
                    "GitHub graphql rate limit exhausted",
                    retry_after=hint if hint is not None else state.seconds_to_reset(now),
                    reset_at=state.reset_at,
                    resource="graphql",
                )
            raise SecondaryRateLimited(
                "GitHub GraphQL rate limit hit",
                retry_after=hint or 0.0,
                resource="graphql",
                hinted=hint is not None,
            )
        for error in errors:
            path = error.get("path") or []
            if error.get("type") == "NOT_FOUND" and len(path) <= (0 if aliased else 1):
                raise NotFound(str(error.get("message") or "not found"))
        if (
            aliased
            and errors
            and all(e.get("type") == "NOT_FOUND" and len(e.get("path") or []) == 1 for e in errors)
        ):
            return  # every repository asked about is unknown: each alias says so
        usable = isinstance(data, Mapping) and any(
            v is not None for k, v in data.items() if k != "rateLimit"
        )
        if errors and not usable:
            raise GraphQLFailed(errors)
        if not isinstance(data, Mapping):
            raise GraphQLFailed([{"message": "GitHub answered without data"}], retryable=True)

    def _observe(self, key: str, state: RateLimitState) -> None:
        self.rate_limits[state.resource] = state
        self.coordinator.record_budget(key, state.resource, state.remaining, state.reset_at)
        callback = getattr(self.listener, "on_rate_limit", None)
        if callback is not None:
            callback(state)

    def _block(
        self,
        error: RateLimited,
        key: str,
        policy: RetryPolicy,
        secondary_hits: int,
        limit_hits: int,
    ) -> tuple[int, int]:
        """Record, under the token lock, until when nothing may be sent with this token."""
        now = self.clock.now()
        if isinstance(error, SecondaryRateLimited):
            secondary_hits += 1
            streak = secondary_hits
            if self._streaks is not None:
                # A streak outlives this request (a re-queued task is hit again); it is
                # forgotten when nothing more is heard of it for the longest wait there is.
                forget_at = now + policy.secondary_cap + policy.max_retry_after
                streak = max(streak, self._streaks.note_secondary_hit(key, forget_at))
            delay = policy.secondary_delay(error, streak, now)
            error.retry_after = delay
            self.coordinator.block_until(key, "secondary", now + delay)
        else:
            limit_hits += 1
            until = (error.reset_at or now + error.retry_after) + policy.reset_margin
            if error.retry_after and now + error.retry_after > until:
                until = now + error.retry_after
            self.coordinator.block_until(key, error.resource, until)
            self.coordinator.record_budget(key, error.resource, 0, until)
        return secondary_hits, limit_hits

    def _clear_streak(self, key: str) -> None:
        """A request went through: the token's streak of secondary hits is over."""
        if self._streaks is not None:
            self._streaks.clear_secondary_hits(key)

    def _free_at(self, key: str, resource: str, cost: int, now: float) -> float:
        """When this token may next send a request of `cost` on `resource` (epoch seconds)."""
        # After a reset, the policy's margin (clock skew, rounding) before the first request.
        margin = self.retry.reset_margin
        return next_send_at(self.coordinator, key, resource, cost, now, margin=margin)

    def _other_token_free(self, key: str, resource: str, cost: int) -> bool:
        now = self.clock.now()
        for other in self.tokens.keys:
            if other != key and self._free_at(other, resource, cost, now) <= now:
                return True
        return False

    def _await_budget(self, key: str, resource: str, cost: int, repo: str | None) -> None:
        """Wait until this token may send (or raise RateLimited when on_limit="stop")."""
        while True:
            now = self.clock.now()
            free_at = self._free_at(key, resource, cost, now)
            if free_at <= now:
                return
            secondary = (self.coordinator.blocked_until(key, "secondary") or 0) >= free_at
            if self.on_limit == "stop" and secondary:
                # Told of by another request or process: re-queue, never sleep in a worker.
                raise SecondaryRateLimited(
                    "GitHub secondary rate limit in force",
                    retry_after=free_at - now,
                    resource=resource,
                    repo=repo,
                )
            if self.on_limit == "stop":
                raise RateLimited(
                    f"GitHub {resource} rate limit exhausted",
                    retry_after=free_at - now,
                    reset_at=free_at,
                    resource=resource,
                    repo=repo,
                )
            what = "secondary rate limit" if secondary else f"{resource} rate limit reset"
            self._wait(free_at - now, f"waiting for the {what}" + (f" ({repo})" if repo else ""))

    def _wait(self, seconds: float, reason: str) -> None:
        """Sleep through the clock in steps of at most a second, telling the listener."""
        if seconds <= 0:
            return
        logger.info("GitHub client waits %.1fs: %s", seconds, reason)
        callback = getattr(self.listener, "on_wait", None)
        end = self.clock.monotonic() + seconds
        while (left := end - self.clock.monotonic()) > 0:
            if callback is not None:
                callback(left, reason)
            self.clock.sleep(min(1.0, left))
        if callback is not None:
            callback(0.0, reason)
        with self._stats_lock:
            self.stats.waited_seconds += seconds

    def _count_request(self, kind: str) -> None:
        """One HTTP request sent (answered or not: a dropped one was sent too)."""
        with self._stats_lock:
            self.stats.requests += 1
            if kind == "graphql":
                self.stats.graphql_requests += 1
            else:
                self.stats.rest_requests += 1

    def _count_retry(self) -> None:
        with self._stats_lock:
            self.stats.retries += 1

    def _notify_request(
        self,
        kind: Literal["graphql", "rest"],
        method: str,
        path: str,
        answer: HTTPAnswer | None,
        key: str,
        repo: str | None,
        error: GitHubError | None,
    ) -> None:
        callback = getattr(self.listener, "on_request", None)
        if callback is None:
            return
        cost = 0
        if answer is not None and kind == "graphql":
            state = _graphql_rate_limit(answer)
            cost = (state.cost or 0) if state is not None else 0
        elif answer is not None and kind == "rest" and answer.status != 304:
            cost = 1
        callback(
            RequestInfo(
                kind=kind,
                method=method,
                path=path,
                status=answer.status if answer is not None else None,
                cost=cost,
                token_key=key,
                repo=repo,
                error=_short(error) if error is not None else None,
            )
        )

    def _repository(self, response: GraphQLResponse, full: str) -> dict[str, Any]:
        repo = response.data.get("repository")
        if not isinstance(repo, dict):
            raise NotFound(repo=full)
        return repo


def _short(error: GitHubError | None) -> str:
    """The error's class (and HTTP status) for wait reasons and listener events."""
    if error is None:
        return ""
    return type(error).__name__ + (f" {error.status}" if getattr(error, "status", None) else "")


def _graphql_rate_limit(answer: HTTPAnswer) -> RateLimitState | None:
    """The `rateLimit` a GraphQL answer carries in its data, None when it carries none."""
    data = answer.body.get("data") if isinstance(answer.body, Mapping) else None
    return RateLimitState.from_graphql(data.get("rateLimit") if isinstance(data, Mapping) else None)
