"""GitHubGraphQLClient: the GitHub endpoints seeding and production sync ask, over one Session.

Each method says what it asks (a GraphQL document or a REST path) and how to read the answer;
`session.py` sends it: token, budget wait, per-token lock, retries, limits, stats -- once, for
every request. `on_limit="wait"` (seeding) waits limits out; `on_limit="stop"` (workers that
re-queue) raises `RateLimited` / `SecondaryRateLimited` carrying the wait instead.

Size: over 400 lines because it is the whole of what we ask GitHub: ten endpoint methods, each
with the reading of its answer, and the PR page's reading is most of it (refused fields, nodes
re-fetched alone, carried follow-ups, completion), which GitHub's answers make necessary.

PR pages come back *complete* (`completion.py` fills overflowing nested connections). A PR node
that came back with an error path (partial data) is re-fetched alone; an `errors` answer is
never taken as empty data. A field GitHub refuses the token (`FORBIDDEN`,
`INSUFFICIENT_SCOPES` at a path inside a node) is permanent: the node is kept without it and
names it under `field_errors.UNAVAILABLE_KEY`; it is not re-fetched. An answer whose errors
cannot be pinned on one PR is asked again (the reader raises `AskAgain`; the session backs off).
`fetch_prs_by_node_ids` (the CI re-poll) asks `nodes(ids:)` for PRs it already knows and
completes them the same way.

Adaptive page size (the fetcher's job) -- the design chosen: `fetch_pr_page(..., retry=False)`
switches transient retries off for the page request itself, so the first 502/503/504
(`ServerError`) or timeout / dropped connection (`TransportFailed`) reaches the caller at once
and it can halve the page. With the default `retry=True` the same errors are raised only after
the policy's retries. Rate limits are waited for in both cases, and follow-up requests always
retry normally.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from .carry import CARRY_ALIAS, build_page_query_with_carry
from .clock import Clock, SystemClock
from .completion import broken_node_indexes, complete_nodes, error_under, has_number
from .coordination import Coordinator, default_coordinator
from .endpoints import graphql_url_for
from .errors import GraphQLFailed, NotFound
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
from .repos import RepoSnapshot, build_repos_query, read_repos_answer
from .retry import RetryPolicy
from .session import MAX_PRIMARY_WAITS, AskAgain, Checker, Request, Session, graphql_response
from .tokens import TokenSource, as_token_source
from .transport import DEFAULT_TIMEOUT, Transport
from .values import (
    ClientListener,
    GraphQLResponse,
    PRPageResult,
    RepoMetadata,
    RestResponse,
)

__all__ = ["DEFAULT_BASE_URL", "MAX_PRIMARY_WAITS", "Checker", "GitHubGraphQLClient"]

DEFAULT_BASE_URL = "https://api.github.com"

T = TypeVar("T")


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
        self.session = Session(
            as_token_source(token),
            transport or Transport(self.base_url, timeout=timeout),
            retry=retry or RetryPolicy(),
            clock=clock or SystemClock(),
            on_limit=on_limit,
            coordinator=coordinator or default_coordinator(self.base_url),
            listener=listener,
        )
        # What callers read of the session: the same objects, never copies.
        self.tokens = self.session.tokens
        self.retry = self.session.retry
        self.clock = self.session.clock
        self.on_limit = self.session.on_limit
        self.coordinator = self.session.coordinator
        self.listener = self.session.listener
        self.transport = self.session.transport
        self.rate_limits = self.session.rate_limits
        self.stats = self.session.stats

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
        return self._query(query, variables or {}, _as_is, repo=repo, retry=retry, aliased=aliased)

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
        request = Request(
            kind="rest", method="GET", path=path, resource="core", params=params, headers=headers
        )
        answer = self.session.send(request, _as_is, policy=self._policy(retry), repo=repo)
        not_modified = answer.status == 304
        if not_modified:
            self.session.count_not_modified()
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

        def read(response: GraphQLResponse) -> _PageAnswer:
            nonlocal cost, requests
            cost += response.cost
            requests += 1
            return _read_page(response, self._repository(response, full), full)

        page = self._query(query, variables, read, repo=full, retry=retry)
        nodes: list[dict[str, Any]] = []
        refetch: list[int] = []
        for i, node in enumerate(page.nodes):
            if i in page.broken:
                refetch.append(int(node["number"]))
                nodes.append({})  # placeholder, replaced below in place
            elif isinstance(node, dict):
                nodes.append(node)
        carried: dict[str, Any] = {}
        for i, (node_id, _cursors) in enumerate(carry):
            answer = page.response.data.get(f"{CARRY_ALIAS}{i}")
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
        page_info = page.connection.get("pageInfo") or {}
        return PRPageResult(
            nodes=nodes,
            pushed_at=page.repo.get("pushedAt"),
            total_count=int(page.connection.get("totalCount") or 0),
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
        snapshots = read_repos_answer(response, repos, first)
        nodes = [n for snapshot in snapshots if snapshot.page for n in snapshot.page.nodes]
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

        def read(response: GraphQLResponse) -> Any:
            nonlocal cost, tries
            cost += response.cost
            tries += 1
            node = self._repository(response, full).get("pullRequest")
            refused, errors = split_field_errors(response.errors, ("repository", "pullRequest"))
            if not errors:
                mark_unavailable(node, refused.get(None, ()))
                return node
            if node is None and all(e.get("type") == "NOT_FOUND" for e in errors):
                return None
            failure = GraphQLFailed(
                errors,
                retryable=True,
                repo=full,
                detail=f"PR #{number} kept coming back with errors",
            )
            raise AskAgain(failure, f"{full}#{number}: answered with errors")

        node = self._query(FETCH_SINGLE_PR_QUERY, variables, read, repo=full)
        if not isinstance(node, dict):
            return None, cost, tries
        more_cost, more_requests = self._complete([node], full)
        return node, cost + more_cost, tries + more_requests

    def _fetch_nodes(self, ids: Sequence[str], repo: str | None) -> dict[str, dict[str, Any]]:
        """{node id: PR node as answered} for `ids` (one request; more only for broken nodes)."""
        out: dict[str, dict[str, Any]] = {}
        pending = list(ids)

        def read(response: GraphQLResponse) -> None:
            nonlocal pending
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
                    return
            failure = GraphQLFailed(
                errors or [{"message": "nodes missing from the answer"}],
                retryable=True,
                repo=repo,
                detail=f"{len(pending)} PR node(s) kept coming back with errors",
            )
            raise AskAgain(
                failure,
                f"{repo or 'PR nodes'}: answered with errors",
                self.session.graphql(
                    self.graphql_url, FETCH_PRS_BY_NODE_IDS_QUERY, {"ids": pending}
                ),
            )

        if pending:
            self._query(FETCH_PRS_BY_NODE_IDS_QUERY, {"ids": pending}, read, repo=repo)
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

        def read(response: GraphQLResponse) -> GraphQLResponse:
            if not response.errors:
                return response
            failure = GraphQLFailed(
                response.errors,
                retryable=True,
                repo=repo,
                detail=f"follow-up query for {size} PR(s) kept failing",
            )
            raise AskAgain(failure, f"{repo}: follow-up answered with errors")

        return self._query(query, variables, read, repo=repo)

    def retry_wait(self, seconds: float, reason: str) -> None:
        """One retry of a caller's own loop (the page-size search): counted, then waited for
        through the client's clock, the listener told, as the client's own retries are."""
        self.session.count_retry()
        self.session.wait(seconds, reason)

    # ---- over the session --------------------------------------------------------------------

    def _query(
        self,
        query: str,
        variables: Mapping[str, Any],
        read: Callable[[GraphQLResponse], T],
        *,
        repo: str | None,
        retry: bool | RetryPolicy = True,
        aliased: bool = False,
    ) -> T:
        """Send one GraphQL document through the session; `read` says what its answer is worth
        (and raises `AskAgain` for an answer with errors worth asking again for)."""
        request = self.session.graphql(self.graphql_url, query, variables, aliased=aliased)
        return self.session.send(
            request,
            lambda answer: read(graphql_response(answer)),
            policy=self._policy(retry),
            repo=repo,
        )

    def _policy(self, retry: bool | RetryPolicy) -> RetryPolicy:
        if isinstance(retry, RetryPolicy):
            return retry
        return self.retry if retry else self.retry.without_retries()

    def _repository(self, response: GraphQLResponse, full: str) -> dict[str, Any]:
        repo = response.data.get("repository")
        if not isinstance(repo, dict):
            raise NotFound(repo=full)
        return repo


@dataclass(frozen=True, slots=True)
class _PageAnswer:
    """A PR page's answer, read: its nodes (refused fields marked), and the nodes to re-fetch."""

    response: GraphQLResponse
    repo: dict[str, Any]
    connection: Mapping[str, Any]
    nodes: list[Any]
    broken: set[int]  # indexes of nodes that came back with errors: each is re-fetched alone


