"""Placed store orders become exactly one Qikink order each: the outbox and its worker.

`submit_store_order` writes the order mapping, with the exact Qikink payload, before Qikink is
ever called; the same store order submitted again (even concurrently) finds that row, because
the store order id is unique in the database. A `SubmissionWorker` (in `serve`, or alone with
`qikink-graphql worker`, as many as you like) claims due mappings with a conditional UPDATE
that only one worker can win, waits for a rate slot, and sends them.

What keeps a paid order from being sent twice is the Qikink order number: derived from the
store order, so a resend is answered `Duplicate Order.`. Then, and whenever a create's outcome
is unknown (a timeout, a dropped connection, a broken reply, a worker that died mid-call), the
worker looks the order up in Qikink by its number and adopts its id instead of creating another.

    queued --claim--> in_flight --accepted / found--> done      (status SUBMITTED)
      ^                  |  |----refused------------> failed    (status FAILED; retry -> queued)
      |                  |------transient---------> queued    (backoff; `unknown` if it may
      |                                                          have reached Qikink)
      +-- lease expired (the worker died) is claimed again as `unknown`
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from models import OrderMapping, OrderMappingStatus, ProductMapping, SubmitState
from services.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    QikinkRejected,
    QikinkUnavailable,
    RateLimited,
)
from services.india import normalise_phone, state_name
from services.order_mappings import get_order_mapping
from services.qikink import (
    ORDER_NUMBER_MAX_LENGTH,
    PaymentGateway,
    QikinkAddress,
    QikinkLineItem,
    QikinkOrderRequest,
    created_on_of,
    order_number_of,
)
from services.validation import check_id

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from services.qikink_client import QikinkClient

__all__ = [
    "StoreAddress",
    "StoreItem",
    "StoreOrder",
    "SubmissionWorker",
    "SubmitResult",
    "find_order_by_number",
    "order_number_for",
    "retry_order_submission",
    "submit_store_order",
]

logger = logging.getLogger("qikink_graphql.orders")

DUPLICATE_ORDER = re.compile(r"duplicate\s+order", re.IGNORECASE)
# Refusals that sending the same order again cannot change: the merchant has to act. Any other
# error text (Qikink's "Something went wrong") is retried, up to the attempt limit.
PERMANENT_REFUSAL = re.compile(
    r"invalid|cannot|can't|required|not allowed|must|exceed|special char|not found|"
    r"insufficient|balance|wallet|not serviceable|unserviceable|blocked|disabled|suspended",
    re.IGNORECASE,
)
# How far back a page walk looks past a mapping's creation for its order (Qikink's clock and
# time zone are its own: created_on carries no zone).
LOOKUP_MARGIN = timedelta(days=2)
MAX_LOOKUP_PAGES = 50


@dataclass(frozen=True, slots=True)
class StoreItem:
    variant_id: str
    quantity: int
    unit_price: Decimal
    title: str | None = None


@dataclass(frozen=True, slots=True)
class StoreAddress:
    first_name: str
    last_name: str | None
    address1: str
    address2: str | None
    city: str
    province: str
    postal_code: str
    country_code: str
    phone: str | None


@dataclass(frozen=True, slots=True)
class StoreOrder:
    """A placed store order, as Medusa (or any store) describes it."""

    id: str
    email: str
    items: list[StoreItem]
    shipping_address: StoreAddress
    display_id: str | None = None
    currency_code: str | None = None
    payment_method: PaymentGateway = PaymentGateway.PREPAID
    # The store's customer (Medusa's `customer_id`), who may then follow the order signed in.
    customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class SubmitResult:
    mapping: OrderMapping | None
    skipped: bool
    reason: str | None = None


def order_number_for(order: StoreOrder, prefix: str) -> str:
    """The Qikink order number of a store order: the same every time it is asked.

    `<prefix><displayId>` when that fits in 15 letters and digits, else `<prefix>` and a hash
    of the store order id (Medusa ids are 30+ characters).
    """
    display = re.sub(r"[^A-Za-z0-9]", "", order.display_id or "")
    if display and len(prefix) + len(display) <= ORDER_NUMBER_MAX_LENGTH:
        return f"{prefix}{display}"
    digest = int.from_bytes(hashlib.sha256(order.id.encode()).digest(), "big")
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    chars = []
    for _ in range(ORDER_NUMBER_MAX_LENGTH - len(prefix)):
        digest, index = divmod(digest, 36)
        chars.append(alphabet[index])
    return prefix + "".join(chars)


def _build_request(
    order: StoreOrder, order_number: str, mapped: dict[str, str]
) -> QikinkOrderRequest:
    items = [item for item in order.items if item.variant_id in mapped]
    address = order.shipping_address
    province, phone = address.province, address.phone or ""
    if address.country_code.strip().upper() == "IN":
        province = state_name(province, field="shippingAddress.province")
        phone = normalise_phone(phone, field="shippingAddress.phone")
    return QikinkOrderRequest(
        order_number=order_number,
        gateway=order.payment_method,
        total_order_value=sum((i.unit_price * i.quantity for i in items), Decimal(0)),
        qikink_shipping=True,
        line_items=[
            QikinkLineItem(
                sku=mapped[item.variant_id],
                quantity=item.quantity,
                price=item.unit_price,
                search_from_my_products=True,
            )
            for item in items
        ],
        shipping_address=QikinkAddress(
            first_name=address.first_name,
            last_name=address.last_name or "",
            address1=address.address1,
            address2=address.address2 or "",
            phone=phone,
            email=order.email,
            city=address.city,
            zip=address.postal_code,
            province=province,
            country_code=address.country_code,
        ),
    )


def _check_order(order: StoreOrder) -> None:
    check_id(order.id, field="order.id")
    if order.customer_id is not None:
        check_id(order.customer_id, field="order.customerId")
    if not order.items:
        raise InvalidInput("The order has no items.", field="order.items")
    for index, item in enumerate(order.items):
        check_id(item.variant_id, field=f"order.items.{index}.variantId")
        if not 1 <= item.quantity <= 10_000:
            raise InvalidInput(
                "Item quantities must be 1 or more.", field=f"order.items.{index}.quantity"
            )
        if not item.unit_price.is_finite() or item.unit_price < 0:
            raise InvalidInput(
                "Item prices must be amounts of 0 or more.",
                field=f"order.items.{index}.unitPrice",
            )


async def submit_store_order(
    order: StoreOrder,
    *,
    prefix: str,
    on_queued: Callable[[], None] | None = None,
    keep_invalid: bool = False,
) -> SubmitResult:
    """Record the order's Qikink submission (once), or say why it is skipped.

    An order Qikink could never accept as it stands (an address that cannot be made valid)
    is refused with `InvalidInput`; with `keep_invalid` (a placed order read from the store,
    which must not vanish) it is recorded `FAILED` with the reason instead, for the merchant
    to fix in the store and retry.
    """
    _check_order(order)
    existing = await OrderMapping.get_or_none(medusa_order_id=order.id)
    if existing is not None:
        return SubmitResult(mapping=existing, skipped=False)
    variant_ids = {item.variant_id for item in order.items}
    mapped = dict(
        await ProductMapping.filter(variant_id__in=variant_ids).values_list(
            "variant_id", "qikink_sku_id"
        )
    )
    if not mapped:
        return SubmitResult(
            mapping=None,
            skipped=True,
            reason="None of the order's items is mapped to a Qikink SKU.",
        )
    number = order_number_for(order, prefix)
    fields: dict[str, Any]
    try:
        payload = _build_request(order, number, mapped).to_payload()
    except InvalidInput as exc:
        if not keep_invalid:
            raise
        fields = {
            "payload": None,
            "status": OrderMappingStatus.FAILED,
            "submit_state": SubmitState.FAILED,
            "last_error": f"Not sent to Qikink: {exc.message}",
        }
    else:
        fields = {
            "payload": payload,
            "status": OrderMappingStatus.PENDING,
            "submit_state": SubmitState.QUEUED,
            "next_attempt_at": datetime.now(UTC),
        }
    try:
        row = await OrderMapping.create(
            medusa_order_id=order.id,
            qikink_order_number=number,
            customer_id=order.customer_id,
            email=order.email.strip() or None,
            **fields,
        )
    except IntegrityError:
        # The database decided: a concurrent submission of the same order won the insert.
        existing = await OrderMapping.get_or_none(medusa_order_id=order.id)
        if existing is not None:
            return SubmitResult(mapping=existing, skipped=False)
        raise Conflict(
            f"Qikink order number {number} is already used by another store order; set "
            "QIKINK_ORDER_NUMBER_PREFIX to tell this store's orders apart."
        ) from None
    if on_queued is not None and row.submit_state is SubmitState.QUEUED:
        on_queued()
    return SubmitResult(mapping=row, skipped=False)


async def retry_order_submission(
    mapping_id: str,
    *,
    on_queued: Callable[[], None] | None = None,
    reload: Callable[[str], Awaitable[StoreOrder]] | None = None,
    prefix: str = "",
) -> OrderMapping:
    """Put a failed submission back in the queue, due now.

    A mapping recorded without a payload (its address could not be sent) is rebuilt from the
    store's order as it is now, through `reload`, so a fix made in the store takes effect.
    """
    row = await get_order_mapping(check_id(mapping_id))
    if row is None:
        raise NotFound(f"No order mapping has id {mapping_id!r}.")
    changes: dict[str, Any] = {}
    if row.payload is None and row.submit_state is SubmitState.FAILED:
        if reload is None:
            raise Conflict("This order was never sent and its store is not connected to reload it.")
        order = await reload(row.medusa_order_id)
        variant_ids = {item.variant_id for item in order.items}
        mapped = dict(
            await ProductMapping.filter(variant_id__in=variant_ids).values_list(
                "variant_id", "qikink_sku_id"
            )
        )
        if not mapped:
            raise Conflict("None of the order's items is mapped to a Qikink SKU any more.")
        try:
            changes["payload"] = _build_request(
                order, row.qikink_order_number or order_number_for(order, prefix), mapped
            ).to_payload()
        except InvalidInput as exc:
            await OrderMapping.filter(id=row.id).update(
                last_error=f"Not sent to Qikink: {exc.message}"
            )
            raise
    requeued = await OrderMapping.filter(id=row.id, submit_state=SubmitState.FAILED).update(
        submit_state=SubmitState.QUEUED,
        status=OrderMappingStatus.PENDING,
        attempts=0,
        next_attempt_at=datetime.now(UTC),
        **changes,
    )
    if not requeued:
        raise Conflict(f"Only a failed submission can be retried; this one is {row.status.value}.")
    if on_queued is not None:
        on_queued()
    await row.refresh_from_db()
    return row


async def find_order_by_number(
    client: QikinkClient, order_number: str, *, since: datetime, wait: bool = True
) -> dict[str, Any] | None:
    """Walk Qikink's newest-first pages for `order_number`; Qikink has no lookup by number."""
    for page in range(1, MAX_LOOKUP_PAGES + 1):
        orders = await client.list_orders(page, wait=wait)
        for order in orders:
            if order_number_of(str(order.get("number") or "")) == order_number:
                return order
        if len(orders) < 10:
            return None
        oldest = min((c for o in orders if (c := created_on_of(o))), default=None)
        if oldest is not None and oldest < since - LOOKUP_MARGIN:
            return None
    return None


