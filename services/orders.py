"""Placed store orders become exactly one Qikink order each: the outbox.

`submit_store_order` writes the order mapping, with the exact Qikink payload, before Qikink is
ever called; the same store order submitted again (even concurrently) finds that row, because
the store order id is unique in the database. `services.worker` sends it; a refused one is
put back by `retry_order_submission`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError

from models import OrderMapping, OrderMappingStatus, ProductMapping, SubmitState
from services.clock import SYSTEM, Clock, utc_now
from services.errors import Conflict, InvalidInput, NotFound
from services.order_mappings import get_order_mapping
from services.store_orders import StoreOrder, build_request, check_order, order_number_for
from services.validation import check_id

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["SubmitResult", "retry_order_submission", "submit_store_order"]


@dataclass(frozen=True, slots=True)
class SubmitResult:
    mapping: OrderMapping | None
    skipped: bool
    reason: str | None = None


async def submit_store_order(
    order: StoreOrder,
    *,
    prefix: str,
    on_queued: Callable[[], None] | None = None,
    keep_invalid: bool = False,
    clock: Clock = SYSTEM,
) -> SubmitResult:
    """Record the order's Qikink submission (once), or say why it is skipped.

    An order Qikink could never accept as it stands (an address that cannot be made valid)
    is refused with `InvalidInput`; with `keep_invalid` (a placed order read from the store,
    which must not vanish) it is recorded `FAILED` with the reason instead, for the merchant
    to fix in the store and retry.
    """
    check_order(order)
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
        payload = build_request(order, number, mapped).to_payload()
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
            "next_attempt_at": utc_now(clock),
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
    clock: Clock = SYSTEM,
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
            changes["payload"] = build_request(
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
        next_attempt_at=utc_now(clock),
        **changes,
    )
    if not requeued:
        raise Conflict(f"Only a failed submission can be retried; this one is {row.status.value}.")
    if on_queued is not None:
        on_queued()
    await row.refresh_from_db()
    return row
