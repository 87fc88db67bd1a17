"""A small stand-in for Medusa's Admin API order endpoints, for the sweep's edge cases.

The real backend is exercised end to end in test_medusa_e2e.py; this one lets a test place
orders at chosen times and see exactly what the service asked for.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["FakeMedusa"]


class FakeMedusa:
    """Orders kept in memory, served as `GET /admin/orders` and `GET /admin/orders/{id}`."""

    def __init__(self, api_key: str = "sk_test_secret") -> None:
        self.api_key = api_key
        self.orders: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        # Cleared, order lists wait until it is set again (the server runs in its own thread).
        self.lists_open = threading.Event()
        self.lists_open.set()
        self.app = Starlette(
            routes=[
                Route("/admin/orders", self._list),
                Route("/admin/orders/{order_id}", self._get),
            ]
        )

    def place(
        self,
        order_id: str,
        *,
        created_at: datetime,
        display_id: int,
        variant_id: str = "variant_tee",
        province: str = "KA",
        phone: str | None = "+91 98000 00000",
    ) -> dict[str, Any]:
        order = {
            "id": order_id,
            "display_id": display_id,
            "email": "asha@example.com",
            "currency_code": "inr",
            "created_at": created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "items": [
                {
                    "id": f"item_{order_id}",
                    "variant_id": variant_id,
                    "variant_sku": "TEE-S",
                    "title": "Tee",
                    "quantity": 1,
                    "unit_price": 499,
                }
            ],
            "shipping_address": {
                "first_name": "Asha",
                "last_name": "Rao",
                "address_1": "12 MG Road",
                "address_2": None,
                "city": "Bengaluru",
                "province": province,
                "postal_code": "560001",
                "country_code": "in",
                "phone": phone,
            },
        }
        self.orders[order_id] = order
        return order

    def _authorized(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.api_key}:".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    async def _list(self, request: Request) -> JSONResponse:
        self.requests.append(str(request.url))
        await asyncio.to_thread(self.lists_open.wait, 30)
        if not self._authorized(request):
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        since = datetime.fromisoformat(request.query_params["created_at[$gte]"])
        limit = int(request.query_params.get("limit", 50))
        offset = int(request.query_params.get("offset", 0))
        matching = sorted(
            (
                o
                for o in self.orders.values()
                if datetime.fromisoformat(o["created_at"].replace("Z", "+00:00")) >= since
            ),
            key=lambda o: (o["created_at"], o["id"]),
        )
        page = matching[offset : offset + limit]
        return JSONResponse(
            {"orders": page, "count": len(matching), "offset": offset, "limit": limit}
        )

    async def _get(self, request: Request) -> JSONResponse:
        self.requests.append(str(request.url))
        if not self._authorized(request):
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        order = self.orders.get(request.path_params["order_id"])
        if order is None:
            return JSONResponse({"type": "not_found", "message": "Order not found"}, 404)
        return JSONResponse({"order": order})