class SubmissionWorker:
    """Claims due mappings and sends them to Qikink; safe to run in many processes."""

    def __init__(
        self,
        client: QikinkClient,
        *,
        lease_seconds: float = 120.0,
        backoff_base: float = 5.0,
        backoff_max: float = 900.0,
        poll_seconds: float = 2.0,
        batch: int = 5,
        max_attempts: int = 8,
    ) -> None:
        self.client = client
        self.owner = f"worker-{secrets.token_hex(6)}"
        self.lease_seconds = lease_seconds
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.max_attempts = max_attempts
        self._wake = asyncio.Event()
        self.submitted = 0

    def wake(self) -> None:
        """New work was queued in this process: look now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set; a failing database is logged and retried."""
        while not stop.is_set():
            self._wake.clear()
            try:
                done = await self.run_once()
            except Exception:
                logger.exception("submission worker: a pass failed; trying again shortly")
                done = 0
            if done:
                continue
            waiters = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
            _, pending = await asyncio.wait(
                waiters, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()

    async def run_once(self) -> int:
        """Claim and process every mapping due now; returns how many were processed."""
        processed = 0
        while claimed := await self._claim_some():
            for row, needs_lookup in claimed:
                await self._process(row, needs_lookup)
                processed += 1
        return processed

    async def _claim_some(self) -> list[tuple[OrderMapping, bool]]:
        now = datetime.now(UTC)
        due = Q(
            submit_state__in=[SubmitState.QUEUED, SubmitState.UNKNOWN], next_attempt_at__lte=now
        )
        abandoned = Q(submit_state=SubmitState.IN_FLIGHT, lease_expires_at__lt=now)
        candidates = (
            await OrderMapping.filter(due | abandoned)
            .order_by("next_attempt_at", "id")
            .limit(self.batch)
            .only("id", "submit_state", "lease_expires_at", "attempts")
        )
        claimed = []
        for row in candidates:
            # Claim only if the row is still as we saw it: exactly one worker wins each row.
            if await OrderMapping.filter(
                id=row.id, submit_state=row.submit_state, lease_expires_at=row.lease_expires_at
            ).update(
                submit_state=SubmitState.IN_FLIGHT,
                lease_owner=self.owner,
                lease_expires_at=now + timedelta(seconds=self.lease_seconds),
            ):
                needs_lookup = row.submit_state is not SubmitState.QUEUED
                claimed.append((await OrderMapping.get(id=row.id), needs_lookup))
        return claimed

    def _mine(self, row: OrderMapping) -> Any:
        return OrderMapping.filter(
            id=row.id, lease_owner=self.owner, submit_state=SubmitState.IN_FLIGHT
        )

    async def _renew(self, row: OrderMapping) -> bool:
        expires = datetime.now(UTC) + timedelta(seconds=self.lease_seconds)
        return bool(await self._mine(row).update(lease_expires_at=expires))

    async def _process(self, row: OrderMapping, needs_lookup: bool) -> None:
        number = row.qikink_order_number or ""
        try:
            if needs_lookup:
                found = await find_order_by_number(self.client, number, since=row.created_at)
                if found is not None:
                    await self._accepted(row, str(found["order_id"]), adopted=True)
                    return
            if not await self._renew(row):
                return  # the lease was lost: another worker has this row now
            await self._count_attempt(row)
            order_id = await self.client.create_order(row.payload or {}, wait=True)
            await self._accepted(row, order_id, adopted=False)
        except QikinkRejected as exc:
            if DUPLICATE_ORDER.search(exc.message):
                await self._duplicate(row, number)
            elif PERMANENT_REFUSAL.search(exc.message) or row.attempts >= self.max_attempts:
                await self._failed(row, exc.message)
            else:
                await self._later(row, f"Qikink said: {exc.message}", unknown=True)
        except QikinkUnavailable as exc:
            await self._later(row, exc.message, unknown=exc.outcome_unknown or needs_lookup)
        except RateLimited as exc:
            await self._later(row, exc.message, unknown=needs_lookup)

    async def _duplicate(self, row: OrderMapping, number: str) -> None:
        try:
            found = await find_order_by_number(self.client, number, since=row.created_at)
        except (QikinkUnavailable, RateLimited, QikinkRejected) as exc:
            await self._later(row, f"Duplicate Order; lookup failed: {exc.message}", unknown=True)
            return
        if found is None:
            await self._later(
                row, "Qikink says Duplicate Order but the order was not found yet.", unknown=True
            )
            return
        await self._accepted(row, str(found["order_id"]), adopted=True)

    async def _count_attempt(self, row: OrderMapping) -> None:
        row.attempts += 1
        await self._mine(row).update(attempts=row.attempts)

    async def _accepted(self, row: OrderMapping, order_id: str, *, adopted: bool) -> None:
        try:
            updated = await self._mine(row).update(
                submit_state=SubmitState.DONE,
                status=OrderMappingStatus.SUBMITTED,
                qikink_order_id=order_id,
                qikink_status="On Hold",
                last_error=None,
                next_attempt_at=None,
                lease_owner=None,
                lease_expires_at=None,
            )
        except IntegrityError:
            await self._failed(row, f"Qikink order {order_id} is already mapped to another order.")
            return
        if updated:
            self.submitted += 1
            logger.info(
                "order %s %s Qikink order %s (%s)",
                row.medusa_order_id,
                "adopted" if adopted else "created",
                order_id,
                row.qikink_order_number,
            )

    async def _failed(self, row: OrderMapping, message: str) -> None:
        logger.warning("order %s refused by Qikink: %s", row.medusa_order_id, message)
        await self._mine(row).update(
            submit_state=SubmitState.FAILED,
            status=OrderMappingStatus.FAILED,
            last_error=message,
            next_attempt_at=None,
            lease_owner=None,
            lease_expires_at=None,
        )

    def backoff(self, attempts: int) -> float:
        """Exponential, capped, with jitter so retries of many orders spread out."""
        delay = min(self.backoff_base * 2 ** max(attempts - 1, 0), self.backoff_max)
        return delay * random.uniform(0.5, 1.0)

    async def _later(self, row: OrderMapping, message: str, *, unknown: bool) -> None:
        delay = self.backoff(max(row.attempts, 1))
        logger.info("order %s: %s; retrying in %.0f s", row.medusa_order_id, message, delay)
        await self._mine(row).update(
            submit_state=SubmitState.UNKNOWN if unknown else SubmitState.QUEUED,
            last_error=message,
            next_attempt_at=datetime.now(UTC) + timedelta(seconds=delay),
            lease_owner=None,
            lease_expires_at=None,
        )
