"""Qikink's statuses as ours, and one Qikink order's news written to its mapping.

Qikink's own statuses are a firm list; courier states arrive in unknown casing, so they are
compared case-insensitively and anything unknown means "still in progress". Final statuses
are never left.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from models import FINAL_STATUSES, OrderMapping, OrderMappingStatus
from services.qikink import QikinkOrderView

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["apply_qikink_order", "map_status"]

_SUBMITTED = {"on hold", "live oos", "action required"}
_IN_PRODUCTION = {"live", "to be printed", "partially picklisted", "printed"}
_SHIPPED = {
    "manifested",
    "in-transit",
    "in transit",
    "exception",
    "rto initiated",
    "picked up",
    "shipped",
    "dispatched",
    "out for delivery",
    "delivery rescheduled",
}
_FINAL = {
    "delivered": OrderMappingStatus.COMPLETED,
    "archived": OrderMappingStatus.COMPLETED,
    "cancelled": OrderMappingStatus.CANCELED,
    "canceled": OrderMappingStatus.CANCELED,
    "lost": OrderMappingStatus.CANCELED,
    "returned": OrderMappingStatus.RETURNED,
    "partially returned": OrderMappingStatus.RETURNED,
    "rto delivered": OrderMappingStatus.RETURNED,
}


def map_status(qikink_status: str | None) -> OrderMappingStatus | None:
    """Our status for Qikink's text, compared case-insensitively; None when unknown."""
    text = " ".join((qikink_status or "").lower().split())
    if text in _FINAL:
        return _FINAL[text]
    if text in _SUBMITTED:
        return OrderMappingStatus.SUBMITTED
    if text in _IN_PRODUCTION:
        return OrderMappingStatus.IN_PRODUCTION
    if text in _SHIPPED:
        return OrderMappingStatus.SHIPPED
    return None


async def apply_qikink_order(row: OrderMapping, order: dict[str, Any], now: datetime) -> bool:
    """Store what Qikink says of `row`'s order; True when anything a person sees changed."""
    view = QikinkOrderView.from_qikink(order)
    changes: dict[str, Any] = {}
    if view.status and view.status != row.qikink_status:
        changes["qikink_status"] = view.status
    mapped = map_status(view.status)
    # Unknown statuses (new courier states) are "still in progress": keep ours.
    if mapped is not None and row.status not in FINAL_STATUSES and mapped != row.status:
        changes["status"] = mapped
    for field, value in (
        ("tracking_number", view.shipping.awb),
        ("courier", view.shipping.courier_provider_name),
        ("tracking_url", view.shipping.tracking_link),
    ):
        if value is not None and value != getattr(row, field):
            changes[field] = value
    if changes:
        # What the store's order shows may have to follow (services.medusa_sync).
        changes["medusa_sync_due_at"] = now
    await OrderMapping.filter(id=row.id).update(last_synced_at=now, **changes)
    # `row` says what was stored, for whoever reports the refresh.
    row.update_from_dict({"last_synced_at": now, **changes})
    return bool(changes)
