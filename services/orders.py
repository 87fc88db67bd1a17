"""Placed store orders become exactly one Qikink order each: the outbox.

`submit_store_order` writes the order mapping, with the exact Qikink payload, before Qikink is
ever called; the same store order submitted again (even concurrently) finds that row, because
the store order id is unique in the database, and is answered with it when it would make the
same Qikink order, or refused (`Conflict`) when its items, address or payment differ: Qikink
may have the first one already, so the mapping never changes under it. `services.worker`
sends it; a refused one is put back by `retry_order_submission`; `cancel_store_order` stops
one the store canceled.

Cancelling races the worker that may be sending the order at that moment, and the database
decides: the cancel first sets `cancel_requested`, and a worker's last step before it sends is
a conditional UPDATE that requires the flag unset. Either the worker got there first (the order
is sent, and shows "cancel it on Qikink's dashboard") or it did not (never sent, CANCELED).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError

from models import FINAL_STATUSES, OrderMapping, OrderMappingStatus, ProductMapping, SubmitState
from models.order_mapping import DISPLAY_ID_MAX_LENGTH
from services.clock import SYSTEM, Clock, utc_now
from services.errors import Conflict, InvalidInput, NotFound
from services.install_secret import install_secret
from services.order_mappings import get_order_mapping
from services.store_orders import (
    StoreOrder,
    check_order,
    order_number_for,
    payload_differences,
    store_payload,
)
from services.validation import check_id

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = [
    "NEVER_SENT",
    "CancelOutcome",
    "SubmitResult",
    "cancel_store_order",
    "printed_items",
    "retry_order_submission",
    "submit_store_order",
]

# What a mapping canceled before Qikink had it says, for the merchant.
NEVER_SENT = "Canceled in the store before it was sent to Qikink: it will not be sent."


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
    mapped = await _mapped(order)
    if existing is not None:
        return _again(existing, order, mapped)
    if not mapped:
        return SubmitResult(
            mapping=None,
            skipped=True,
            reason="None of the order's items is mapped to a Qikink SKU.",
        )
    number = order_number_for(order, prefix, await install_secret())
    fields: dict[str, Any] = {"printed_items": printed_items(order, mapped)}
    try:
        payload = store_payload(order, number, mapped)
    except InvalidInput as exc:
        if not keep_invalid:
            raise
        fields |= {
            "payload": None,
            "status": OrderMappingStatus.FAILED,
            "submit_state": SubmitState.FAILED,
            "last_error": f"Not sent to Qikink: {exc.message}",
        }
    else:
        fields |= {
            "payload": payload,
            "status": OrderMappingStatus.PENDING,
            "submit_state": SubmitState.QUEUED,
            "next_attempt_at": utc_now(clock),
        }
    try:
        row = await OrderMapping.create(
            medusa_order_id=order.id,
            qikink_order_number=number,
            medusa_display_id=_display_id(order),
            customer_id=order.customer_id,
            email=order.email.strip() or None,
            **fields,
        )
    except IntegrityError:
        # The database decided: a concurrent submission of the same order won the insert.
        existing = await OrderMapping.get_or_none(medusa_order_id=order.id)
        if existing is not None:
            return _again(existing, order, mapped)
        raise Conflict(
            f"Qikink order number {number} is already used by another store order; set "
            "QIKINK_ORDER_NUMBER_PREFIX to tell this store's orders apart."
        ) from None
    if on_queued is not None and row.submit_state is SubmitState.QUEUED:
        on_queued()
    return SubmitResult(mapping=row, skipped=False)


def _display_id(order: StoreOrder) -> str | None:
    """The store's short order number, kept for the merchant to search by; one too long to be
    a display id is not kept (the order is sent all the same)."""
    display = (order.display_id or "").strip()
    return display if display and len(display) <= DISPLAY_ID_MAX_LENGTH else None


async def _mapped(order: StoreOrder) -> dict[str, str]:
    """The Qikink SKU of each of the order's variants that has one."""
    variant_ids = {item.variant_id for item in order.items}
    return dict(
        await ProductMapping.filter(variant_id__in=variant_ids).values_list(
            "variant_id", "qikink_sku_id"
        )
    )