_PAGE_NODES = ("repository", "pullRequests", "nodes")


def _read_page(response: GraphQLResponse, repo: dict[str, Any], full: str) -> _PageAnswer:
    """Read a PR page's answer; raise `AskAgain` for errors not pinned on one identifiable PR."""
    connection = repo.get("pullRequests")
    nodes = connection.get("nodes") if isinstance(connection, Mapping) else None
    # A field GitHub refuses this token (FORBIDDEN, INSUFFICIENT_SCOPES) is refused every time:
    # the node is kept without it, never re-fetched (field_errors.py).
    refused, errors = split_field_errors(response.errors, _PAGE_NODES)
    broken = broken_node_indexes(errors, _PAGE_NODES)
    unusable = not isinstance(nodes, list) or any(not error_under(e, _PAGE_NODES) for e in errors)
    nodeless = isinstance(nodes, list) and any(
        i >= len(nodes) or not has_number(nodes[i]) for i in broken
    )
    if unusable or nodeless:
        failure = GraphQLFailed(
            errors or [{"message": "pullRequests missing from the answer"}],
            retryable=True,
            repo=full,
            detail="GitHub answered the PR page with errors",
        )
        raise AskAgain(failure, f"{full}: page answered with errors")
    assert isinstance(connection, Mapping) and isinstance(nodes, list)
    for index, fields in refused.items():
        if isinstance(index, int) and index < len(nodes):
            mark_unavailable(nodes[index], fields)
    return _PageAnswer(response, repo, connection, nodes, set(broken))


def _as_is(answer: T) -> T:
    return answer
