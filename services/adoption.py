"""Is the order Qikink holds under our order number the one we sent? Asked before adopting it.

The worker adopts the order it finds under a mapping's number when Qikink answers
`Duplicate Order.` or a create's outcome is unknown. Anyone who can create orders in the same
Qikink account (the storefront proxy, Qikink's dashboard) could have taken that number first:
adopting their order would leave the customer's order never made while the mapping says
SUBMITTED. So the found order must carry the stored payload's items, total, and shipping name
and zip, read as Qikink prints them ("1", "549.00"); anything else is not ours.
"""

from __future__ import annotations

import logging
from collections import Counter
from contextlib import aclosing
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from models import OrderMappingStatus, SubmitState
from services.metrics import ADOPTION_MISMATCHES
from services.qikink import QikinkOrderView, order_number_of, walk_pages
from services.store_orders import next_order_number

if TYPE_CHECKING:
    from datetime import datetime

    from models import OrderMapping
    from services.qikink_client import QikinkClient

__all__ = [
    "alert_not_adopted",
    "differences",
    "find_order_by_number",
    "not_adopted",
    "not_adopted_message",
]

logger = logging.getLogger("qikink_graphql.orders")

MAX_LOOKUP_PAGES = 50


async def find_order_by_number(
    client: QikinkClient, order_number: str, *, since: datetime, wait: bool = True
) -> dict[str, Any] | None:
    """Walk Qikink's newest-first pages for `order_number`; Qikink has no lookup by number."""
    pages = walk_pages(client, back_to=since, max_pages=MAX_LOOKUP_PAGES, wait=wait)
    async with aclosing(pages):
        async for orders in pages:
            for order in orders:
                if order_number_of(str(order.get("number") or "")) == order_number:
                    return order
    return None


def differences(found: dict[str, Any], payload: dict[str, Any]) -> list[str]:
    """What differs between Qikink's order `found` and the create `payload` we stored, in a
    merchant's words; empty when it is the order we sent."""
    order = QikinkOrderView.from_qikink(found)
    sent_items = payload.get("line_items") if isinstance(payload.get("line_items"), list) else []
    address = payload.get("shipping_address")
    address = address if isinstance(address, dict) else {}
    differ = []
    held = Counter((_sku(i.sku), _number(i.quantity), _number(i.price)) for i in order.line_items)
    sent = Counter(
        (_sku(i.get("sku")), _number(i.get("quantity")), _number(i.get("price")))
        for i in sent_items
        if isinstance(i, dict)
    )
    if not sent or held != sent:
        differ.append("items")
    total = _number(order.total_order_value)
    if total is None or total != _number(payload.get("total_order_value")):
        differ.append("total")
    name = (_name(order.shipping.first_name), _name(order.shipping.last_name))
    if name != (_name(address.get("first_name")), _name(address.get("last_name"))):
        differ.append("shipping name")
    if not _zip(order.shipping.zip) or _zip(order.shipping.zip) != _zip(address.get("zip")):
        differ.append("shipping zip")
    return differ


def not_adopted_message(number: str, differ: list[str], next_number: str) -> str:
    """What the merchant reads on the mapping (its last error)."""
    return (
        f"Qikink already has an order numbered {number} that is not this one (different "
        f"{_listed(differ)}): it was not adopted, and this order was not sent. Check "
        "Qikink's dashboard for an order you did not place. Retry sends this order under the "
        f"new number {next_number}."
    )


def alert_not_adopted(
    row: OrderMapping, found: dict[str, Any], differ: list[str], *, after: str
) -> None:
    """The log line and the metric an operator alerts on; no customer details in either."""
    ADOPTION_MISMATCHES.labels(after=after).inc()
    logger.error(
        "order %s: Qikink order %s holds its number %s but is not this order (different %s): "
        "not adopted; the mapping is FAILED and its retry sends it under a new number",
        row.medusa_order_id,
        found.get("order_id"),
        row.qikink_order_number,
        ", ".join(differ),
    )


def not_adopted(
    row: OrderMapping, differ: list[str], key: bytes, *, skip: int = 0
) -> dict[str, Any]:
    """The mapping's fields once its number is found taken: FAILED with the reason, and the
    next number (`skip` more on) already in place for the retry, stored before any send."""
    number = candidate = row.qikink_order_number or ""
    generation = row.number_generation
    for _ in range(skip + 1):
        candidate = next_order_number(candidate, row.medusa_order_id, key, generation)
        generation += 1
    return {
        "submit_state": SubmitState.FAILED,
        "status": OrderMappingStatus.FAILED,
        "last_error": not_adopted_message(number, differ, candidate),
        "next_attempt_at": None,
        "qikink_order_number": candidate,
        "number_generation": generation,
        "payload": {**(row.payload or {}), "order_number": candidate},
    }


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _sku(value: Any) -> str:
    return str(value or "").strip()


def _number(value: Any) -> Decimal | None:
    """An amount or a count however Qikink writes it: 1, "1", "549.00", " 549 "."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _name(value: Any) -> str:
    return " ".join(str(value or "").split()).casefold()


def _zip(value: Any) -> str:
    return "".join(str(value or "").split()).upper()
