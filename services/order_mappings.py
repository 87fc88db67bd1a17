"""Reading order mappings: the store order, its Qikink order, status and tracking."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from models import OrderMapping, OrderMappingStatus
from models.ids import ID_MAX_LENGTH
from services.paging import Page, fetch_page, fits

__all__ = [
    "OrderMappingOrder",
    "OrderMappingQuery",
    "get_order_mapping",
    "get_store_order_mapping",
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
    # Only the orders this store customer placed.
    customer_id: str | None = None
    order: OrderMappingOrder = OrderMappingOrder.CREATED_AT
    descending: bool = True


async def list_order_mappings(
    query: OrderMappingQuery, page: Page
) -> tuple[list[OrderMapping], int]:
    """One page of mappings in a stable order (ties broken by id), and the total matching."""
    if not fits(
        OrderMapping,
        qikink_order_id=query.qikink_order_id,
        medusa_order_id=query.medusa_order_id,
        customer_id=query.customer_id,
    ):
        return [], 0
    rows = OrderMapping.all()
    if query.qikink_order_id is not None:
        rows = rows.filter(qikink_order_id=query.qikink_order_id)
    if query.medusa_order_id is not None:
        rows = rows.filter(medusa_order_id=query.medusa_order_id)
    if query.status is not None:
        rows = rows.filter(status=query.status)
    if query.customer_id is not None:
        rows = rows.filter(customer_id=query.customer_id)
    return await fetch_page(rows, query.order.value, descending=query.descending, page=page)


async def get_order_mapping(
    mapping_id: str, *, customer_id: str | None = None
) -> OrderMapping | None:
    """The mapping with this id (of this store customer's orders, when one is given)."""
    if len(mapping_id) > ID_MAX_LENGTH:
        return None
    if customer_id is None:
        return await OrderMapping.get_or_none(id=mapping_id)
    return await OrderMapping.get_or_none(id=mapping_id, customer_id=customer_id)


async def get_store_order_mapping(medusa_order_id: str) -> OrderMapping | None:
    """The mapping of a store order, by the store's order id."""
    if not fits(OrderMapping, medusa_order_id=medusa_order_id):
        return None
    return await OrderMapping.get_or_none(medusa_order_id=medusa_order_id)
