"""The storefront proxy to Qikink: token, create an order, list and get orders.

Each runs to its end even when graphql-core cancels its field because another field of the
operation failed (`services.db.to_the_end`): a Qikink call is a chain of database steps (the
shared token, the budget's slot) that must not be cut half way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services import qikink as service
from services.db import to_the_end

if TYPE_CHECKING:
    from services.qikink import QikinkOrderView, TokenView
    from services.qikink_client import QikinkClient
    from services.qikink_requests import QikinkOrderRequest

__all__ = ["create_qikink_order", "qikink_order", "qikink_orders", "qikink_token"]


async def qikink_token(client: QikinkClient) -> TokenView:
    return await to_the_end(service.qikink_token(client))


async def create_qikink_order(client: QikinkClient, request: QikinkOrderRequest) -> str:
    return await to_the_end(service.create_order(client, request))


async def qikink_orders(client: QikinkClient, page: int) -> list[QikinkOrderView]:
    return await to_the_end(service.list_orders(client, page))


async def qikink_order(
    client: QikinkClient, order_id: str, from_date: str | None, to_date: str | None
) -> QikinkOrderView | None:
    return await to_the_end(service.get_order(client, order_id, from_date, to_date))
