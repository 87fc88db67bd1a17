"""What an operation may ask for, decided before graphql-core reads its variables.

graphql-core coerces every variable of an operation before any resolver, and so before any
permission, runs: an anonymous megabyte of line items would cost a second of CPU to be refused.
The `Admission` extension looks at the root fields the operation selects first and refuses it
whole, without coercing anything, when:

- the caller may not call one of them: each root field's own permission classes
  (`schema.permissions`) decide, giving the error the field itself would give;
- a caller who is not an admin selects more fields of one kind than that kind's `Quota`,
  aliases included: one field that calls Qikink (`metadata=CALLS_QIKINK`: a storefront's
  share of the Qikink budget is a few calls a minute, and one operation is one call), two
  reads of an order mapping by its id (`metadata=READS_BY_ID`: aliases would otherwise probe
  ids by the thousand a second);
- an input list holds more items than its cap (`schema.input_limits`).

Fields below the root keep their permissions as Strawberry runs them. An operation that
selects a single root field runs it without a shield against a sibling's failure
(`resolvers.cancellation.ALONE`): there is none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import (
    BooleanValueNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    VariableNode,
)
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension
from strawberry.types import get_object_definition

from resolvers.cancellation import ALONE
from schema.input_limits import check_limits, limits_of
from schema.permissions import Permission
from services.shared.errors import InvalidInput, ServiceError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from graphql import SelectionSetNode, ValueNode
    from strawberry import Schema
    from strawberry.types import ExecutionContext

    from schema.context import Context
    from schema.input_limits import Limit

__all__ = ["CALLS_QIKINK", "READS_BY_ID", "Admission", "Quota", "RootFields"]

_QUOTA = "qikink_graphql.quota"


@dataclass(frozen=True, slots=True)
class Quota:
    """At most `most` root fields of one kind (those sharing this quota) in an operation of a
    caller who is not an admin; `refusal` words the refusal, given the count and the fields."""

    most: int
    refusal: str

    def metadata(self) -> dict[str, Any]:
        """A root field's metadata putting it under this quota."""
        return {_QUOTA: self}


# Its resolver calls Qikink, and spends the caller's share of the budget.
CALLS_QIKINK = Quota(
    1,
    "An operation may make at most one Qikink call for a storefront; this one makes "
    "{count} ({fields}): send each in its own request.",
).metadata()
# It reads one order mapping by the id the caller names.
READS_BY_ID = Quota(
    2,
    "An operation may read at most 2 order mappings by id for a storefront; this one reads "
    "{count} ({fields}): send the others in another request.",
).metadata()


@dataclass(frozen=True, slots=True)
class RootField:
    permissions: tuple[Permission, ...]
    quota: Quota | None
    limits: Mapping[str, Limit]  # by argument name, the arguments whose lists are capped


class RootFields:
    """The root fields of one schema: who may call each, which call Qikink, their caps."""

    def __init__(self) -> None:
        self.fields: dict[tuple[str, str], RootField] = {}

    def load(self, schema: Schema) -> None:
        """Read the root fields' permissions, metadata and input caps from `schema`."""
        converter = schema.config.name_converter
        for operation, root in (("query", schema.query), ("mutation", schema.mutation)):
            definition = get_object_definition(root, strict=True) if root else None
            for field in definition.fields if definition else ():
                permissions = []
                for permission in field.permission_classes:
                    if not issubclass(permission, Permission):
                        raise TypeError(f"{field.python_name}: {permission} is no Permission")
                    permissions.append(permission())
                limits = {}
                for argument in field.arguments:
                    name = converter.get_graphql_name(argument)
                    found = limits_of(argument.type, argument.python_name, converter)
                    if found is not None:
                        limits[name] = found
                self.fields[(operation, converter.get_graphql_name(field))] = RootField(
                    permissions=tuple(permissions),
                    quota=field.metadata.get(_QUOTA),
                    limits=limits,
                )

    def extension(self) -> Callable[[], Admission]:
        """The factory to give Strawberry (`extensions=[...]`): one extension a request."""
        return lambda: Admission(self)

    def select(self, operation: ExecutionContext) -> Selection | None:
        """The root fields `operation` selects, by response key (through fragments, `@skip`
        and `@include`); None when there is no document or operation to read."""
        document = operation.graphql_document
        node = get_operation_ast(document, operation.operation_name) if document else None
        if document is None or node is None:
            return None
        variables = operation.variables or {}
        defaults = {
            definition.variable.name.value: definition.default_value
            for definition in node.variable_definitions or ()
            if definition.default_value is not None
        }
        fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        fields: dict[str, tuple[FieldNode, RootField]] = {}
        for field_node in _root_fields(node.selection_set, fragments, variables, defaults):
            key = (field_node.alias or field_node.name).value
            field = self.fields.get((node.operation.value, field_node.name.value))
            if field is not None and key not in fields:
                fields[key] = (field_node, field)
        return Selection(fields, variables, defaults)

    def refusal(self, context: Context, selection: Selection) -> list[GraphQLError]:
        """Why the operation may not run (one error per refused root field), or nothing."""
        selected = selection.fields
        errors = []
        for key, (field_node, field) in selected.items():
            try:
                for permission in field.permissions:
                    permission.check(context)
            except ServiceError as refused:
                errors.append(_error(refused, field_node, key))
        if errors:
            return errors
        if not context.caller.is_admin:
            by_quota: dict[Quota, list[str]] = {}
            for key, (_, field) in selected.items():
                if field.quota is not None:
                    by_quota.setdefault(field.quota, []).append(key)
            for quota, keys in by_quota.items():
                if len(keys) > quota.most:
                    over_quota = InvalidInput(
                        quota.refusal.format(count=len(keys), fields=", ".join(keys))
                    )
                    over = keys[quota.most]
                    return [_error(over_quota, selected[over][0], over)]
        for key, (field_node, field) in selected.items():
            for argument in field_node.arguments or ():
                limit = field.limits.get(argument.name.value)
                if limit is None:
                    continue
                try:
                    check_limits(
                        limit,
                        argument.value,
                        variables=selection.variables,
                        defaults=selection.defaults,
                    )
                except InvalidInput as refused:
                    return [_error(refused, field_node, key)]
        return []


