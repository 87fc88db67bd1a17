"""Qikink's progress written back to the store's order: Medusa's fulfillment, shipment, delivery.

When a mapping reaches the status a merchant chose (`MEDUSA_FULFILL_AT`, SHIPPED by default),
the items Qikink prints become one Medusa fulfillment; with a tracking number, its shipment
(which makes Medusa send its own shipment email); on COMPLETED, its delivery. Medusa's Admin
API runs the same workflows and events as its dashboard.

Each step happens once. A pass first reads the order's fulfillments and adopts what is there
(ours is the one holding exactly the printed items), so a retry after a crash or a lost reply
finds its own work instead of repeating it. A refusal Medusa gives (no stock location, a
canceled order) is kept on the mapping, in Medusa's words, for the merchant; a failure to reach
Medusa is retried with backoff. Whichever worker holds the mapping's lease does the writing;
no Qikink call is made here.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tortoise.expressions import Q

from models import MedusaSyncedState, OrderMapping, OrderMappingStatus, ProductMapping, SubmitState
from services.orders.worker import CLAIM
from services.qikink.proxy import tracking_link
from services.shared.background import backoff, repeat
from services.shared.clock import SYSTEM, Clock, utc_now
from services.shared.errors import MedusaRejected, MedusaUnavailable, NotFound

if TYPE_CHECKING:
    import asyncio
    from datetime import datetime

    from services.medusa.client import MedusaClient

__all__ = ["FulfillmentWriter", "wanted_state"]

logger = logging.getLogger("qikink_graphql.medusa")

_ORDER = [
    MedusaSyncedState.NONE,
    MedusaSyncedState.FULFILLED,
    MedusaSyncedState.SHIPPED,
    MedusaSyncedState.DELIVERED,
]
# Medusa's answers to a step that was done already (a lost reply, then a retry).
_DONE_ALREADY = (
    "already been created",
    "cannot fulfill more items",
    "already been delivered",
    "already delivered",
)


def _rank(state: MedusaSyncedState) -> int:
    return _ORDER.index(state)


def wanted_state(row: OrderMapping, *, fulfill_at: str) -> MedusaSyncedState:
    """How far the store's order should be, for the mapping as it stands."""
    if row.cancel_requested or row.submit_state is not SubmitState.DONE:
        return MedusaSyncedState.NONE
    if row.status is OrderMappingStatus.COMPLETED:
        return MedusaSyncedState.DELIVERED
    if row.status is OrderMappingStatus.SHIPPED:
        return MedusaSyncedState.SHIPPED if row.tracking_number else MedusaSyncedState.FULFILLED
    if row.status is OrderMappingStatus.IN_PRODUCTION and fulfill_at == "IN_PRODUCTION":
        return MedusaSyncedState.FULFILLED
    return MedusaSyncedState.NONE


class _Order:
    """The store's order as the write-back needs it: the printed line items, our fulfillment."""

    def __init__(self, order: dict[str, Any], printed: dict[str, int], known: str | None) -> None:
        self.items = [
            {"id": str(item["id"]), "quantity": printed[str(item.get("variant_id"))]}
            for item in order.get("items") or []
            if isinstance(item, dict) and str(item.get("variant_id")) in printed
        ]
        wanted = {item["id"]: item["quantity"] for item in self.items}
        self.fulfillment: dict[str, Any] | None = None
        for fulfillment in order.get("fulfillments") or []:
            if not isinstance(fulfillment, dict) or fulfillment.get("canceled_at"):
                continue
            held = {
                str(item.get("line_item_id")): int(item.get("quantity") or 0)
                for item in fulfillment.get("items") or []
                if isinstance(item, dict)
            }
            if fulfillment.get("id") == known or (known is None and held == wanted):
                self.fulfillment = fulfillment

    @property
    def state(self) -> MedusaSyncedState:
        if self.fulfillment is None:
            return MedusaSyncedState.NONE
        if self.fulfillment.get("delivered_at"):
            return MedusaSyncedState.DELIVERED
        if self.fulfillment.get("shipped_at"):
            return MedusaSyncedState.SHIPPED
        return MedusaSyncedState.FULFILLED


