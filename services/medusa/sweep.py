"""The sweep: placed Medusa orders that never reached this service are submitted after all.

With Medusa's default event bus nothing retries a subscriber, so an `order.placed` sent while
this service was down is gone. At start-up and on an interval one process (the holder of the
sweep's lease) lists the orders placed since a stored watermark, looking further back by an
overlap, and submits each one with no mapping yet; submitting is idempotent. It also lists
the orders canceled since then, so a cancellation whose `order.canceled` was lost still stops
an order Qikink does not have yet (`services.orders.outbox.cancel_store_order`).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from models import OrderMapping
from services.medusa.client import PAGE_SIZE, submit_placed_order
from services.orders.outbox import cancel_store_order
from services.shared.background import repeat
from services.shared.clock import SYSTEM, Clock, utc_now
from services.shared.errors import Conflict
from services.shared.leases import job_value, release_lease, set_job_value, take_lease

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

    from services.medusa.client import MedusaClient

__all__ = ["RECONCILE_JOB", "ReconcileResult", "reconcile", "reconcile_forever"]

logger = logging.getLogger("qikink_graphql.medusa")

RECONCILE_JOB = "medusa_reconcile"


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    seen: int
    submitted: int
    skipped: int
    since: datetime
    watermark: datetime | None
    ran: bool = True
    canceled: int = 0


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
    clock: Clock = SYSTEM,
) -> ReconcileResult:
    """Submit every order placed since the watermark that has no mapping yet.

    One sweep at a time across processes (a lease); the watermark moves to the newest order
    the sweep handled, and each sweep looks `overlap_seconds` behind it, so an order whose
    event and write raced the last sweep is still seen. The first sweep ever starts now (a
    new install does not send a store's history to Qikink); `since` overrides that.
    """
    owner = f"sweep-{secrets.token_hex(6)}"
    now = utc_now(clock)
    if not await take_lease(RECONCILE_JOB, owner, seconds=600, clock=clock):
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
            # Tortoise types a flat `values_list` as tuples; it is the column's values.
            known = set(
                cast(
                    "list[str]",
                    await OrderMapping.filter(medusa_order_id__in=ids).values_list(
                        "medusa_order_id", flat=True
                    ),
                )
            )
            for order in orders:
                seen += 1
                # A canceled one is never submitted; the sweep of canceled orders sees it.
                if str(order.get("id")) not in known and order.get("status") != "canceled":
                    try:
                        result = await submit_placed_order(
                            order, prefix=prefix, on_queued=on_queued, clock=clock
                        )
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
        canceled = await _sweep_canceled(client, since)
        await set_job_value(RECONCILE_JOB, {"watermark": watermark.isoformat()})
        return ReconcileResult(seen, submitted, skipped, since, watermark, canceled=canceled)
    finally:
        await release_lease(RECONCILE_JOB, owner)


async def _sweep_canceled(client: MedusaClient, since: datetime) -> int:
    """Cancel the mappings of orders Medusa canceled since `since` that do not know it yet."""
    canceled = offset = 0
    while True:
        ids, total = await client.list_canceled(updated_since=since, offset=offset)
        if not ids:
            return canceled
        # Tortoise types a flat `values_list` as tuples; it is the column's values.
        unaware = cast(
            "list[str]",
            await OrderMapping.filter(medusa_order_id__in=ids, cancel_requested=False).values_list(
                "medusa_order_id", flat=True
            ),
        )
        for order_id in unaware:
            outcome, _ = await cancel_store_order(order_id)
            canceled += 1
            logger.info("sweep: order %s was canceled in Medusa (%s)", order_id, outcome.value)
        offset += len(ids)
        if offset >= total:
            return canceled


async def reconcile_forever(
    client: MedusaClient,
    *,
    prefix: str,
    interval: float,
    overlap_seconds: float,
    max_orders: int,
    stop: asyncio.Event,
    on_queued: Callable[[], None] | None = None,
    clock: Clock = SYSTEM,
) -> None:
    """Sweep at start-up and then every `interval` seconds until `stop` is set."""

    async def sweep() -> None:
        result = await reconcile(
            client,
            prefix=prefix,
            overlap_seconds=overlap_seconds,
            max_orders=max_orders,
            on_queued=on_queued,
            clock=clock,
        )
        if result.ran:
            logger.info(
                "sweep: %d order(s) placed since %s looked at, %d missed",
                result.seen,
                result.since.isoformat(timespec="seconds"),
                result.submitted,
            )

    await repeat(
        sweep,
        pause=interval,
        stop=stop,
        logger=logger,
        failed="Medusa sweep failed; trying again next interval",
    )
