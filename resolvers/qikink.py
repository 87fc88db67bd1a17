"""The storefront proxy to Qikink: token, create an order, list and get orders."""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvers.cancellation import uninterrupted
from services.qikink import proxy as service
from services.shared.errors import within

if TYPE_CHECKING:
    from services.qikink.client import QikinkClient
    from services.qikink.proxy import QikinkOrderView, TokenView
    from services.qikink.requests import QikinkOrderRequest

__all__ = ["create_qikink_order", "qikink_order", "qikink_orders", "qikink_token"]


@uninterrupted
async def qikink_token(client: QikinkClient) -> TokenView:
    return await service.qikink_token(client)


@uninterrupted
async def create_qikink_order(client: QikinkClient, request: QikinkOrderRequest) -> str:
    with within("input"):
        return await service.create_order(client, request)


@uninterrupted
async def qikink_orders(client: QikinkClient, page: int) -> list[QikinkOrderView]:
    return await service.list_orders(client, page)


@uninterrupted
async def qikink_order(
    client: QikinkClient, order_id: str, from_date: str | None, to_date: str | None
) -> QikinkOrderView | None:
    return await service.get_order(client, order_id, from_date, to_date)
