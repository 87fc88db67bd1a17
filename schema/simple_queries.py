"""Simple queries answered without Strawberry's and graphql-core's general pipeline.

A storefront polls the same small query over and over: one root field (`qikinkOrderMapping`,
`qikinkOrderMappings`, ...) whose result is plain fields, objects and lists of them. For such a
query the regular path builds Strawberry's execution context and extension hooks,
graphql-core's executor with its incremental-delivery state, collects fields, builds a resolve
info per field and completes every value by type: measured in process, ~240 us a request on
top of the database work for a lookup by id, against ~80 us for what the query needs.

So once per cached document, `plan_query` checks whether it is that simple (one query
operation; fields only, no fragments or directives; one root field with a resolver, beside any
`__typename`; below it only fields Strawberry reads as attributes, of leaf, object and list
types with no abstract types) and makes a plan. `SimpleQuery.run` then coerces the variables
and the arguments with graphql-core's own functions, calls the root field's resolver as
graphql-core would (Strawberry's resolver: argument conversion, permissions, `Info`), and
answers the result by the plan (`schema.execution.answer_nested`).

Whatever else can happen takes the regular path, so it is reported exactly as before:
- before the resolver runs (variables or arguments that do not coerce), `run` returns None
  and the operation runs the regular way from the start;
- once it has run, its outcome is never thrown away (a resolver may have spent a Qikink call
  or the rate budget): an error it raised, or a result the plan cannot answer (a null in a
  non-null field, a value that does not coerce), comes back as a `Replay`, and the regular
  path runs with a field middleware that hands graphql-core that outcome for the root field
  instead of calling the resolver again.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, NamedTuple

from graphql import (
    FieldNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    OperationDefinitionNode,
    OperationType,
)
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.pyutils import Path, gather_with_cancel
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.schema import _OperationContextAwareGraphQLResolveInfo
from strawberry.types import ExecutionResult

from schema.execution import (
    IRREGULAR,
    Child,
    Nested,
    ObjectPlan,
    PlainLeaf,
    answer_nested,
    basic_read,
    plain_leaves,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from graphql import (
        DocumentNode,
        GraphQLField,
        GraphQLOutputType,
        GraphQLResolveInfo,
        GraphQLSchema,
        SelectionSetNode,
    )

__all__ = ["Replay", "SimpleQuery", "plan_query"]

# Work a resolver handed `info.async_helpers.track`, kept alive until it settles (graphql-core
# settles tracked work in the background too, and does not wait for it to answer).
_background: set[asyncio.Future[Any]] = set()


def _track(values: Sequence[Any]) -> None:
    awaitables = [value for value in values if optimized_is_awaitable(value)]
    if awaitables:
        future = asyncio.gather(*awaitables, return_exceptions=True)
        _background.add(future)
        future.add_done_callback(_background.discard)


def _gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
    return gather_with_cancel(*values)


_HELPERS = GraphQLResolveInfoHelpers(gather=_gather, track=_track)


class Raised(NamedTuple):
    """What the root field's resolver raised."""

    error: Exception


class Replay(NamedTuple):
    """The root field's outcome (its result, or `Raised`), for the regular path to complete."""

    response_key: str
    outcome: Any

    def resolve(
        self, next_: Callable[..., Any], root: Any, info: GraphQLResolveInfo, **args: Any
    ) -> Any:
        """graphql-core field middleware: the root field answers with the outcome it had."""
        if info.path.prev is None and info.path.key == self.response_key:
            if isinstance(self.outcome, Raised):
                raise self.outcome.error
            return self.outcome
        return next_(root, info, **args)


