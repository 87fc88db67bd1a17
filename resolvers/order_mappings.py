"""Reading order mappings, and who may read which.

An admin reads every mapping. Anyone else reads a mapping only by naming its store order (the
store's order id, which only the customer and the merchant know) or as the signed-in store
customer who placed it; nothing lets an outsider enumerate them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from services import order_mappings as service
from services.db import uninterrupted
from services.errors import Forbidden, within
from services.paging import Page, check_page
from services.validation import check_id

if TYPE_CHECKING:
    from models import OrderMapping
    from services.auth import Caller

__all__ = ["order_mapping", "order_mappings"]

_UNNAMED_LIST = (
    "Storefronts list order mappings of one store order (filter: { medusaOrderId }) or, "
    "signed in as the customer who placed them, their own (Authorization: Bearer <Medusa "
    "customer token>); every mapping is for admins."
)


def _visible(caller: Caller, query: service.OrderMappingQuery) -> service.OrderMappingQuery:
    """`query` narrowed to what `caller` may read; refused when that would be an enumeration."""
    if caller.is_admin:
        return query
    if query.search is not None:
        raise Forbidden("Searching order mappings is for admins.", field="search")
    if query.medusa_order_id is not None:
        return query
    if caller.customer is not None:
        return replace(query, customer_id=caller.customer)
    if caller.auth_error is not None:
        # A token that was sent but refused (expired, bad signature): say so.
        raise caller.auth_error
    raise Forbidden(_UNNAMED_LIST)


@uninterrupted
async def order_mappings(
    caller: Caller, query: service.OrderMappingQuery, *, limit: int, offset: int
) -> tuple[list[OrderMapping], int, Page]:
    page = check_page(limit, offset)
    with within("filter"):
        visible = _visible(caller, query)
    nodes, count = await service.list_order_mappings(visible, page)
    return nodes, count, page


@uninterrupted
async def order_mapping(caller: Caller, key: str) -> OrderMapping | None:
    """The mapping `key` names: a store order's id for anyone; a mapping's id for an admin, or
    for the signed-in customer whose order it is."""
    return await service.find_order_mapping(
        check_id(key),
        by_mapping_id=caller.is_admin or caller.customer is not None,
        customer_id=None if caller.is_admin else caller.customer,
    )
