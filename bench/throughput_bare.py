"""The bare baseline, run as a child process: `python bench/throughput_bare.py DATABASE_URL PORT`
serves the same service calls as the GraphQL operations, with no GraphQL."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import TYPE_CHECKING, Any

from throughput_ops import PAGE

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from datetime import datetime

    from starlette.applications import Starlette
    from starlette.requests import Request


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _product_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "qikinkSkuId": row.qikink_sku_id,
        "variantId": row.variant_id,
        "createdAt": _iso(row.created_at),
        "updatedAt": _iso(row.updated_at),
    }


def _order_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "medusaOrderId": row.medusa_order_id,
        "qikinkOrderId": row.qikink_order_id,
        "qikinkOrderNumber": row.qikink_order_number,
        "status": row.status.value,
        "qikinkStatus": row.qikink_status,
        "trackingNumber": row.tracking_number,
        "courier": row.courier,
        "trackingUrl": row.tracking_url,
        "createdAt": _iso(row.created_at),
        "updatedAt": _iso(row.updated_at),
        "lastSyncedAt": _iso(row.last_synced_at),
    }


def bare_app(database_url: str) -> Starlette:
    """The same queries (the service functions) and the same JSON, minus GraphQL."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from models import OrderMappingStatus
    from services.orders.order_mappings import (
        OrderMappingQuery,
        find_order_mapping,
        list_order_mappings,
    )
    from services.orders.product_mappings import ProductMappingQuery, list_product_mappings
    from services.shared.paging import Page

    page = Page(limit=PAGE, offset=0)

    def respond(name: str, value: Any) -> Response:
        # Strawberry's own encoding: json.dumps with compact separators.
        body = json.dumps({"data": {name: value}}, separators=(",", ":"))
        return Response(body, media_type="application/json")

    async def variables(request: Request) -> dict[str, Any]:
        return dict(json.loads(await request.body()).get("variables") or {})

    async def product_mappings(request: Request) -> Response:
        query = ProductMappingQuery(variant_id=(await variables(request))["variantId"])
        rows, count = await list_product_mappings(query, page)
        nodes = [_product_json(row) for row in rows]
        return respond(
            "productMappings", {"count": count, "limit": PAGE, "offset": 0, "nodes": nodes}
        )

    async def order_mapping(request: Request) -> Response:
        row = await find_order_mapping((await variables(request))["id"])
        return respond("qikinkOrderMapping", _order_json(row) if row else None)

    async def order_mappings(request: Request) -> Response:
        await request.body()
        query = OrderMappingQuery(status=OrderMappingStatus.SHIPPED)
        rows, count = await list_order_mappings(query, page)
        nodes = [_order_json(row) for row in rows]
        return respond(
            "qikinkOrderMappings", {"count": count, "limit": PAGE, "offset": 0, "nodes": nodes}
        )

    return Starlette(
        routes=[
            Route("/bare/productMappings", product_mappings, methods=["POST"]),
            Route("/bare/qikinkOrderMapping", order_mapping, methods=["POST"]),
            Route("/bare/qikinkOrderMappings", order_mappings, methods=["POST"]),
            Route("/health", lambda request: Response("ok")),
        ],
        lifespan=database_lifespan(database_url),
    )


def database_lifespan(database_url: str) -> Any:
    """A lifespan that connects the service's database at start and closes it at the end."""
    from services.shared import db

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.connect_db(database_url)
        try:
            yield
        finally:
            await db.close_db()

    return lifespan


def serve_bare(database_url: str, port: int) -> None:
    import uvicorn

    # As `qikink-graphql serve` runs uvicorn (uvloop and httptools when installed), with no
    # access log: the bare stack is the floor the service is measured against.
    uvicorn.run(
        bare_app(database_url), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


if __name__ == "__main__":
    serve_bare(sys.argv[1], int(sys.argv[2]))