class SimpleQuery(NamedTuple):
    """A simple query's plan (see the module's docstring)."""

    schema: GraphQLSchema
    document: DocumentNode
    operation: OperationDefinitionNode
    field_node: FieldNode
    field_def: GraphQLField
    response_key: str
    nested: Nested
    # The root selections in order, by response key: the field (True) or `__typename`.
    root_keys: tuple[tuple[str, bool], ...]

    @property
    def name(self) -> str | None:
        return self.operation.name.value if self.operation.name else None

    async def run(
        self,
        *,
        context: Any,
        root_value: Any,
        variables: dict[str, Any] | None,
        operation_extensions: dict[str, Any] | None,
    ) -> ExecutionResult | Replay | None:
        """The operation's result; a Replay for the regular path to complete; None when
        nothing ran (variables or arguments that do not coerce)."""
        if not isinstance(variables, dict | None):
            return None  # graphql-core refuses them, in its own words
        variable_values = get_variable_values(
            self.schema, self.operation.variable_definitions or (), variables or {}
        )
        if isinstance(variable_values, list):
            return None
        try:
            arguments = get_argument_values(self.field_def, self.field_node, variable_values)
        except Exception:
            return None
        query_type = self.schema.query_type
        assert query_type is not None
        info = _OperationContextAwareGraphQLResolveInfo(
            self.field_node.name.value,
            [self.field_node],
            self.field_def.type,
            query_type,
            Path(None, self.response_key, query_type.name),
            self.schema,
            {},
            root_value,
            self.operation,
            variable_values.coerced,
            context,
            optimized_is_awaitable,
            None,
            _HELPERS,
            operation_extensions,
        )
        try:
            result = self.field_def.resolve(root_value, info, **arguments)  # type: ignore[misc]
            if optimized_is_awaitable(result):
                result = await result
        except Exception as error:
            return Replay(self.response_key, Raised(error))
        answered = answer_nested(self.nested, result, optimized_is_awaitable)
        if answered is IRREGULAR:
            return Replay(self.response_key, result)
        data = {key: answered if is_field else query_type.name for key, is_field in self.root_keys}
        return ExecutionResult(data=data, errors=None, extensions={})


def _response_key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def plan_query(schema: GraphQLSchema, document: DocumentNode) -> SimpleQuery | None:
    """The plan of a valid document if it is a simple query (see the module's docstring)."""
    if len(document.definitions) != 1:
        return None
    operation = document.definitions[0]
    if not (
        isinstance(operation, OperationDefinitionNode)
        and operation.operation is OperationType.QUERY
        and not operation.directives
        and not any(v.directives for v in operation.variable_definitions or ())
        and schema.query_type is not None
    ):
        return None
    root_keys: list[tuple[str, bool]] = []
    field: tuple[FieldNode, GraphQLField, Nested] | None = None
    for node in operation.selection_set.selections:
        if not isinstance(node, FieldNode) or node.directives:
            return None
        key = _response_key(node)
        if any(key == seen for seen, _ in root_keys):
            return None  # graphql-core merges the two: leave that to it
        if node.name.value == "__typename":
            root_keys.append((key, False))
            continue
        field_def = schema.query_type.fields.get(node.name.value)
        if field is not None or field_def is None or field_def.resolve is None:
            return None  # a second field, an introspection field, no resolver
        nested = _nested(schema, field_def.type, node.selection_set)
        if nested is None:
            return None
        field = (node, field_def, nested)
        root_keys.append((key, True))
    if field is None:
        return None
    node, field_def, nested = field
    return SimpleQuery(
        schema, document, operation, node, field_def, _response_key(node), nested, tuple(root_keys)
    )


def _nested(
    schema: GraphQLSchema, type_: GraphQLOutputType, selection_set: SelectionSetNode | None
) -> Nested | None:
    """How to answer a value of `type_` with `selection_set`: an object or a list of them."""
    nullable = not isinstance(type_, GraphQLNonNull)
    named = type_ if nullable else type_.of_type  # type: ignore[union-attr]
    is_list = isinstance(named, GraphQLList)
    items_nullable = False
    if is_list:
        items_nullable = not isinstance(named.of_type, GraphQLNonNull)
        named = named.of_type if items_nullable else named.of_type.of_type
    if not isinstance(named, GraphQLObjectType) or named.is_type_of or selection_set is None:
        return None  # a leaf, a list of lists, an abstract type, one with its own type check
    steps = _object_steps(schema, named, selection_set)
    if steps is None:
        return None
    return Nested(named.name, steps, nullable, is_list, items_nullable)


def _object_steps(
    schema: GraphQLSchema, type_: GraphQLObjectType, selection_set: SelectionSetNode
) -> ObjectPlan | None:
    leaves = plain_leaves(schema)
    steps: list[tuple[str, PlainLeaf | Child | None]] = []
    for node in selection_set.selections:
        if not isinstance(node, FieldNode) or node.directives or node.arguments:
            return None
        key = _response_key(node)
        if any(key == seen for seen, _ in steps):
            return None
        name = node.name.value
        if name == "__typename":
            steps.append((key, None))
            continue
        leaf = leaves.get((type_.name, name))
        if leaf is not None:
            steps.append((key, leaf))
            continue
        field_def = type_.fields.get(name)
        if field_def is None:
            return None
        read = basic_read(field_def)
        nested = _nested(schema, field_def.type, node.selection_set) if read else None
        if read is None or nested is None:
            return None  # a resolver, permissions, arguments; or a leaf the plans do not hold
        steps.append((key, Child(*read, nested)))
    return tuple(steps)
