"""How many items an input list may hold, checked before graphql-core coerces the input.

A list input field declares its cap where it is defined: `strawberry.field(metadata=
at_most(100, "line items per order"))`; more is refused `At most 100 line items per order.`,
naming the list as every input error does (`input.lineItems`, `input.lineItems.0.designs`).
`limits_of` reads the caps of an argument's type once, when the schema is built, into a small
tree of only the branches that hold a cap; `check_limits` walks an argument as the caller sent
it (the document's literal, and the raw JSON of any variable in it) along that tree. Coercing
a megabyte of line items costs a second of CPU; a `len()` of the raw list costs nothing, so an
oversized list is refused before it is coerced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import ListValueNode, ObjectValueNode, VariableNode
from strawberry.types import get_object_definition
from strawberry.types.base import StrawberryList, StrawberryOptional

from services.shared.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Mapping

    from graphql import ValueNode
    from strawberry.schema.name_converter import NameConverter

    from services.shared.errors import FieldPath

__all__ = ["Limit", "at_most", "check_limits", "limits_of"]

MAX_ITEMS = "qikink_graphql.max_items"


def at_most(count: int, noun: str) -> dict[str, Any]:
    """A list input field's metadata: more than `count` items are refused with
    `At most <count> <noun>.`"""
    return {MAX_ITEMS: (count, noun)}


@dataclass(frozen=True, slots=True)
class Limit:
    """The caps under one input value: of the list it is (`cap`, with `element` for each of
    its items), or of the fields of the input object it is (`fields`, by GraphQL name).
    `name` is its Python name, for the path an error names."""

    name: str
    cap: tuple[int, str] | None = None
    element: Limit | None = None
    fields: Mapping[str, Limit] = field(default_factory=dict)
    is_list: bool = False


def limits_of(
    type_: Any, name: str, converter: NameConverter, *, cap: tuple[int, str] | None = None
) -> Limit | None:
    """The caps under a value of `type_` (None when there are none), `name` being the Python
    name of the field or argument it is."""
    while isinstance(type_, StrawberryOptional):
        type_ = type_.of_type
    if isinstance(type_, StrawberryList):
        element = limits_of(type_.of_type, name, converter)
        if cap is None and element is None:
            return None
        return Limit(name, cap=cap, element=element, is_list=True)
    if cap is not None:
        raise TypeError(f"{name}: a cap on the number of items is for list fields only")
    definition = get_object_definition(type_)
    if definition is None or not definition.is_input:
        return None
    fields = {}
    for input_field in definition.fields:
        graphql_name = converter.get_graphql_name(input_field)
        found = limits_of(
            input_field.type,
            input_field.python_name,
            converter,
            cap=input_field.metadata.get(MAX_ITEMS),
        )
        if found is not None:
            fields[graphql_name] = found
    return Limit(name, fields=fields) if fields else None


def check_limits(
    limit: Limit,
    node: ValueNode,
    *,
    variables: Mapping[str, Any],
    defaults: Mapping[str, ValueNode],
    path: FieldPath | None = None,
) -> None:
    """Raise `InvalidInput` for the first list in `node` (a literal of the document, whose
    variables are read raw from `variables`) holding more items than its cap; `limit` is an
    argument's (or, with its `path`, a value's inside one)."""
    path = (limit.name,) if path is None else path
    if isinstance(node, VariableNode):
        name = node.name.value
        if name in variables:
            _check_raw(limit, variables[name], path)
        elif name in defaults:
            check_limits(limit, defaults[name], variables=variables, defaults={}, path=path)
        return
    if limit.is_list:
        values = node.values if isinstance(node, ListValueNode) else (node,)
        _check_count(limit, len(values), path)
        if limit.element is not None:
            for index, value in enumerate(values):
                check_limits(
                    limit.element,
                    value,
                    variables=variables,
                    defaults=defaults,
                    path=(*path, index),
                )
        return
    if isinstance(node, ObjectValueNode):
        for field_node in node.fields:
            inner = limit.fields.get(field_node.name.value)
            if inner is not None:
                check_limits(
                    inner,
                    field_node.value,
                    variables=variables,
                    defaults=defaults,
                    path=(*path, inner.name),
                )


def _check_raw(limit: Limit, value: Any, path: FieldPath) -> None:
    if limit.is_list:
        # A single value where a list is expected is coerced to a list of one.
        values = value if isinstance(value, list) else [value]
        _check_count(limit, len(values), path)
        if limit.element is not None:
            for index, item in enumerate(values):
                _check_raw(limit.element, item, (*path, index))
        return
    if isinstance(value, dict):
        for name, inner in limit.fields.items():
            if name in value:
                _check_raw(inner, value[name], (*path, inner.name))


def _check_count(limit: Limit, count: int, path: FieldPath) -> None:
    if limit.cap is not None and count > limit.cap[0]:
        most, noun = limit.cap
        raise InvalidInput(f"At most {most} {noun}.", field=path)
