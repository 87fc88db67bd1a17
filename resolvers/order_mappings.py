from __future__ import annotations

from typing import TYPE_CHECKING

from services import order_mappings as service
from services.paging import Page, check_page
from services.validation import check_id

if TYPE_CHECKING:
    from models import OrderMapping

__all__ = ["order_mapping", "order_mappings"]


async def order_mappings(
    query: service.OrderMappingQuery, *, limit: int, offset: int
) -> tuple[list[OrderMapping], int, Page]:
    page = check_page(limit, offset)
    nodes, count = await service.list_order_mappings(query, page)
    return nodes, count, page


async def order_mapping(mapping_id: str) -> OrderMapping | None:
    return await service.get_order_mapping(check_id(mapping_id))
