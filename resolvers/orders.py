"""Placed store orders to Qikink, and the status refresh."""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolvers.cancellation import uninterrupted
from services.medusa import client as medusa
from services.orders import outbox as orders
from services.orders import sync
from services.qikink.lanes import Lane
from services.shared.errors import MedusaUnavailable, within
from services.shared.validation import check_id

if TYPE_CHECKING:
    from models import OrderMapping
    from services.orders.outbox import SubmitResult
    from services.orders.store import StoreOrder
    from services.orders.sync import RefreshResult
    from services.runtime import Runtime

__all__ = [
    "cancel_medusa_order",
    "refresh_order_mappings",
    "retry_order_submission",
    "submit_medusa_order",
    "submit_store_order",
]


@uninterrupted
async def submit_store_order(runtime: Runtime, order: StoreOrder) -> SubmitResult:
    with within("order"):
        return await orders.submit_store_order(
            order,
            prefix=runtime.settings.qikink_order_number_prefix,
            on_queued=runtime.wake_worker,
            clock=runtime.clock,
        )


def _medusa(runtime: Runtime) -> medusa.MedusaClient:
    if runtime.medusa is None:
        raise MedusaUnavailable(
            "This service is not connected to Medusa: set MEDUSA_BACKEND_URL and MEDUSA_API_KEY."
        )
    return runtime.medusa


@uninterrupted
async def submit_medusa_order(runtime: Runtime, order_id: str) -> SubmitResult:
    return await medusa.submit_medusa_order(
        _medusa(runtime),
        check_id(order_id, field="order_id", label="The order id"),
        prefix=runtime.settings.qikink_order_number_prefix,
        on_queued=runtime.wake_worker,
        clock=runtime.clock,
    )


@uninterrupted
async def cancel_medusa_order(
    runtime: Runtime, order_id: str
) -> tuple[orders.CancelOutcome, OrderMapping | None]:
    outcome, row = await orders.cancel_store_order(order_id)
    if outcome is orders.CancelOutcome.DECIDING:
        # A worker holds it: its next step decides, and it is about to take it.
        runtime.wake_worker()
    return outcome, row


@uninterrupted
async def retry_order_submission(runtime: Runtime, mapping_id: str) -> OrderMapping:
    async def reload(order_id: str) -> StoreOrder:
        return medusa.store_order_from_medusa(await _medusa(runtime).get_order(order_id))

    return await orders.retry_order_submission(
        mapping_id,
        on_queued=runtime.wake_worker,
        reload=reload if runtime.medusa is not None else None,
        prefix=runtime.settings.qikink_order_number_prefix,
        clock=runtime.clock,
    )


@uninterrupted
async def refresh_order_mappings(
    runtime: Runtime, *, order_id: str | None, limit: int, concurrency: int
) -> RefreshResult:
    # A person is waiting: refuse over the budget (or the sync's share) instead of waiting.
    return await sync.refresh_order_mappings(
        runtime.qikink.in_lane(Lane.SYNC),
        order_id=order_id,
        limit=limit,
        concurrency=concurrency,
        wait=False,
    )
