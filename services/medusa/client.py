"""Medusa v2's Admin API as this service needs it: read a placed order, list recent ones,
write Qikink's progress back as a fulfillment (`services.medusa.write_back`), and look up the
variants a product mapping names (`services.orders.product_mappings`).

Medusa's `order.placed` event carries only the order id, so the service reads the order
itself (`submit_medusa_order`); `services.medusa.sweep` sweeps for the orders whose event never
reached it.
"""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import httpx

from models import OrderMapping
from services.orders.outbox import SubmitResult, submit_store_order
from services.orders.product_mappings import VariantDetails
from services.orders.store import StoreAddress, StoreItem, StoreOrder
from services.shared.clock import SYSTEM, Clock
from services.shared.errors import InvalidInput, MedusaRejected, MedusaUnavailable, NotFound

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "ORDER_FIELDS",
    "PAGE_SIZE",
    "VARIANT_FIELDS",
    "MedusaClient",
    "store_order_from_medusa",
    "submit_medusa_order",
    "submit_placed_order",
    "variant_details",
]

logger = logging.getLogger("qikink_graphql.medusa")
PAGE_SIZE = 50

ORDER_FIELDS = (
    "id,status,display_id,email,customer_id,currency_code,created_at,*items,*shipping_address"
)
# What a merchant recognises a variant by: its product's title, its own title and SKU.
VARIANT_FIELDS = "id,title,sku,product_id,product.id,product.title"
FULFILLMENT_FIELDS = "id,status,*items,*fulfillments,*fulfillments.items,*fulfillments.labels"


