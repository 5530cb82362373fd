"""A lean executor for fakehub's own queries, answering as graphql-core's `execute` would.

graphql-core parses and validates every document against our SDL, coerces variables and
arguments; this module only walks the validated selection sets over our plain-dict views. It
skips graphql-core's per-field machinery (resolve info, awaitable checks, path objects), which
costs ~15 µs a field: a 25-PR full-detail page has ~4,500 fields. Field collection is memoised
per (selection, runtime type), so 25 PRs share one plan.

Supported: queries; fields, aliases, inline fragments, fragment spreads, @skip/@include,
__typename, abstract types through `__typename` keys, null propagation with GraphQL's errors.
Anything else (introspection, other directives, mutations) returns None: the caller falls back
to graphql-core. fakehub/tests/test_fast_exec.py checks both executors answer the same.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLError,
    GraphQLIncludeDirective,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    is_abstract_type,
    is_leaf_type,
)
from graphql.execution.values import (
    VariableValues,
    get_argument_values,
    get_directive_values,
    get_variable_values,
)

__all__ = ["fast_execute"]

_SUPPORTED_DIRECTIVES = {"skip", "include"}


class _Null(Exception):
    """A null reached a non-null position: propagate to the nearest nullable parent."""


class _Info:
    """The part of graphql-core's ResolveInfo our resolvers read."""

    __slots__ = ("context", "field_name")

    def __init__(self, context: Any) -> None:
        self.context = context
        self.field_name = ""


def _supported(document: DocumentNode) -> bool:
    from graphql import visit
    from graphql.language import Visitor

    ok = True

    class Check(Visitor):
        def enter_directive(self, node: Any, *_: Any) -> None:
            nonlocal ok
            if node.name.value not in _SUPPORTED_DIRECTIVES:
                ok = False

        def enter_field(self, node: Any, *_: Any) -> None:
            nonlocal ok
            if node.name.value in ("__schema", "__type"):
                ok = False

    visit(document, Check())
    return ok


_support_cache: dict[int, tuple[DocumentNode, bool]] = {}


def _is_supported(document: DocumentNode) -> bool:
    hit = _support_cache.get(id(document))
    if hit is not None and hit[0] is document:
        return hit[1]
    result = _supported(document)
    if len(_support_cache) > 1024:
        _support_cache.clear()
    _support_cache[id(document)] = (document, result)
    return result