@dataclass(frozen=True, slots=True)
class Selection:
    """What an operation selects at its root: the fields by response key, and the values
    its directives and arguments are read with."""

    fields: Mapping[str, tuple[FieldNode, RootField]]
    variables: Mapping[str, Any]
    defaults: Mapping[str, ValueNode]


class Admission(SchemaExtension):
    """Refuses an operation before it executes: see `schema.gate`."""

    def __init__(self, root_fields: RootFields) -> None:
        super().__init__()
        self.root_fields = root_fields

    def on_execute(self) -> Iterator[None]:
        operation = self.execution_context
        selection = self.root_fields.select(operation)
        if selection is not None and operation.context is not None:
            errors = self.root_fields.refusal(operation.context, selection)
            if errors:
                operation.context.refused = True
                # Strawberry executes nothing when a result is already set (its documented
                # way for an extension to answer instead of the executor, as its caching
                # example does).
                operation.result = ExecutionResult(data=None, errors=errors)
        # A lone root field has no sibling whose failure could cancel it: its service calls
        # need no shield of their own (`resolvers.cancellation.uninterrupted`).
        token = ALONE.set(selection is not None and len(selection.fields) == 1)
        try:
            yield
        finally:
            ALONE.reset(token)


def _error(refused: ServiceError, node: FieldNode, key: str) -> GraphQLError:
    """The refusal as graphql-core reports a resolver's error: located at the field, with
    the domain error as its original (coded by `schema.errors`)."""
    return GraphQLError(refused.message, nodes=[node], path=[key], original_error=refused)


def _root_fields(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    defaults: Mapping[str, ValueNode],
    seen: set[str] | None = None,
) -> Iterator[FieldNode]:
    """The fields a root selection set selects, through fragments, as graphql-core collects
    them (validation has run: fragments exist, apply to the root type and do not cycle).
    Each fragment is walked once: spread again, it selects nothing new."""
    seen = set() if seen is None else seen
    for selection in selection_set.selections:
        if not _included(selection.directives or (), variables, defaults):
            continue
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments, variables, defaults, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                seen.add(name)
                yield from _root_fields(
                    fragments[name].selection_set, fragments, variables, defaults, seen
                )


def _included(directives: Any, variables: Mapping[str, Any], defaults: Mapping[str, Any]) -> bool:
    """`@skip` and `@include`; a condition that cannot be read counts the field in (the
    stricter answer: a field wrongly counted is refused, never let through)."""
    for directive in directives:
        name = directive.name.value
        if name not in {"skip", "include"}:
            continue
        for argument in directive.arguments or ():
            if argument.name.value != "if":
                continue
            value = _boolean(argument.value, variables, defaults)
            if value is not None and value == (name == "skip"):
                return False
    return True


def _boolean(node: ValueNode, variables: Mapping[str, Any], defaults: Mapping[str, Any]) -> Any:
    if isinstance(node, BooleanValueNode):
        return node.value
    if isinstance(node, VariableNode):
        name = node.name.value
        if name in variables:
            value = variables[name]
            return value if isinstance(value, bool) else None
        default = defaults.get(name)
        return default.value if isinstance(default, BooleanValueNode) else None
    return None
