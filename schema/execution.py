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

from graphql import GraphQLNonNull, GraphQLSchema, Undefined, is_leaf_type
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from graphql import GraphQLLeafType, GraphQLObjectType
    from graphql.execution.collect_fields import FieldDetailsList
    from graphql.pyutils import Path

__all__ = ["ExecutionContext"]


class PlainLeaf(NamedTuple):
    """How to answer one plain leaf field: read `attribute` with `read`, coerce it."""

    read: Callable[[Any, str], Any]
    attribute: str
    leaf: GraphQLLeafType
    nullable: bool


# Per schema, per (type name, field name): the plan, or None for a field that is not plain.
_plans: weakref.WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], PlainLeaf | None]] = (
    weakref.WeakKeyDictionary()
)


def plain_leaf(schema: GraphQLSchema, parent: GraphQLObjectType, name: str) -> PlainLeaf | None:
    """The plan for `parent.name` when Strawberry would only read an attribute and graphql-core
    only coerce it; None otherwise (a resolver, permissions, a list, an object)."""
    plans = _plans.setdefault(schema, {})
    key = (parent.name, name)
    if key in plans:
        return plans[key]
    plan = None
    field_def = schema.get_field(parent, name)
    field = (
        (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if (field_def)
        else None
    )
    if (
        field_def is not None
        and isinstance(field, StrawberryField)
        and field.is_basic_field
        and not field_def.args
        # Strawberry's resolver for a field with no resolver, permissions or extensions.
        and getattr(field_def.resolve, "__name__", "") == "_get_basic_result"
    ):
        nullable = not isinstance(field_def.type, GraphQLNonNull)
        leaf = field_def.type if nullable else field_def.type.of_type  # type: ignore[union-attr]
        if is_leaf_type(leaf):
            plan = PlainLeaf(field.default_resolver, field.python_name, leaf, nullable)
    plans[key] = plan
    return plan


class ExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context: resolver helpers hold it weakly, plain leaves are
    answered directly."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        plan = None
        if not node.arguments and not (
            self.middleware_manager and self.middleware_manager.middlewares
        ):
            plan = plain_leaf(self.schema, parent_type, node.name.value)
        if plan is not None:
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
