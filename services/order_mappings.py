"""Reading order mappings: the store order, its Qikink order, status and tracking."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tortoise.expressions import Q

from models import OrderMapping, OrderMappingStatus
from models.ids import ID_MAX_LENGTH
from services.paging import Page, fetch_matching, fits

__all__ = [
    "OrderMappingOrder",
    "OrderMappingQuery",
    "find_order_mapping",
    "get_order_mapping",
    "list_order_mappings",
]


class OrderMappingOrder(StrEnum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class OrderMappingQuery:
    qikink_order_id: str | None = None
    medusa_order_id: str | None = None
    status: OrderMappingStatus | None = None
    # A store order's id, or its display id with or without a leading '#' (`#1042`, `1042`).
    search: str | None = None
    # Only the orders this store customer placed.
    customer_id: str | None = None
    order: OrderMappingOrder = OrderMappingOrder.CREATED_AT
    descending: bool = True


async def list_order_mappings(
    query: OrderMappingQuery, page: Page
) -> tuple[list[OrderMapping], int]:
    """One page of mappings in a stable order (ties broken by id), and the total matching."""
    filters = {
        "qikink_order_id": query.qikink_order_id,
        "medusa_order_id": query.medusa_order_id,
        "status": query.status,
        "customer_id": query.customer_id,
    }
    return await fetch_matching(
        OrderMapping,
        filters,
        query.order.value,
        descending=query.descending,
        page=page,
        where=_searched(query.search),
    )


def _searched(search: str | None) -> Q | None:
    """The mappings a merchant's search names: blank names none in particular (all match)."""
    text = (search or "").strip()
    if not text:
        return None
    display = text.removeprefix("#").strip()
    named = [
        Q(**{column: value})
        for column, value in (("medusa_order_id", text), ("medusa_display_id", display))
        if value and fits(OrderMapping, **{column: value})
    ]
    # Nothing it could name: a filter no row passes.
    return Q(*named, join_type=Q.OR) if named else Q(id__isnull=True)


async def get_order_mapping(mapping_id: str) -> OrderMapping | None:
    if len(mapping_id) > ID_MAX_LENGTH:
        return None
    return await OrderMapping.get_or_none(id=mapping_id)


async def find_order_mapping(
    key: str, *, by_mapping_id: bool = False, customer_id: str | None = None
) -> OrderMapping | None:
    """The mapping of the store order whose id is `key`; with `by_mapping_id`, or else the
    mapping whose own id is `key` (one of this customer's, when `customer_id` is given)."""
    named = Q(medusa_order_id=key) if fits(OrderMapping, medusa_order_id=key) else None
    if by_mapping_id and len(key) <= ID_MAX_LENGTH:
        own = Q(id=key) if customer_id is None else Q(id=key, customer_id=customer_id)
        named = own if named is None else named | own
    if named is None:
        return None
    rows = await OrderMapping.filter(named).limit(2)
    # A store order id that is also another mapping's id: the store order's mapping.
    return next((row for row in rows if row.medusa_order_id == key), rows[0] if rows else None)
