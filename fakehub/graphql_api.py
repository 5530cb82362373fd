"""GraphQL at POST /graphql: our SDL, its resolvers, GitHub's cost formula and node limits.

Documents are parsed and validated once per query text (an LRU cache), then analysed per request
for cost (docs.github.com, "Rate limits and node limits for the GraphQL API"): every connection
field (a field whose type is a `...Connection`) needs `first` or `last` between 1 and 100; it
adds the number of requests needed to fill it (the product of its ancestors' `first`/`last`) to
the request count and `first`/`last` times that product to the node count. Cost is the request
count / 100, rounded to the nearest integer, minimum 1; more than 500,000 nodes is refused.

Size: over 400 lines because serving GraphQL as GitHub does is one job: the resolvers, the
connection pages they return and the cost and node-limit analysis all read the same SDL and
`first`/`last` arguments, so the cost counted is that of exactly the pages the resolvers serve.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_ast_schema,
    execute,
    get_named_type,
    parse,
    validate,
    value_from_ast_untyped,
)
from graphql.error import GraphQLSyntaxError

from fakehub.fast_exec import fast_execute
from fakehub.store import ORDER_FIELDS, Repo, Store
from fakehub.views import mentionable_users, pr_view, repo_view

__all__ = [
    "MAX_NODES",
    "Analysis",
    "GitHubGraphQLError",
    "analyse",
    "build_schema",
    "cost_from_requests",
    "load_sdl",
]

MAX_NODES = 500_000
MAX_PAGE = 100


class GitHubGraphQLError(GraphQLError):
    """A GraphQL error carrying GitHub's top-level `type` (NOT_FOUND, RATE_LIMITED, ...)."""

    def __init__(self, message: str, gh_type: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.gh_type = gh_type


def load_sdl() -> str:
    """fakehub's SDL text (fakehub/schema.graphql)."""
    return resources.files("fakehub").joinpath("schema.graphql").read_text(encoding="utf-8")


def cost_from_requests(requests: int) -> int:
    """GitHub's rule: requests / 100, rounded to the nearest whole number, at least 1."""
    return max(1, int(requests / 100 + 0.5))


# --- connections ---------------------------------------------------------------------------


def _offset_cursor(index: int) -> str:
    import base64

    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _cursor_offset(cursor: str | None) -> int | None:
    import base64
    import binascii

    if not cursor:
        return None
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    tail = text.removeprefix("cursor:v2:")
    return int(tail) if tail.isdigit() and tail != text else None


class ListConnection:
    """A page of a nested list, with GitHub's connection fields (offset cursors)."""

    __slots__ = ("_items", "_start", "_end", "totalCount", "_has_next", "_has_prev")

    def __init__(
        self,
        items: Sequence[Any],
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
    ) -> None:
        count = len(items)
        lo, hi = 0, count
        after_index = _cursor_offset(after)
        before_index = _cursor_offset(before)
        if after_index is not None:
            lo = min(count, after_index + 1)
        if before_index is not None:
            hi = max(lo, min(count, before_index))
        start, end = lo, hi
        if first is not None:
            end = min(hi, lo + first)
        if last is not None and (first is None):
            start = max(lo, hi - last)
        self._items, self._start, self._end = items, start, end
        self.totalCount = count
        self._has_next = end < count if (first is not None or before_index is not None) else False
        self._has_prev = start > 0 if (last is not None and first is None) or after else False

    @property
    def nodes(self) -> list[Any]:
        return list(self._items[self._start : self._end])

    @property
    def edges(self) -> list[dict[str, Any]]:
        page = self._items[self._start : self._end]
        return [
            {"cursor": _offset_cursor(self._start + i), "node": node} for i, node in enumerate(page)
        ]

    @property
    def pageInfo(self) -> dict[str, Any]:  # noqa: N802 - GraphQL field name
        empty = self._start >= self._end
        return {
            "startCursor": None if empty else _offset_cursor(self._start),
            "endCursor": None if empty else _offset_cursor(self._end - 1),
            "hasNextPage": self._has_next,
            "hasPreviousPage": self._has_prev,
        }

    # StatusCheckRollupContextConnection counts.
    @property
    def checkRunCount(self) -> int:  # noqa: N802
        return sum(1 for item in self._items if item.get("__typename") == "CheckRun")

    @property
    def statusContextCount(self) -> int:  # noqa: N802
        return sum(1 for item in self._items if item.get("__typename") == "StatusContext")


class PRConnection:
    """A page of a repository's PRs (cursors encode sort key + number)."""

    __slots__ = ("_repo", "_items", "totalCount", "_has_next", "_has_prev")

    def __init__(self, repo: Repo, items: list[tuple[str, dict[str, Any]]], total: int,
                 has_next: bool, has_prev: bool) -> None:  # fmt: skip
        self._repo = repo
        self._items = [(cursor, pr_view(repo, pr)) for cursor, pr in items]
        self.totalCount = total
        self._has_next, self._has_prev = has_next, has_prev

    @property
    def nodes(self) -> list[dict[str, Any]]:
        return [view for _, view in self._items]

    @property
    def edges(self) -> list[dict[str, Any]]:
        return [{"cursor": cursor, "node": view} for cursor, view in self._items]

    @property
    def pageInfo(self) -> dict[str, Any]:  # noqa: N802
        return {
            "startCursor": self._items[0][0] if self._items else None,
            "endCursor": self._items[-1][0] if self._items else None,
            "hasNextPage": self._has_next,
            "hasPreviousPage": self._has_prev,
        }


# --- resolvers -----------------------------------------------------------------------------


@dataclass
class Context:
    """Per-request values the resolvers read."""

    store: Store
    rate_limit: dict[str, Any] = field(default_factory=dict)


# PullRequestTimelineItemsItemType value -> the timeline item's GraphQL type.
_TIMELINE_TYPENAMES = {
    "CONVERT_TO_DRAFT_EVENT": "ConvertToDraftEvent",
    "HEAD_REF_FORCE_PUSHED_EVENT": "HeadRefForcePushedEvent",
    "READY_FOR_REVIEW_EVENT": "ReadyForReviewEvent",
    "REVIEW_REQUESTED_EVENT": "ReviewRequestedEvent",
    "REVIEW_REQUEST_REMOVED_EVENT": "ReviewRequestRemovedEvent",
}


def _resolve_list_connection(key: str):  # type: ignore[no-untyped-def]
    def resolve(
        source: dict[str, Any],
        info: Any,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        **extra: Any,
    ) -> ListConnection:
        items = source.get(key) or ()
        if key == "reviews" and extra.get("states"):
            wanted = set(extra["states"])
            items = [review for review in items if review["state"] in wanted]
        if key == "timelineItems" and extra.get("itemTypes"):
            # itemTypes filters the timeline, and totalCount counts what the filter keeps
            # (docs.github.com: graphql/reference/objects#pullrequest, timelineItems).
            kinds = {_TIMELINE_TYPENAMES[item_type] for item_type in extra["itemTypes"]}
            items = [item for item in items if item["__typename"] in kinds]
        return ListConnection(items, first, after, last, before)

    return resolve


def _resolve_repository(
    root: Any,
    info: Any,
    owner: str,
    name: str,
    followRenames: bool = True,  # noqa: N803
) -> Any:
    store: Store = info.context.store
    repo = store.get_repo(owner, name)
    if repo is None and followRenames:
        # docs.github.com/graphql/reference/queries#repository: followRenames (default true)
        # "Follow repository renames. If disabled, a repository referenced by its old name
        # will return an error."
        repo = store.moved_repo(owner, name)
    if repo is None:
        raise GitHubGraphQLError(
            f"Could not resolve to a Repository with the name '{owner}/{name}'.",
            "NOT_FOUND",
        )
    return repo_view(repo)


def _resolve_pull_requests(
    source: dict[str, Any],
    info: Any,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    orderBy: dict[str, Any] | None = None,  # noqa: N803 - GraphQL argument name
    states: list[str] | None = None,
) -> PRConnection:
    repo: Repo = source["_repo"]
    # GitHub's default order for pullRequests is by creation, ascending.
    order = orderBy or {"field": "CREATED_AT", "direction": "ASC"}
    sort_field = ORDER_FIELDS[order["field"]]
    wanted = frozenset(states) if states else None
    if first is None and last is None:
        first = MAX_PAGE
    store: Store = info.context.store
    with store.lock:
        page = repo.page(
            sort_field, order["direction"] == "DESC", wanted, first, after, last, before
        )
        return PRConnection(
            repo, page.items, page.total_count, page.has_next_page, page.has_previous_page
        )


def _resolve_pull_request(source: dict[str, Any], info: Any, number: int) -> Any:
    repo: Repo = source["_repo"]
    pr = repo.prs.get(number)
    if pr is None:
        raise GitHubGraphQLError(
            f"Could not resolve to a PullRequest with the number of {number}.", "NOT_FOUND"
        )
    return pr_view(repo, pr)


def _resolve_mentionable_users(
    source: dict[str, Any],
    info: Any,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    query: str | None = None,
) -> ListConnection:
    """Repository.mentionableUsers: the users taking part in the repository (PR authors,
    reviewers, assignees, requested reviewers), by login; `query` filters on login and name
    (docs.github.com/graphql/reference/objects#repository)."""
    repo: Repo = source["_repo"]
    store: Store = info.context.store
    with store.lock:
        users = mentionable_users(repo)
    if query:
        needle = query.lower()
        users = [
            u for u in users if needle in u["login"].lower() or needle in (u["name"] or "").lower()
        ]
    return ListConnection(users, first, after, last, before)


def _resolve_pr_repository(source: dict[str, Any], info: Any) -> Any:
    return repo_view(source["_repo"])


def _node_by_id(store: Store, node_id: str) -> Any:
    """The PR view for a global id, or GitHub's NOT_FOUND error for it (returned, not raised)."""
    found = store.pr_by_node_id(node_id)
    if found is None:
        return GitHubGraphQLError(
            f"Could not resolve to a node with the global id of '{node_id}'", "NOT_FOUND"
        )
    return pr_view(*found)


def _resolve_node(root: Any, info: Any, id: str) -> Any:  # noqa: A002 - GraphQL argument
    found = _node_by_id(info.context.store, id)
    if isinstance(found, GraphQLError):
        raise found
    return found


def _resolve_nodes(root: Any, info: Any, ids: list[str]) -> list[Any]:
    # GitHub answers null for each unknown id plus one NOT_FOUND error whose path names the
    # item (["nodes", i]). An Exception as a list item is how graphql-core (and fast_exec)
    # null that item and record its error at the item's path.
    store: Store = info.context.store
    return [_node_by_id(store, node_id) for node_id in ids]


def _resolve_rate_limit(root: Any, info: Any, **_: Any) -> dict[str, Any]:
    return info.context.rate_limit


def build_schema() -> GraphQLSchema:
    """Our executable schema: the SDL with fakehub's resolvers attached."""
    schema = build_ast_schema(parse(load_sdl()))
    query = schema.query_type
    assert query is not None
    query.fields["repository"].resolve = _resolve_repository
    query.fields["node"].resolve = _resolve_node
    query.fields["nodes"].resolve = _resolve_nodes
    query.fields["rateLimit"].resolve = _resolve_rate_limit
    repository = schema.type_map["Repository"]
    assert isinstance(repository, GraphQLObjectType)
    repository.fields["pullRequests"].resolve = _resolve_pull_requests
    repository.fields["pullRequest"].resolve = _resolve_pull_request
    repository.fields["mentionableUsers"].resolve = _resolve_mentionable_users
    pull_request = schema.type_map["PullRequest"]
    assert isinstance(pull_request, GraphQLObjectType)
    pull_request.fields["repository"].resolve = _resolve_pr_repository
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name == "Repository":
            continue
        for name, field_def in type_.fields.items():
            if get_named_type(field_def.type).name.endswith("Connection"):
                field_def.resolve = _resolve_list_connection(name)
    return schema


# --- analysis: pagination rules, cost, node count ------------------------------------------


@dataclass
class Analysis:
    """What a document asks for under given variables: GitHub's request and node counts."""

    requests: int = 0
    nodes: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    selects_pull_requests: bool = False

    @property
    def cost(self) -> int:
        return cost_from_requests(self.requests)


def _arg(node: FieldNode, name: str, variables: dict[str, Any]) -> Any:
    for argument in node.arguments or ():
        if argument.name.value == name:
            return value_from_ast_untyped(argument.value, variables)
    return None


def _location(node: Any) -> list[dict[str, int]]:
    if node.loc is None:
        return []
    location = node.loc.source.get_location(node.loc.start)
    return [{"line": location.line, "column": location.column}]


def analyse(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> Analysis:
    """Count requests and nodes of the operation as GitHub does; collect pagination errors."""
    variables = dict(variables or {})
    fragments: dict[str, FragmentDefinitionNode] = {}
    operations: list[OperationDefinitionNode] = []
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            fragments[definition.name.value] = definition
        elif isinstance(definition, OperationDefinitionNode):
            operations.append(definition)
    operation = operations[0] if operations else None
    if operation_name:
        operation = next(
            (op for op in operations if op.name and op.name.value == operation_name), operation
        )
    result = Analysis()
    if operation is None:
        return result
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in variables and definition.default_value is not None:
            variables[name] = value_from_ast_untyped(definition.default_value, {})
    root = schema.query_type
    assert root is not None
    _walk(schema, operation.selection_set, root, 1, fragments, variables, result, [])
    return result


def _walk(
    schema: GraphQLSchema,
    selection_set: SelectionSetNode | None,
    parent: Any,
    multiplier: int,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    result: Analysis,
    path: list[str],
) -> None:
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name.startswith("__") or not isinstance(
                parent, GraphQLObjectType | GraphQLInterfaceType
            ):
                continue
            field_def = parent.fields.get(name)
            if field_def is None:
                continue
            named = get_named_type(field_def.type)
            child_multiplier = multiplier
            key = selection.alias.value if selection.alias else name
            if name == "pullRequests":
                result.selects_pull_requests = True
            if named.name.endswith("Connection"):
                first = _arg(selection, "first", variables)
                last = _arg(selection, "last", variables)
                size = first if first is not None else last
                if size is None and not _selects_items(selection.selection_set, fragments):
                    # GitHub answers `comments { totalCount }` without first/last.
                    result.requests += multiplier
                    continue
                if size is None:
                    result.errors.append(
                        {
                            "type": "MISSING_PAGINATION_BOUNDARIES",
                            "path": [*path, key],
                            "locations": _location(selection),
                            "message": "You must provide a `first` or `last` value to properly "
                            f"paginate the `{name}` connection.",
                        }
                    )
                    continue
                for arg_name, value in (("first", first), ("last", last)):
                    if value is None:
                        continue
                    if not isinstance(value, int) or value > MAX_PAGE or value < 1:
                        result.errors.append(
                            {
                                "type": "EXCESSIVE_PAGINATION",
                                "path": [*path, key],
                                "locations": _location(selection),
                                "message": f"Requesting {value} records on the `{name}` "
                                f"connection exceeds the `{arg_name}` limit of {MAX_PAGE} records."
                                if isinstance(value, int) and value > MAX_PAGE
                                else f"`{arg_name}` on the `{name}` connection must be between 1 "
                                f"and {MAX_PAGE}.",
                            }
                        )
                if not isinstance(size, int) or size < 1:
                    continue
                size = min(size, MAX_PAGE)
                result.requests += multiplier
                result.nodes += multiplier * size
                child_multiplier = multiplier * size
                if result.nodes > MAX_NODES and not any(
                    error["type"] == "MAX_NODE_LIMIT_EXCEEDED" for error in result.errors
                ):
                    result.errors.append(
                        {
                            "type": "MAX_NODE_LIMIT_EXCEEDED",
                            "path": [*path, key],
                            "locations": _location(selection),
                            "message": f"By the time this query traverses to the {name} "
                            f"connection, it is requesting up to {result.nodes:,} possible nodes "
                            f"which exceeds the maximum limit of {MAX_NODES:,}.",
                        }
                    )
            elif name == "nodes" and parent is schema.query_type:
                ids = _arg(selection, "ids", variables)
                if isinstance(ids, list) and ids:
                    child_multiplier = multiplier * len(ids)
            _walk(
                schema, selection.selection_set, named, child_multiplier, fragments, variables,
                result, [*path, key],
            )  # fmt: skip
        elif isinstance(selection, InlineFragmentNode):
            target = (
                schema.type_map.get(selection.type_condition.name.value)
                if selection.type_condition
                else parent
            )
            _walk(schema, selection.selection_set, target, multiplier, fragments, variables,
                  result, path)  # fmt: skip
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is None:
                continue
            target = schema.type_map.get(fragment.type_condition.name.value)
            _walk(schema, fragment.selection_set, target, multiplier, fragments, variables,
                  result, path)  # fmt: skip


def _selects_items(
    selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode]
) -> bool:
    """Whether a connection's selection reads `nodes` or `edges` (directly or in fragments)."""
    if selection_set is None:
        return False
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value in ("nodes", "edges"):
                return True
        elif isinstance(selection, InlineFragmentNode):
            if _selects_items(selection.selection_set, fragments):
                return True
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None and _selects_items(fragment.selection_set, fragments):
                return True
    return False


# --- documents -----------------------------------------------------------------------------


class DocumentCache:
    """Parsed + validated documents by query text (LRU), shared by all requests."""

    def __init__(self, schema: GraphQLSchema, size: int = 256) -> None:
        self.schema = schema
        self.size = size
        self._cache: OrderedDict[str, tuple[DocumentNode | None, list[dict[str, Any]]]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def get(self, query: str) -> tuple[DocumentNode | None, list[dict[str, Any]]]:
        """(document, []) for a valid query; (None, GitHub-style errors) otherwise."""
        with self._lock:
            hit = self._cache.get(query)
            if hit is not None:
                self._cache.move_to_end(query)
                return hit
        entry: tuple[DocumentNode | None, list[dict[str, Any]]]
        try:
            document = parse(query)
        except GraphQLSyntaxError as exc:
            entry = (None, [_format_error(exc)])
        else:
            errors = validate(self.schema, document)
            entry = (None, [_format_error(e) for e in errors]) if errors else (document, [])
        with self._lock:
            self._cache[query] = entry
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return entry


def _format_error(error: GraphQLError) -> dict[str, Any]:
    out: dict[str, Any] = {}
    gh_type = getattr(error, "gh_type", None) or getattr(error.original_error, "gh_type", None)
    if gh_type:
        out["type"] = gh_type
    if error.path is not None:
        out["path"] = list(error.path)
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    original = error.original_error
    if (
        original is not None
        and not isinstance(original, GraphQLError)
        and not error.message.startswith("Cannot return null for non-nullable field")
    ):
        # A resolver bug: answer as GitHub does for its own failures, never with a traceback.
        out["message"] = "Something went wrong while executing your query."
    else:
        out["message"] = error.message
    return out


def run(
    schema: GraphQLSchema,
    document: DocumentNode,
    context: Context,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    *,
    use_fast: bool = True,
) -> dict[str, Any]:
    """Execute and return the response body as GitHub shapes it (`data`, then `errors`).

    fakehub's lean executor answers what it supports; graphql-core's `execute` the rest (and
    both whenever `use_fast` is False, as the equivalence tests do).
    """
    fast = fast_execute(schema, document, context, variables, operation_name) if use_fast else None
    if fast is not None:
        data, errors = fast
    else:
        result = execute(
            schema,
            document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
        )
        assert isinstance(result, ExecutionResult)
        data, errors = result.data, result.errors or []
    body: dict[str, Any] = {"data": data}
    if errors:
        body["errors"] = [_format_error(error) for error in errors]
    return body
