"""Offset paging shared by every list: bounds, a stable order, and the total count."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from tortoise.models import Model

from services.shared.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tortoise.expressions import Q
    from tortoise.queryset import QuerySet

__all__ = ["MAX_PAGE_SIZE", "Page", "check_page", "fetch_matching", "fetch_page", "fits"]

MAX_PAGE_SIZE = 200
M = TypeVar("M", bound=Model)


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int


def check_page(limit: int, offset: int, *, max_limit: int = MAX_PAGE_SIZE) -> Page:
    if not 1 <= limit <= max_limit:
        raise InvalidInput(f"limit must be between 1 and {max_limit}.", field="limit")
    if offset < 0:
        raise InvalidInput("offset must be 0 or more.", field="offset")
    return Page(limit=limit, offset=offset)


@functools.cache
def _max_lengths(model: type[Model]) -> dict[str, int]:
    # Model.describe is Tortoise's public account of a model's fields and their constraints.
    described = model.describe(serializable=False)
    fields = [described["pk_field"], *described["data_fields"]]
    return {
        field["name"]: field["constraints"]["max_length"]
        for field in fields
        if "max_length" in field.get("constraints", {})
    }


def fits(model: type[Model], **values: str | None) -> bool:
    """Whether each given filter value fits its column; a longer one can match no row."""
    for name, value in values.items():
        limit = _max_lengths(model).get(name)
        if value is not None and limit is not None and len(value) > limit:
            return False
    return True


async def fetch_page(
    rows: QuerySet[M], order_by: str, *, descending: bool, page: Page
) -> tuple[list[M], int]:
    """One page of `rows` ordered by `order_by` then id (so pages never overlap), and the count."""
    sign = "-" if descending else ""
    ordered = rows.order_by(f"{sign}{order_by}", f"{sign}id")
    nodes, count = await asyncio.gather(ordered.offset(page.offset).limit(page.limit), rows.count())
    return list(nodes), count


async def fetch_matching(
    model: type[M],
    filters: Mapping[str, str | list[str] | None],
    order_by: str,
    *,
    descending: bool,
    page: Page,
    where: Q | None = None,
) -> tuple[list[M], int]:
    """`fetch_page` of the rows equal to every filter given (a None filter is not given; a
    `<column>__in` filter matches any of its values) and to `where`."""
    given: dict[str, str | list[str]] = {}
    for name, value in filters.items():
        if value is None:
            continue
        if isinstance(value, list):
            column = name.removesuffix("__in")
            value = [v for v in value if fits(model, **{column: v})]
            if not value:
                return [], 0
        elif not fits(model, **{name: value}):
            return [], 0
        given[name] = value
    rows = model.filter(**given)
    if where is not None:
        rows = rows.filter(where)
    return await fetch_page(rows, order_by, descending=descending, page=page)