def _again(row: OrderMapping, order: StoreOrder, mapped: dict[str, str]) -> SubmitResult:
    """A store order submitted before: its mapping, unless it now makes another Qikink order."""
    if row.payload is None:
        # Recorded unsendable (its address): a retry rebuilds it from the store, not this.
        return SubmitResult(mapping=row, skipped=False)
    if mapped:
        payload = store_payload(order, row.payload["order_number"], mapped)
        differ = payload_differences(row.payload, payload)
    else:
        differ = ["items"]
    if differ:
        raise Conflict(
            f"Store order {order.id} was submitted before with different "
            f"{', '.join(differ)}. Its mapping is unchanged, since Qikink may have the order "
            "already: change the order on Qikink's dashboard, or cancel it there and place "
            "the changed order as a new store order.",
            mapping_id=row.id,
        )
    return SubmitResult(mapping=row, skipped=False)


def printed_items(order: StoreOrder, mapped: dict[str, str]) -> list[dict[str, Any]]:
    """The store's variants Qikink prints for `order`, with their quantities: what a
    fulfillment written back to the store holds."""
    quantities: dict[str, int] = {}
    for item in order.items:
        if item.variant_id in mapped:
            quantities[item.variant_id] = quantities.get(item.variant_id, 0) + item.quantity
    return [{"variant_id": variant, "quantity": count} for variant, count in quantities.items()]


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
        mapped = await _mapped(order)
        if not mapped:
            raise Conflict("None of the order's items is mapped to a Qikink SKU any more.")
        try:
            number = row.qikink_order_number or order_number_for(
                order, prefix, await install_secret(), row.number_generation
            )
            changes["payload"] = store_payload(order, number, mapped)
        except InvalidInput as exc:
            await OrderMapping.filter(id=row.id).update(
                last_error=f"Not sent to Qikink: {exc.message}"
            )
            # About the store's order, not a value the caller sent: no field to point at.
            raise InvalidInput(exc.message) from None
    if row.cancel_requested:
        raise Conflict("This order was canceled in the store; it is not sent to Qikink.")
    requeued = await OrderMapping.filter(
        id=row.id, submit_state=SubmitState.FAILED, cancel_requested=False
    ).update(
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


class CancelOutcome(StrEnum):
    """What canceling a store order did."""

    NOT_OURS = "not_ours"  # no mapping: none of its items is printed by Qikink
    NEVER_SENT = "never_sent"  # Qikink never had it, and never will
    CANCEL_ON_QIKINK = "cancel_on_qikink"  # Qikink has it: cancel it on Qikink's dashboard
    DECIDING = "deciding"  # a worker is sending it or looking it up right now
    ALREADY_FINAL = "already_final"  # delivered, returned or canceled already


async def cancel_store_order(order_id: str) -> tuple[CancelOutcome, OrderMapping | None]:
    """The store canceled `order_id`: make sure Qikink never gets it, or say it has it."""
    row = await OrderMapping.get_or_none(
        medusa_order_id=check_id(order_id, field="order_id", label="The order id")
    )
    if row is None:
        return CancelOutcome.NOT_OURS, None
    await OrderMapping.filter(id=row.id).update(cancel_requested=True)
    # Not claimed by a worker (queued, or refused): it stops here. A claimed one is decided by
    # the worker's own conditional UPDATE; one whose create may have reached Qikink (unknown)
    # is looked up by the worker first.
    await (
        OrderMapping.filter(id=row.id, submit_state__in=[SubmitState.QUEUED, SubmitState.FAILED])
        .exclude(status__in=list(FINAL_STATUSES - {OrderMappingStatus.FAILED}))
        .update(
            status=OrderMappingStatus.CANCELED,
            submit_state=SubmitState.FAILED,
            next_attempt_at=None,
            last_error=NEVER_SENT,
        )
    )
    await row.refresh_from_db()
    return cancel_outcome(row), row


def cancel_outcome(row: OrderMapping) -> CancelOutcome:
    if row.submit_state is SubmitState.DONE:
        if row.status in FINAL_STATUSES:
            return CancelOutcome.ALREADY_FINAL
        return CancelOutcome.CANCEL_ON_QIKINK
    if row.status is OrderMappingStatus.CANCELED:
        return CancelOutcome.NEVER_SENT
    return CancelOutcome.DECIDING