class FulfillmentWriter:
    """Writes due mappings' progress to Medusa; safe to run in many processes."""

    def __init__(
        self,
        medusa: MedusaClient,
        *,
        fulfill_at: str = "SHIPPED",
        location_id: str | None = None,
        poll_seconds: float = 2.0,
        lease_seconds: float = 120.0,
        backoff_base: float = 5.0,
        backoff_max: float = 900.0,
        clock: Clock = SYSTEM,
    ) -> None:
        self.medusa = medusa
        self.fulfill_at = fulfill_at
        self.location_id = location_id
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.clock = clock
        self.owner = f"medusa-{secrets.token_hex(6)}"

    def _now(self) -> datetime:
        return utc_now(self.clock)

    async def run(self, stop: asyncio.Event) -> None:
        await repeat(
            self.run_once,
            pause=self.poll_seconds,
            stop=stop,
            logger=logger,
            failed="Medusa write-back: a pass failed; trying again shortly",
        )

    async def run_once(self) -> int:
        """Write every due mapping's progress; returns how many were looked at."""
        now = self._now()
        due = (
            await OrderMapping.filter(medusa_sync_due_at__lte=now, submit_state=SubmitState.DONE)
            .order_by("medusa_sync_due_at", "id")
            .limit(20)
            .values_list("id", flat=True)
        )
        done = 0
        for mapping_id in due:
            until = now + timedelta(seconds=self.lease_seconds)
            done_only = Q(submit_state=SubmitState.DONE)
            if await CLAIM.take(Q(id=mapping_id), self.owner, now=now, until=until, when=done_only):
                await self._write(await OrderMapping.get(id=mapping_id))
                done += 1
        return done

    async def _write(self, row: OrderMapping) -> None:
        where = Q(id=row.id)
        wanted = wanted_state(row, fulfill_at=self.fulfill_at)
        if _rank(wanted) <= _rank(row.medusa_synced_state):
            await CLAIM.release(where, self.owner, medusa_sync_due_at=None)
            return
        try:
            reached = await self._advance(row, wanted)
        except MedusaRejected as exc:
            logger.warning("order %s: Medusa refused the write-back: %s", row.medusa_order_id, exc)
            await CLAIM.release(
                where, self.owner, medusa_sync_due_at=None, medusa_sync_error=exc.message
            )
            return
        except (MedusaUnavailable, NotFound) as exc:
            attempts = row.medusa_sync_attempts + 1
            delay = backoff(attempts, base=self.backoff_base, cap=self.backoff_max)
            logger.info(
                "order %s: Medusa write-back failed (%s); retrying in %.0f s",
                row.medusa_order_id,
                exc.message,
                delay,
            )
            await CLAIM.release(
                where,
                self.owner,
                medusa_sync_attempts=attempts,
                medusa_sync_due_at=self._now() + timedelta(seconds=delay),
            )
            return
        await CLAIM.release(
            where,
            self.owner,
            medusa_synced_state=reached.state,
            medusa_fulfillment_id=reached.fulfillment_id,
            medusa_sync_due_at=None,
            medusa_sync_attempts=0,
            medusa_sync_error=None,
        )

    async def _advance(self, row: OrderMapping, wanted: MedusaSyncedState) -> _Reached:
        order = await self._read(row)
        reached = _Reached.of(order)
        while _rank(reached.state) < _rank(wanted):
            step = _ORDER[_rank(reached.state) + 1]
            try:
                await self._step(row, order, step)
            except MedusaRejected as exc:
                if not any(text in exc.message.lower() for text in _DONE_ALREADY):
                    raise
                # Done already (our reply was lost): the order as Medusa has it now says so.
            order = await self._read(row, known=reached.fulfillment_id)
            after = _Reached.of(order)
            if _rank(after.state) <= _rank(reached.state):
                raise MedusaRejected(
                    f"Medusa took the {step.value} step but the order does not show it."
                )
            reached = after
            logger.info("order %s: Medusa order %s", row.medusa_order_id, step.value)
        return reached

    async def _read(self, row: OrderMapping, known: str | None = None) -> _Order:
        printed = await _printed(row)
        order = await self.medusa.get_fulfillments(row.medusa_order_id)
        return _Order(order, printed, known or row.medusa_fulfillment_id)

    async def _step(self, row: OrderMapping, order: _Order, step: MedusaSyncedState) -> None:
        if not order.items:
            raise MedusaRejected("None of the order's items in Medusa is one Qikink prints.")
        order_id = row.medusa_order_id
        if step is MedusaSyncedState.FULFILLED:
            await self.medusa.create_fulfillment(
                order_id, order.items, location_id=self.location_id
            )
            return
        assert order.fulfillment is not None
        fulfillment_id = str(order.fulfillment["id"])
        if step is MedusaSyncedState.SHIPPED:
            labels = []
            if row.tracking_number:
                # Medusa wants all three; Qikink gives a tracking link and no label.
                # A link stored before links were checked is checked again here.
                link = tracking_link(row.tracking_url) or ""
                labels.append(
                    {
                        "tracking_number": row.tracking_number,
                        "tracking_url": link,
                        "label_url": link,
                    }
                )
            await self.medusa.create_shipment(order_id, fulfillment_id, order.items, labels)
            return
        await self.medusa.mark_delivered(order_id, fulfillment_id)


class _Reached:
    def __init__(self, state: MedusaSyncedState, fulfillment_id: str | None) -> None:
        self.state = state
        self.fulfillment_id = fulfillment_id

    @classmethod
    def of(cls, order: _Order) -> _Reached:
        fulfillment_id = str(order.fulfillment["id"]) if order.fulfillment else None
        return cls(order.state, fulfillment_id)


async def _printed(row: OrderMapping) -> dict[str, int]:
    """The store variants Qikink prints for `row`, and how many of each."""
    if row.printed_items:
        return {str(item["variant_id"]): int(item["quantity"]) for item in row.printed_items}
    # Mappings made before the variants were recorded: the SKUs sent, mapped back.
    skus = {
        str(line.get("sku")): int(line.get("quantity") or 0)
        for line in (row.payload or {}).get("line_items") or []
    }
    variants = await ProductMapping.filter(qikink_sku_id__in=list(skus)).values_list(
        "variant_id", "qikink_sku_id"
    )
    return {variant: skus[sku] for variant, sku in variants}
