"""A small stand-in for Medusa's Admin API order and variant endpoints, for the sweep's, the
fulfillment write-back's and the product mappings' variant check's edge cases.

The real backend is exercised end to end in test_medusa_e2e.py; this one lets a test place
orders at chosen times, refuse or lose the reply to a write, and see exactly what the service
asked for. Its fulfillment rules are Medusa's: no more items fulfilled than ordered, one
shipment per fulfillment, with the same refusal texts.
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


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _pick(record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """`record` with only the `fields` asked for (`product.title` picks within `product`), as
    Medusa's `fields` parameter does; no fields asked for: all of them."""
    if not fields:
        return record
    picked: dict[str, Any] = {}
    for name in fields:
        head, _, rest = name.lstrip("*+").partition(".")
        if head not in record:
            continue
        value = record[head]
        if rest and isinstance(value, dict):
            inner = picked.setdefault(head, {})
            inner.update(_pick(value, [rest]))
        else:
            picked[head] = value
    return picked


class FakeMedusa:
    """Orders kept in memory, served as `GET /admin/orders` and `GET /admin/orders/{id}`;
    variants, as `GET /admin/product-variants`."""

    def __init__(self, api_key: str = "sk_test_secret") -> None:
        self.api_key = api_key
        self.orders: dict[str, dict[str, Any]] = {}
        self.variants: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        # Cleared, order lists wait until it is set again (the server runs in its own thread).
        self.lists_open = threading.Event()
        self.lists_open.set()
        # Medusa's events, in order: ("shipment.created", fulfillment id), ...
        self.events: list[tuple[str, str]] = []
        # The next write does its work and then answers 500, as if the reply were lost.
        self.lose_next_reply = False
        # The next write is refused with this message (Medusa's 400 not_allowed).
        self.refuse_next: str | None = None
        self._ids = 0
        base = "/admin/orders/{order_id}/fulfillments"
        self.app = Starlette(
            routes=[
                Route("/admin/product-variants", self._variants),
                Route("/admin/orders", self._list),
                Route("/admin/orders/{order_id}", self._get),
                Route(base, self._fulfill, methods=["POST"]),
                Route(base + "/{fulfillment_id}/shipments", self._ship, methods=["POST"]),
                Route(
                    base + "/{fulfillment_id}/mark-as-delivered", self._deliver, methods=["POST"]
                ),
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
        extra_items: tuple[dict[str, Any], ...] = (),
    ) -> dict[str, Any]:
        order = {
            "id": order_id,
            "display_id": display_id,
            "email": "asha@example.com",
            "currency_code": "inr",
            "created_at": _stamp(created_at),
            "updated_at": _stamp(created_at),
            "status": "pending",
            "fulfillments": [],
            "items": [
                {
                    "id": f"item_{order_id}",
                    "variant_id": variant_id,
                    "variant_sku": "TEE-S",
                    "title": "Tee",
                    "quantity": 1,
                    "unit_price": 499,
                },
                *extra_items,
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

    def add_variant(
        self,
        variant_id: str,
        *,
        product_id: str = "prod_tee",
        product_title: str = "Organic Tee",
        title: str = "S / White",
        sku: str | None = "TEE-S-WH",
    ) -> dict[str, Any]:
        """A product variant in the catalogue, as Medusa stores it."""
        variant = {
            "id": variant_id,
            "title": title,
            "sku": sku,
            "barcode": None,
            "manage_inventory": False,
            "product_id": product_id,
            "variant_rank": 0,
            "metadata": None,
            "product": {"id": product_id, "title": product_title, "handle": "organic-tee"},
            "options": [],
            "prices": [],
        }
        self.variants[variant_id] = variant
        return variant

    def cancel(self, order_id: str, *, at: datetime) -> None:
        """The merchant cancels the order in Medusa's dashboard at `at`."""
        self.orders[order_id]["status"] = "canceled"
        self.orders[order_id]["updated_at"] = _stamp(at)

    def _authorized(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.api_key}:".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    async def _list(self, request: Request) -> JSONResponse:
        self.requests.append(str(request.url))
        await asyncio.to_thread(self.lists_open.wait, 30)
        if not self._authorized(request):
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        params = request.query_params
        # Medusa filters by created_at or updated_at, and by status.
        stamp = "updated_at" if "updated_at[$gte]" in params else "created_at"
        since = datetime.fromisoformat(params[f"{stamp}[$gte]"])
        limit = int(params.get("limit", 50))
        offset = int(params.get("offset", 0))
        matching = sorted(
            (
                o
                for o in self.orders.values()
                if datetime.fromisoformat(o[stamp].replace("Z", "+00:00")) >= since
                and params.get("status", o["status"]) == o["status"]
            ),
            key=lambda o: (o[stamp], o["id"]),
        )
        page = matching[offset : offset + limit]
        return JSONResponse(
            {"orders": page, "count": len(matching), "offset": offset, "limit": limit}
        )

    async def _variants(self, request: Request) -> JSONResponse:
        """Medusa's variant list: `id` (one, or several as `id[]`) filters, `fields` picks the
        fields (nested ones as `product.title`), deleted variants are left out."""
        self.requests.append(str(request.url))
        if not self._authorized(request):
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        params = request.query_params
        ids = params.getlist("id[]") or params.getlist("id")
        limit = int(params.get("limit", 50))
        offset = int(params.get("offset", 0))
        matching = [v for v in self.variants.values() if not ids or v["id"] in ids]
        fields = [f for f in params.get("fields", "").split(",") if f]
        page = [_pick(v, fields) for v in matching[offset : offset + limit]]
        return JSONResponse(
            {"variants": page, "count": len(matching), "offset": offset, "limit": limit}
        )

    async def _get(self, request: Request) -> JSONResponse:
        self.requests.append(str(request.url))
        if not self._authorized(request):
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        order = self.orders.get(request.path_params["order_id"])
        if order is None:
            return JSONResponse({"type": "not_found", "message": "Order not found"}, 404)
        return JSONResponse({"order": order})

    # -- fulfillments -------------------------------------------------------------------------

    def _refusal(self, message: str) -> JSONResponse:
        return JSONResponse({"type": "not_allowed", "message": message}, status_code=400)

    def _answer(self, order: dict[str, Any]) -> JSONResponse:
        if self.lose_next_reply:
            self.lose_next_reply = False
            return JSONResponse({"message": "An unknown error occurred."}, status_code=500)
        return JSONResponse({"order": order})

    async def _write(self, request: Request) -> tuple[dict[str, Any] | None, JSONResponse | None]:
        self.requests.append(f"{request.method} {request.url.path}")
        if not self._authorized(request):
            return None, JSONResponse({"message": "Unauthorized"}, status_code=401)
        order = self.orders.get(request.path_params["order_id"])
        if order is None:
            return None, JSONResponse({"type": "not_found", "message": "Order not found"}, 404)
        if self.refuse_next is not None:
            message, self.refuse_next = self.refuse_next, None
            return None, self._refusal(message)
        return order, None

    def _fulfillment(self, order: dict[str, Any], fulfillment_id: str) -> dict[str, Any] | None:
        return next((f for f in order["fulfillments"] if f["id"] == fulfillment_id), None)

    async def _fulfill(self, request: Request) -> JSONResponse:
        order, refused = await self._write(request)
        if refused is not None:
            return refused
        assert order is not None
        body = await request.json()
        ordered = {item["id"]: item["quantity"] for item in order["items"]}
        for wanted in body["items"]:
            done = sum(
                i["quantity"]
                for f in order["fulfillments"]
                if not f["canceled_at"]
                for i in f["items"]
                if i["line_item_id"] == wanted["id"]
            )
            if wanted["id"] not in ordered or done + wanted["quantity"] > ordered[wanted["id"]]:
                return self._refusal("Cannot fulfill more items than what was ordered")
        self._ids += 1
        fulfillment = {
            "id": f"ful_{self._ids:04d}",
            "location_id": body.get("location_id", "sloc_default"),
            "canceled_at": None,
            "shipped_at": None,
            "delivered_at": None,
            "labels": [],
            "items": [
                {
                    "id": f"fulitem_{self._ids}_{n}",
                    "line_item_id": i["id"],
                    "quantity": i["quantity"],
                }
                for n, i in enumerate(body["items"])
            ],
        }
        order["fulfillments"].append(fulfillment)
        self.events.append(("order.fulfillment_created", fulfillment["id"]))
        return self._answer(order)

    async def _existing(
        self, request: Request
    ) -> tuple[dict[str, Any], dict[str, Any]] | JSONResponse:
        """The order and fulfillment a shipment or delivery names, or the answer refusing it."""
        order, refused = await self._write(request)
        if refused is not None:
            return refused
        assert order is not None
        fulfillment = self._fulfillment(order, request.path_params["fulfillment_id"])
        if fulfillment is None:
            return JSONResponse({"type": "not_found", "message": "Fulfillment not found"}, 404)
        return order, fulfillment

    async def _ship(self, request: Request) -> JSONResponse:
        found = await self._existing(request)
        if isinstance(found, JSONResponse):
            return found
        order, fulfillment = found
        if fulfillment["shipped_at"]:
            return self._refusal("Shipment has already been created")
        body = await request.json()
        for label in body.get("labels", []):
            if not all(
                isinstance(label.get(k), str)
                for k in ("tracking_number", "tracking_url", "label_url")
            ):
                return JSONResponse({"type": "invalid_data", "message": "Invalid label"}, 400)
        fulfillment["labels"] = body.get("labels", [])
        fulfillment["shipped_at"] = datetime.now(UTC).isoformat()
        self.events.append(("shipment.created", fulfillment["id"]))
        return self._answer(order)

    async def _deliver(self, request: Request) -> JSONResponse:
        found = await self._existing(request)
        if isinstance(found, JSONResponse):
            return found
        order, fulfillment = found
        if fulfillment["delivered_at"]:
            return self._refusal("Fulfillment has already been delivered")
        fulfillment["delivered_at"] = datetime.now(UTC).isoformat()
        self.events.append(("delivery.created", fulfillment["id"]))
        return self._answer(order)