class _Executor:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: VariableValues,
        context: Any,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.info = _Info(context)
        self.errors: list[tuple[GraphQLError, tuple[Any, ...]]] = []
        self._collected: dict[tuple[int, str], dict[str, list[FieldNode]]] = {}
        self._args: dict[tuple[int, int], dict[str, Any]] = {}

    # --- field collection (GraphQL spec: CollectFields), memoised ---------------------------

    def _included(self, node: Any) -> bool:
        if not node.directives:
            return True
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip and skip.get("if") is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include and include.get("if") is False)

    def _applies(self, condition: str | None, runtime: GraphQLObjectType) -> bool:
        if condition is None or condition == runtime.name:
            return True
        target = self.schema.type_map.get(condition)
        return is_abstract_type(target) and self.schema.is_sub_type(target, runtime)  # type: ignore[arg-type]

    def _collect_into(
        self,
        selection_set: SelectionSetNode,
        runtime: GraphQLObjectType,
        out: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                out.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = (
                    selection.type_condition.name.value if selection.type_condition else None
                )
                if self._applies(condition, runtime):
                    self._collect_into(selection.selection_set, runtime, out, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if self._applies(fragment.type_condition.name.value, runtime):
                    self._collect_into(fragment.selection_set, runtime, out, visited)

    def collect(
        self, nodes: list[FieldNode] | SelectionSetNode, runtime: GraphQLObjectType
    ) -> dict[str, list[FieldNode]]:
        """The sub-fields of `nodes` (merged by response key) for an object of type `runtime`."""
        memo_key = (id(nodes), runtime.name)
        hit = self._collected.get(memo_key)
        if hit is not None:
            return hit
        out: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        if isinstance(nodes, SelectionSetNode):
            self._collect_into(nodes, runtime, out, visited)
        else:
            for node in nodes:
                if node.selection_set is not None:
                    self._collect_into(node.selection_set, runtime, out, visited)
        self._collected[memo_key] = out
        return out

    # --- execution ----------------------------------------------------------------------------

    def object(
        self,
        source: Any,
        runtime: GraphQLObjectType,
        fields: dict[str, list[FieldNode]],
        path: tuple[Any, ...],
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        is_dict = isinstance(source, dict)
        for key, nodes in fields.items():
            node = nodes[0]
            name = node.name.value
            if name == "__typename":
                out[key] = runtime.name
                continue
            field_def = runtime.fields[name]
            resolve = field_def.resolve
            try:
                if resolve is None:
                    value = source.get(name) if is_dict else getattr(source, name, None)
                else:
                    args = self._arguments(field_def, node)
                    value = resolve(source, self.info, **args)
            except GraphQLError as error:
                self.errors.append((error, (path, key, nodes)))
                value = None
            except Exception as exc:  # a resolver bug: located, like graphql-core does
                self.errors.append((GraphQLError(str(exc), original_error=exc), (path, key, nodes)))
                value = None
            try:
                out[key] = self.complete(
                    value, field_def.type, nodes, (path, key), f"{runtime.name}.{name}"
                )
            except _Null:
                if isinstance(field_def.type, GraphQLNonNull):
                    raise
                out[key] = None
        return out

    def _arguments(self, field_def: Any, node: FieldNode) -> dict[str, Any]:
        memo_key = (id(field_def), id(node))
        hit = self._args.get(memo_key)
        if hit is None:
            hit = get_argument_values(field_def, node, self.variables) if field_def.args else {}
            self._args[memo_key] = hit
        return hit

    def complete(
        self, value: Any, type_: Any, nodes: list[FieldNode], path: tuple[Any, ...], coordinate: str
    ) -> Any:
        if isinstance(value, GraphQLError):
            # A resolver's list item may be an error (nodes(ids:) with an unknown id):
            # graphql-core records it at the item's path and nulls the item.
            parent, key = path
            self.errors.append((value, (parent, key, nodes)))
            if isinstance(type_, GraphQLNonNull):
                raise _Null
            return None
        if isinstance(type_, GraphQLNonNull):
            if value is None:
                parent, key = path
                self.errors.append(
                    (
                        GraphQLError(f"Cannot return null for non-nullable field {coordinate}."),
                        (parent, key, nodes),
                    )
                )
                raise _Null
            type_ = type_.of_type
        if value is None:
            return None
        if isinstance(type_, GraphQLList):
            item_type = type_.of_type
            items = []
            for index, item in enumerate(value):
                try:
                    items.append(self.complete(item, item_type, nodes, (path, index), coordinate))
                except _Null:
                    if isinstance(item_type, GraphQLNonNull):
                        raise
                    items.append(None)
            return items
        if is_leaf_type(type_):
            return type_.serialize(value)  # type: ignore[union-attr]
        if isinstance(type_, GraphQLAbstractType):
            typename = value.get("__typename") if isinstance(value, dict) else None
            runtime = self.schema.type_map.get(typename) if typename else None
            if not isinstance(runtime, GraphQLObjectType):
                raise GraphQLError(f"Abstract type '{type_.name}' must resolve to an Object type.")
        else:
            runtime = type_
        return self.object(value, runtime, self.collect(nodes, runtime), path)


def _path_list(path: tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    while path:
        path, key = path
        out.append(key)
    out.reverse()
    return out


def fast_execute(
    schema: GraphQLSchema,
    document: DocumentNode,
    context: Any,
    variables: dict[str, Any] | None,
    operation_name: str | None,
) -> tuple[dict[str, Any] | None, list[GraphQLError]] | None:
    """(data, errors) as graphql-core would answer; None when the document needs graphql-core."""
    if not _is_supported(document):
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [op for op in operations if op.name and op.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation != OperationType.QUERY:
        return None
    operation = operations[0]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        return None, coerced
    root = schema.query_type
    assert root is not None
    executor = _Executor(schema, fragments, coerced, context)
    try:
        data: dict[str, Any] | None = executor.object(
            None, root, executor.collect(operation.selection_set, root), ()
        )
    except _Null:
        data = None
    errors = []
    for error, (parent, key, nodes) in executor.errors:
        errors.append(
            GraphQLError(
                error.message,
                nodes=nodes,
                path=[*_path_list(parent), key],
                original_error=error.original_error or error,
            )
        )
    return data, errors
