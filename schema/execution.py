"""The executor Strawberry runs each operation with: no reference cycle, plain leaves fast.

graphql-core 3.3's executor keeps `async_helpers`, a pair of methods bound to itself: the
executor, and everything it holds (the request, the context, the resolved rows), form a cycle
that reference counting cannot free. Every request's state then waited for the cycle collector,
which ran every few requests and, walking the state of every request in flight, took a quarter
of the CPU of a small query and made the slowest answers several times slower. Here the helpers
reach the executor through a weak reference, so a request's state is freed when it ends.

Most of a page of rows is plain leaf fields (`id`, `status`, `createdAt`): an attribute of the
object read and coerced to a scalar or enum. graphql-core spends several microseconds on each
(resolve info, resolver wrappers, three awaitable checks, completion by type); fifty rows of a
dozen fields made that the larger part of a list query. Such a field is answered here by
reading the attribute and coercing it, as Strawberry's own resolver and graphql-core's
completion would; anything unusual (a null, a value that does not coerce, an error, field
middleware) goes the regular way, which then reports it exactly as before.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, NamedTuple

from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLSchema, Undefined, is_leaf_type
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from graphql import GraphQLField, GraphQLLeafType
    from graphql.execution.collect_fields import FieldDetailsList
    from graphql.pyutils import Path

__all__ = ["ExecutionContext"]


class PlainLeaf(NamedTuple):
    """How to answer one plain leaf field: read `attribute` with `read`, coerce it."""

    read: Callable[[Any, str], Any]
    attribute: str
    leaf: GraphQLLeafType
    nullable: bool


# Per schema: the plan of every plain leaf field, by (type name, field name).
_plans: weakref.WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], PlainLeaf]] = (
    weakref.WeakKeyDictionary()
)


def _plan(field_def: GraphQLField) -> PlainLeaf | None:
    """How to answer a field Strawberry would only read as an attribute and graphql-core only
    coerce; None for any other (a resolver, permissions, arguments, a list, an object)."""
    field = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not (
        isinstance(field, StrawberryField)
        and field.is_basic_field
        and not field_def.args
        # Strawberry's resolver for a field with no resolver, permissions or extensions.
        and getattr(field_def.resolve, "__name__", "") == "_get_basic_result"
    ):
        return None
    nullable = not isinstance(field_def.type, GraphQLNonNull)
    leaf = field_def.type if nullable else field_def.type.of_type  # type: ignore[union-attr]
    if not is_leaf_type(leaf):
        return None
    return PlainLeaf(field.default_resolver, field.python_name, leaf, nullable)


def plain_leaves(schema: GraphQLSchema) -> dict[tuple[str, str], PlainLeaf]:
    """Every plain leaf field of `schema`, worked out once per schema."""
    plans = _plans.get(schema)
    if plans is None:
        plans = {}
        for type_ in schema.type_map.values():
            if isinstance(type_, GraphQLObjectType):
                for name, field_def in type_.fields.items():
                    plan = _plan(field_def)
                    if plan is not None:
                        plans[(type_.name, name)] = plan
        _plans[schema] = plans
    return plans


class ExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context: resolver helpers hold it weakly, plain leaves are
    answered directly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Field middleware must see every field: then no field is plain.
        middleware = self.middleware_manager and self.middleware_manager.middlewares
        self._plain_leaves = {} if middleware else plain_leaves(self.schema)

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        plan = self._plain_leaves.get((parent_type.name, node.name.value))
        if plan is not None and not node.arguments:
            try:
                value = plan.read(source, plan.attribute)
                if value is None:
                    if plan.nullable:
                        return None
                elif not isinstance(value, Exception) and not self.is_awaitable(value):
                    coerced = plan.leaf.coerce_output_value(value)
                    if coerced is not None and coerced is not Undefined:
                        return coerced
            except Exception:  # the regular way, below, reports it as it should
                pass
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    _helpers: GraphQLResolveInfoHelpers

    @property  # type: ignore[override]
    def async_helpers(self) -> GraphQLResolveInfoHelpers:
        return self._helpers

    @async_helpers.setter
    def async_helpers(self, bound: GraphQLResolveInfoHelpers) -> None:
        # graphql-core assigns helpers bound to this executor; keep equivalents that are not.
        executor = weakref.ref(self)

        def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
            return _alive(executor).gather_async_work(values)

        def track(values: Sequence[Any]) -> None:
            _alive(executor).track_async_work(values)

        self._helpers = GraphQLResolveInfoHelpers(gather=gather, track=track)


def _alive(executor: weakref.ref[ExecutionContext]) -> ExecutionContext:
    found = executor()
    if found is None:
        raise RuntimeError("the operation this resolver belonged to has finished")
    return found