def _message(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    message = body.get("message") if isinstance(body, dict) else None
    return message.strip()[:500] if isinstance(message, str) and message.strip() else None


class MedusaClient:
    """Medusa's Admin API with a secret API key (sent as Basic auth, as Medusa expects)."""

    def __init__(self, http: httpx.AsyncClient, *, base_url: str, api_key: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        token = base64.b64encode(f"{api_key}:".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}

    def __repr__(self) -> str:
        return f"MedusaClient(base_url={self.base_url!r})"

    async def _get(self, path: str, params: dict[str, Any]) -> Any:
        return await self._send("GET", path, params=params)

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        return await self._send("POST", path, json=body)

    async def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self.http.request(
                method, f"{self.base_url}{path}", headers=self._headers, **kwargs
            )
        except httpx.TimeoutException:
            raise MedusaUnavailable("Medusa did not answer in time.") from None
        except httpx.TransportError:
            raise MedusaUnavailable(f"Could not reach Medusa at {self.base_url}.") from None
        if response.status_code in (401, 403):
            raise MedusaRejected(
                "Medusa refused the API key: check MEDUSA_API_KEY (a secret key, sk_...)."
            )
        if response.status_code == 404:
            raise NotFound("Medusa has no such order.")
        if 400 <= response.status_code < 500:
            # Medusa's refusal (`{"type": "not_allowed", "message": ...}`), in its words.
            raise MedusaRejected(
                _message(response) or f"Medusa refused (HTTP {response.status_code})."
            )
        if response.status_code >= 500:
            raise MedusaUnavailable(f"Medusa failed (HTTP {response.status_code}).")
        try:
            return response.json()
        except ValueError:
            raise MedusaUnavailable("Medusa answered with something that is not JSON.") from None

    async def _order(self, order_id: str, fields: str) -> dict[str, Any]:
        body = await self._get(f"/admin/orders/{order_id}", {"fields": fields})
        order = body.get("order") if isinstance(body, dict) else None
        if not isinstance(order, dict):
            raise MedusaUnavailable("Medusa's order reply had no order.")
        return order

    async def _orders(self, params: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
        """One page of Medusa's order list, and how many orders match in all."""
        body = await self._get("/admin/orders", params)
        orders = body.get("orders") if isinstance(body, dict) else None
        if not isinstance(orders, list):
            raise MedusaUnavailable("Medusa's order list reply had no orders.")
        return [o for o in orders if isinstance(o, dict)], int(body.get("count") or 0)

    async def get_variants(self, variant_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The variants of `variant_ids` that Medusa has (deleted ones it leaves out), by id."""
        if not variant_ids:
            return {}
        try:
            body = await self._get(
                "/admin/product-variants",
                {"id[]": variant_ids, "fields": VARIANT_FIELDS, "limit": len(variant_ids)},
            )
        except NotFound:
            # The route itself is missing: not a Medusa v2 backend at this address.
            raise MedusaRejected(
                f"{self.base_url} has no Medusa v2 variant list (/admin/product-variants): "
                "check MEDUSA_BACKEND_URL."
            ) from None
        variants = body.get("variants") if isinstance(body, dict) else None
        if not isinstance(variants, list):
            raise MedusaUnavailable("Medusa's variant list reply had no variants.")
        return {
            str(v["id"]): v for v in variants if isinstance(v, dict) and v.get("id") in variant_ids
        }

    async def get_fulfillments(self, order_id: str) -> dict[str, Any]:
        """The order's line items and fulfillments (with their items and labels)."""
        return await self._order(order_id, FULFILLMENT_FIELDS)

    async def create_fulfillment(
        self, order_id: str, items: list[dict[str, Any]], *, location_id: str | None
    ) -> None:
        body: dict[str, Any] = {"items": items}
        if location_id:
            body["location_id"] = location_id
        await self._post(f"/admin/orders/{order_id}/fulfillments", body)

    async def create_shipment(
        self,
        order_id: str,
        fulfillment_id: str,
        items: list[dict[str, Any]],
        labels: list[dict[str, str]],
    ) -> None:
        await self._post(
            f"/admin/orders/{order_id}/fulfillments/{fulfillment_id}/shipments",
            {"items": items, "labels": labels},
        )

    async def mark_delivered(self, order_id: str, fulfillment_id: str) -> None:
        await self._post(
            f"/admin/orders/{order_id}/fulfillments/{fulfillment_id}/mark-as-delivered", {}
        )

    async def is_canceled(self, order_id: str) -> bool:
        """Whether Medusa has canceled the order; False when it cannot tell (no such order, or
        Medusa out of reach: a paid order is not held back for that)."""
        try:
            order = await self._order(order_id, "id,status")
        except (MedusaUnavailable, MedusaRejected, NotFound) as exc:
            logger.info("order %s: could not ask Medusa whether it is canceled: %s", order_id, exc)
            return False
        return order.get("status") == "canceled"

    async def get_order(self, order_id: str) -> dict[str, Any]:
        return await self._order(order_id, ORDER_FIELDS)

    async def list_orders(
        self, *, created_since: datetime, offset: int, limit: int = PAGE_SIZE
    ) -> tuple[list[dict[str, Any]], int]:
        """Orders placed since `created_since`, oldest first, and how many there are."""
        return await self._orders(
            {
                "fields": ORDER_FIELDS,
                "order": "created_at",
                "created_at[$gte]": created_since.astimezone(UTC).isoformat(),
                "limit": limit,
                "offset": offset,
            }
        )

    async def list_canceled(
        self, *, updated_since: datetime, offset: int, limit: int = PAGE_SIZE
    ) -> tuple[list[str], int]:
        """Ids of the orders canceled (or otherwise changed while canceled) since then."""
        orders, count = await self._orders(
            {
                "fields": "id,status,updated_at",
                "status": "canceled",
                "order": "updated_at",
                "updated_at[$gte]": updated_since.astimezone(UTC).isoformat(),
                "limit": limit,
                "offset": offset,
            }
        )
        return [str(o["id"]) for o in orders if o.get("id")], count


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


async def variant_details(client: MedusaClient, variant_id: str) -> VariantDetails:
    """What Medusa says of the variant a product mapping names; refused when it has none, so
    a mistyped id is caught now rather than by paid orders that never reach Qikink."""
    try:
        found = (await client.get_variants([variant_id])).get(variant_id)
    except MedusaUnavailable as exc:
        raise MedusaUnavailable(
            f"Medusa did not answer, so variant {variant_id} could not be checked and nothing "
            f"was stored: {exc.message}"
        ) from None
    if found is None:
        raise InvalidInput(f"No variant {variant_id} in Medusa.", field="variant_id")
    product = found.get("product")
    product = product if isinstance(product, dict) else {}
    return VariantDetails(
        product_id=_text(found.get("product_id") or product.get("id")),
        product_title=_text(product.get("title")),
        variant_title=_text(found.get("title")),
        variant_sku=_text(found.get("sku")),
    )


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"Medusa sent a price that is not a number: {value!r}.") from None


def store_order_from_medusa(order: dict[str, Any]) -> StoreOrder:
    """A Medusa order (as the Admin API gives it) as this service's `StoreOrder`."""
    address = order.get("shipping_address") or {}
    if not isinstance(address, dict) or not address:
        raise InvalidInput("The Medusa order has no shipping address.")
    items = [
        StoreItem(
            variant_id=str(item.get("variant_id") or ""),
            quantity=int(item.get("quantity") or 0),
            unit_price=_decimal(item.get("unit_price", 0)),
            title=item.get("title"),
        )
        for item in order.get("items") or []
        if isinstance(item, dict) and item.get("variant_id")
    ]
    display_id = order.get("display_id")
    return StoreOrder(
        id=str(order.get("id") or ""),
        email=str(order.get("email") or ""),
        customer_id=str(order["customer_id"]) if order.get("customer_id") else None,
        display_id=str(display_id) if display_id is not None else None,
        currency_code=order.get("currency_code"),
        items=items,
        shipping_address=StoreAddress(
            first_name=str(address.get("first_name") or ""),
            last_name=address.get("last_name"),
            address1=str(address.get("address_1") or ""),
            address2=address.get("address_2"),
            city=str(address.get("city") or ""),
            province=str(address.get("province") or ""),
            postal_code=str(address.get("postal_code") or ""),
            country_code=str(address.get("country_code") or ""),
            phone=address.get("phone"),
        ),
    )


async def submit_placed_order(
    order: dict[str, Any],
    *,
    prefix: str,
    on_queued: Callable[[], None] | None,
    clock: Clock = SYSTEM,
) -> SubmitResult:
    """Submit a placed order as Medusa's Admin API gave it (skipped when it cannot be read)."""
    try:
        store_order = store_order_from_medusa(order)
    except InvalidInput as exc:
        return SubmitResult(mapping=None, skipped=True, reason=exc.message)
    if not store_order.items:
        return SubmitResult(mapping=None, skipped=True, reason="The order has no items.")
    return await submit_store_order(
        store_order, prefix=prefix, on_queued=on_queued, keep_invalid=True, clock=clock
    )


async def submit_medusa_order(
    client: MedusaClient,
    order_id: str,
    *,
    prefix: str,
    on_queued: Callable[[], None] | None = None,
    clock: Clock = SYSTEM,
) -> SubmitResult:
    """Load a placed order from Medusa and submit it exactly as `submitStoreOrder` does."""
    existing = await OrderMapping.get_or_none(medusa_order_id=order_id)
    if existing is not None:
        return SubmitResult(mapping=existing, skipped=False)
    return await submit_placed_order(
        await client.get_order(order_id), prefix=prefix, on_queued=on_queued, clock=clock
    )
