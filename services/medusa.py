"""Medusa v2's Admin API as this service needs it: read a placed order, list recent ones.

Medusa's `order.placed` event carries only the order id and nothing retries a subscriber, so
the service reads the order itself (`submit_medusa_order`) and, on an interval, sweeps the
orders placed since a stored watermark for any that never reached it (`reconcile`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import httpx

from models import OrderMapping
from services.errors import Conflict, InvalidInput, MedusaRejected, MedusaUnavailable, NotFound
from services.leases import job_value, release_lease, set_job_value, take_lease
from services.orders import (
    StoreAddress,
    StoreItem,
    StoreOrder,
    SubmitResult,
    submit_store_order,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "ORDER_FIELDS",
    "MedusaClient",
    "ReconcileResult",
    "reconcile",
    "reconcile_forever",
    "store_order_from_medusa",
    "submit_medusa_order",
]

logger = logging.getLogger("qikink_graphql.medusa")

ORDER_FIELDS = "id,display_id,email,customer_id,currency_code,created_at,*items,*shipping_address"
RECONCILE_JOB = "medusa_reconcile"
PAGE_SIZE = 50


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
        try:
            response = await self.http.get(
                f"{self.base_url}{path}", params=params, headers=self._headers
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
        if response.status_code >= 400:
            raise MedusaUnavailable(f"Medusa failed (HTTP {response.status_code}).")
        try:
            return response.json()
        except ValueError:
            raise MedusaUnavailable("Medusa answered with something that is not JSON.") from None

    async def get_order(self, order_id: str) -> dict[str, Any]:
        body = await self._get(f"/admin/orders/{order_id}", {"fields": ORDER_FIELDS})
        order = body.get("order") if isinstance(body, dict) else None
        if not isinstance(order, dict):
            raise MedusaUnavailable("Medusa's order reply had no order.")
        return order

    async def list_orders(
        self, *, created_since: datetime, offset: int, limit: int = PAGE_SIZE
    ) -> tuple[list[dict[str, Any]], int]:
        """Orders placed since `created_since`, oldest first, and how many there are."""
        body = await self._get(
            "/admin/orders",
            {
                "fields": ORDER_FIELDS,
                "order": "created_at",
                "created_at[$gte]": created_since.astimezone(UTC).isoformat(),
                "limit": limit,
                "offset": offset,
            },
        )
        orders = body.get("orders") if isinstance(body, dict) else None
        if not isinstance(orders, list):
            raise MedusaUnavailable("Medusa's order list reply had no orders.")
        return [o for o in orders if isinstance(o, dict)], int(body.get("count") or 0)


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


async def _submit(
    order: dict[str, Any], *, prefix: str, on_queued: Callable[[], None] | None
) -> SubmitResult:
    try:
        store_order = store_order_from_medusa(order)
    except InvalidInput as exc:
        return SubmitResult(mapping=None, skipped=True, reason=exc.message)
    if not store_order.items:
        return SubmitResult(mapping=None, skipped=True, reason="The order has no items.")
    return await submit_store_order(
        store_order, prefix=prefix, on_queued=on_queued, keep_invalid=True
    )


async def submit_medusa_order(
    client: MedusaClient,
    order_id: str,
    *,
    prefix: str,
    on_queued: Callable[[], None] | None = None,
) -> SubmitResult:
    """Load a placed order from Medusa and submit it exactly as `submitStoreOrder` does."""
    existing = await OrderMapping.get_or_none(medusa_order_id=order_id)
    if existing is not None:
        return SubmitResult(mapping=existing, skipped=False)
    return await _submit(await client.get_order(order_id), prefix=prefix, on_queued=on_queued)


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    seen: int
    submitted: int
    skipped: int
    since: datetime
    watermark: datetime | None
    ran: bool = True


def _created_at(order: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(order.get("created_at")).replace("Z", "+00:00"))
    except ValueError:
        return None


async def reconcile(
    client: MedusaClient,
    *,
    prefix: str,
    overlap_seconds: float,
    max_orders: int,
    since: datetime | None = None,
    on_queued: Callable[[], None] | None = None,
) -> ReconcileResult:
    """Submit every order placed since the watermark that has no mapping yet.

    One sweep at a time across processes (a lease); the watermark moves to the newest order
    the sweep handled, and each sweep looks `overlap_seconds` behind it, so an order whose
    event and write raced the last sweep is still seen. The first sweep ever starts now (a
    new install does not send a store's history to Qikink); `since` overrides that.
    """
    owner = f"sweep-{secrets.token_hex(6)}"
    now = datetime.now(UTC)
    if not await take_lease(RECONCILE_JOB, owner, seconds=600):
        return ReconcileResult(0, 0, 0, since or now, None, ran=False)
    try:
        state = await job_value(RECONCILE_JOB)
        stored = state.get("watermark")
        if since is None:
            if stored is None:
                await set_job_value(RECONCILE_JOB, {"watermark": now.isoformat()})
                return ReconcileResult(0, 0, 0, now, now)
            since = datetime.fromisoformat(stored) - timedelta(seconds=overlap_seconds)
        watermark = datetime.fromisoformat(stored) if stored else since
        seen = submitted = skipped = 0
        offset = 0
        while seen < max_orders:
            orders, total = await client.list_orders(
                created_since=since, offset=offset, limit=min(PAGE_SIZE, max_orders - seen)
            )
            if not orders:
                break
            ids = [str(order.get("id")) for order in orders]
            known = set(
                await OrderMapping.filter(medusa_order_id__in=ids).values_list(
                    "medusa_order_id", flat=True
                )
            )
            for order in orders:
                seen += 1
                if str(order.get("id")) not in known:
                    try:
                        result = await _submit(order, prefix=prefix, on_queued=on_queued)
                    except Conflict as exc:
                        # Only a clash of Qikink order numbers gets here; stopping the sweep
                        # for it would hold back every order after it.
                        logger.error("sweep: order %s not recorded: %s", order.get("id"), exc)
                        skipped += 1
                        continue
                    if result.skipped:
                        skipped += 1
                    else:
                        submitted += 1
                        logger.info("sweep: order %s was missed; now recorded", order.get("id"))
                created = _created_at(order)
                if created is not None and created > watermark:
                    watermark = created
            offset += len(orders)
            if offset >= total:
                break
        await set_job_value(RECONCILE_JOB, {"watermark": watermark.isoformat()})
        return ReconcileResult(seen, submitted, skipped, since, watermark)
    finally:
        await release_lease(RECONCILE_JOB, owner)


async def reconcile_forever(
    client: MedusaClient,
    *,
    prefix: str,
    interval: float,
    overlap_seconds: float,
    max_orders: int,
    stop: asyncio.Event,
    on_queued: Callable[[], None] | None = None,
) -> None:
    """Sweep at start-up and then every `interval` seconds until `stop` is set."""
    while not stop.is_set():
        try:
            result = await reconcile(
                client,
                prefix=prefix,
                overlap_seconds=overlap_seconds,
                max_orders=max_orders,
                on_queued=on_queued,
            )
            if result.submitted:
                logger.info(
                    "sweep: %d missed order(s) recorded of %d seen", result.submitted, result.seen
                )
        except Exception:
            logger.exception("Medusa sweep failed; trying again next interval")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
