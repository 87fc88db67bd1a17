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
middleware) goes the regular way, which then reports it exactly as before. When every field
selected on an object is such a leaf (or `__typename`), the whole object is answered in one
loop, without graphql-core's per-field paths and awaitable bookkeeping; again, the first
unusual value sends the whole object the regular way. `answer_plainly` and `answer_nested`
also answer the objects and lists of a simple query's plan (`schema.simple_queries`).
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
    from graphql.execution.collect_fields import DeferUsage, FieldDetailsList, GroupedFieldSet
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


def basic_read(field_def: GraphQLField) -> tuple[Callable[[Any, str], Any], str] | None:
    """How Strawberry answers a field it only reads as an attribute (the reader and the
    attribute); None for any other (a resolver, permissions, extensions, arguments)."""
    field = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not (
        isinstance(field, StrawberryField)
        and field.is_basic_field
        and not field_def.args
        # Strawberry's resolver for a field with no resolver, permissions or extensions.
        and getattr(field_def.resolve, "__name__", "") == "_get_basic_result"
    ):
        return None
    return field.default_resolver, field.python_name


def _plan(field_def: GraphQLField) -> PlainLeaf | None:
    """How to answer a field Strawberry would only read as an attribute and graphql-core only
    coerce; None for any other (see `basic_read`, and a list or an object)."""
    read = basic_read(field_def)
    if read is None:
        return None
    nullable = not isinstance(field_def.type, GraphQLNonNull)
    leaf = field_def.type if nullable else field_def.type.of_type  # type: ignore[union-attr]
    if not is_leaf_type(leaf):
        return None
    return PlainLeaf(*read, leaf, nullable)


# What `plain_value` and `answer_plainly` return for a value the regular way must handle.
IRREGULAR: Any = object()


def plain_value(plan: PlainLeaf, source: Any, is_awaitable: Callable[[Any], bool]) -> Any:
    """The field's answer for `source`, or IRREGULAR: a null in a non-null field, an error,
    an awaitable, or a value that does not coerce (the regular way reports each as it
    should)."""
    try:
        value = plan.read(source, plan.attribute)
        if value is None:
            return None if plan.nullable else IRREGULAR
        if isinstance(value, Exception) or is_awaitable(value):
            return IRREGULAR
        coerced = plan.leaf.coerce_output_value(value)
    except Exception:
        return IRREGULAR
    return IRREGULAR if coerced is None or coerced is Undefined else coerced


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


class Nested(NamedTuple):
    """How to answer an object, or a list of objects, whose selected fields are `steps`."""

    type_name: str
    steps: ObjectPlan
    nullable: bool
    is_list: bool
    items_nullable: bool


class Child(NamedTuple):
    """A field Strawberry only reads as an attribute, whose value is answered as `nested`."""

    read: Callable[[Any, str], Any]
    attribute: str
    nested: Nested


# How each selected field of an object is answered, by response key: a plain leaf, a child
# object or list, or (None) `__typename`, the type's name. The executor's plans hold leaves
# and `__typename` only; graphql-core completes the children of what it executes.
ObjectPlan = tuple[tuple[str, PlainLeaf | Child | None], ...]


def answer_plainly(
    type_name: str, source: Any, steps: ObjectPlan, is_awaitable: Callable[[Any], bool]
) -> Any:
    """The object's data, or IRREGULAR at the first value the regular way must handle."""
    data: dict[str, Any] = {}
    for response_key, step in steps:
        if step is None:
            data[response_key] = type_name
            continue
        if type(step) is PlainLeaf:
            value = plain_value(step, source, is_awaitable)
        else:
            try:
                value = step.read(source, step.attribute)  # type: ignore[union-attr]
            except Exception:
                return IRREGULAR
            value = answer_nested(step.nested, value, is_awaitable)  # type: ignore[union-attr]
        if value is IRREGULAR:
            return IRREGULAR
        data[response_key] = value
    return data


def answer_nested(nested: Nested, value: Any, is_awaitable: Callable[[Any], bool]) -> Any:
    """`value` answered as `nested` (an object or a list of them), or IRREGULAR."""
    if value is None:
        return None if nested.nullable else IRREGULAR
    if isinstance(value, Exception) or is_awaitable(value):
        return IRREGULAR
    if not nested.is_list:
        return answer_plainly(nested.type_name, value, nested.steps, is_awaitable)
    if not isinstance(value, list | tuple):
        return IRREGULAR  # another iterable, or none: graphql-core's checks decide
    items = []
    for item in value:
        if item is None:
            if not nested.items_nullable:
                return IRREGULAR
            items.append(None)
            continue
        answered = answer_plainly(nested.type_name, item, nested.steps, is_awaitable)
        if answered is IRREGULAR:
            return IRREGULAR
        items.append(answered)
    return items


class ExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context: resolver helpers hold it weakly, plain leaves are
    answered directly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Field middleware must see every field: then no field is plain.
        middleware = self.middleware_manager and self.middleware_manager.middlewares
        self._plain_leaves = {} if middleware else plain_leaves(self.schema)
        # By (type, grouped field set); graphql-core reuses one grouped field set for every
        # row of a list within an operation, and the entry keeps it alive so its id holds.
        self._object_plans: dict[tuple[str, int], tuple[GroupedFieldSet, ObjectPlan | None]] = {}

    def _object_plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> ObjectPlan | None:
        """How to answer the selection in one loop; None unless every field is plain."""
        key = (parent_type.name, id(grouped_field_set))
        cached = self._object_plans.get(key)
        if cached is not None:
            return cached[1]
        object_plan: ObjectPlan | None = None
        steps: list[tuple[str, PlainLeaf | Child | None]] = []
        for response_key, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            name = node.name.value
            plan = self._plain_leaves.get((parent_type.name, name))
            if node.arguments or (plan is None and name != "__typename"):
                break
            steps.append((response_key, plan))
        else:
            object_plan = tuple(steps)
        self._object_plans[key] = (grouped_field_set, object_plan)
        return object_plan

    def execute_collected_subfields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path,
        grouped_field_set: GroupedFieldSet,
        new_defer_usages: Sequence[DeferUsage],
        delivery_group_map: Any,
    ) -> Any:
        if not new_defer_usages and delivery_group_map is None:
            object_plan = self._object_plan(parent_type, grouped_field_set)
            if object_plan is not None:
                answered = answer_plainly(
                    parent_type.name, source_value, object_plan, self.is_awaitable
                )
                if answered is not IRREGULAR:
                    return answered
        return super().execute_collected_subfields(
            parent_type,
            source_value,
            path,
            grouped_field_set,
            new_defer_usages,
            delivery_group_map,
        )

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
            value = plain_value(plan, source, self.is_awaitable)
            if value is not IRREGULAR:
                return value
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
