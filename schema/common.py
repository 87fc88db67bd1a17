"""Types shared by every domain of the schema, and the one way each domain converts between
its GraphQL types and the services' values."""

from __future__ import annotations

import dataclasses
import functools
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

import strawberry

from services.shared.validation import check_filter

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from _typeshed import DataclassInstance

    from services.shared.paging import Page

__all__ = ["DeletedPayload", "Paged", "SortDirection", "from_attributes", "list_query"]

T = TypeVar("T")
R = TypeVar("R")
D = TypeVar("D", bound="DataclassInstance")


@strawberry.enum(description="Sort direction; ties are always broken by id.")
class SortDirection(Enum):
    ASC = "asc"
    DESC = "desc"

    @property
    def descending(self) -> bool:
        return self is SortDirection.DESC


@strawberry.type(description="The result of a delete.")
class DeletedPayload:
    id: strawberry.ID
    deleted: bool


@strawberry.type
class Paged(Generic[T]):
    """One page of a list. Each list subclasses it with its node type, under its own name
    (`class OrderMappingList(Paged[OrderMapping])`), so the schema names it as before."""

    nodes: list[T]
    count: int = strawberry.field(description="How many mappings match the filter in all.")
    limit: int
    offset: int

    @classmethod
    def of(cls, convert: Callable[[R], T], rows: Iterable[R], count: int, page: Page) -> Self:
        """The page a list resolver found: its rows converted, the total, the bounds used."""
        return cls(
            nodes=[convert(row) for row in rows], count=count, limit=page.limit, offset=page.offset
        )


def from_attributes(target: type[D], source: object, **given: Any) -> D:
    """A `target` dataclass (a GraphQL type, or a service's value) made of the same-named
    attributes of `source`; the `given` ones (converted or nested values) are used instead.

    Names are the contract between the layers: a field the source lacks is an AttributeError
    here, never a silent None.
    """
    values = {name: getattr(source, name) for name in _init_fields(target) if name not in given}
    return target(**values, **given)


@functools.cache
def _init_fields(target: type[DataclassInstance]) -> tuple[str, ...]:
    # Read once a type: every node of every page is made through here.
    return tuple(field.name for field in dataclasses.fields(target) if field.init)


def list_query(
    query: type[D], filter: DataclassInstance | None, order: Enum, direction: SortDirection
) -> D:
    """A service's list query from a list field's arguments: the filter's fields (all None
    without a filter), the order field and its direction."""
    values = (
        {field.name: getattr(filter, field.name) for field in dataclasses.fields(filter)}
        if filter is not None
        else {}
    )
    for name, value in values.items():
        if isinstance(value, str):
            check_filter(value, field=("filter", name))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, str):
                    check_filter(item, field=("filter", name, index))
    # A service's query dataclass, called with its own fields by name.
    make: Callable[..., D] = query
    return make(**values, order=order.value, descending=direction.descending)
