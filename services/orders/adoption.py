"""Is the order Qikink holds under our order number the one we sent? Asked before adopting it.

The worker adopts the order it finds under a mapping's number when Qikink answers
`Duplicate Order.` or a create's outcome is unknown. Anyone who can create orders in the same
Qikink account (the storefront proxy, Qikink's dashboard) could have taken that number first,
with the customer's name, zip and items but another street, phone or email, cash on delivery,
add-ons or other designs: adopting their order would leave the customer's order never made
while the mapping says SUBMITTED. So everything Qikink echoes back of the stored payload is
compared, read as Qikink prints it ("1", "549.00", " ASHA "): the items, the total, every
address field, the payment type, the shipping choice, the add-ons, and each line's print type
and designs. A field we sent that the reply does not carry cannot be compared, and counts as
a difference: an order is adopted only when it is shown to be ours.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from contextlib import aclosing
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from models import OrderMappingStatus, SubmitState
from services.orders.store import next_order_number
from services.qikink.proxy import QikinkOrderView, order_number_of, walk_pages
from services.shared.metrics import ADOPTION_MISMATCHES

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from models import OrderMapping
    from services.qikink.client import QikinkClient

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
    sent_items = payload.get("line_items")
    sent_items = sent_items if isinstance(sent_items, list) else []
    address = payload.get("shipping_address")
    address = address if isinstance(address, dict) else {}
    shipping = found.get("shipping")
    shipping = shipping if isinstance(shipping, dict) else {}
    differ = []
    held = Counter((_sku(i.sku), _number(i.quantity), _number(i.price)) for i in order.line_items)
    sent = Counter(
        (_sku(i.get("sku")), _number(i.get("quantity")), _number(i.get("price")))
        for i in sent_items
        if isinstance(i, dict)
    )
    if not sent or held != sent:
        differ.append("items")
    else:
        differ += _line_details(found, sent_items)
    total = _number(order.total_order_value)
    if total is None or total != _number(payload.get("total_order_value")):
        differ.append("total")
    name = (_name(order.shipping.first_name), _name(order.shipping.last_name))
    if name != (_name(address.get("first_name")), _name(address.get("last_name"))):
        differ.append("shipping name")
    if not _zip(order.shipping.zip) or _zip(order.shipping.zip) != _zip(address.get("zip")):
        differ.append("shipping zip")
    for label, keys, read in _ADDRESS:
        if any(_echoed(shipping, address, key, read) is _DIFFERENT for key in keys):
            differ.append(label)
    if _echoed(found, payload, "gateway", _name, echo_key="payment_type") is _DIFFERENT:
        differ.append("payment type")
    if _shipping_choice(found, payload) is _DIFFERENT:
        differ.append("shipping choice")
    if _add_ons_differ(found, payload):
        differ.append("add-ons")
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


# What an echoed field is when it cannot be compared: equal to nothing we sent.
_DIFFERENT = object()


def _phone(value: Any) -> str:
    """A phone's digits, without the country code or trunk 0 Qikink might add."""
    digits = re.sub(r"\D", "", str(value or ""))
    if len(digits) > 10 and digits.startswith(("91", "0")):
        digits = digits[-10:]
    return digits


def _code(value: Any) -> str:
    return str(value or "").strip().upper()


# The address fields compared beyond the name and zip, by the label a merchant reads.
_ADDRESS: tuple[tuple[str, tuple[str, ...], Callable[[Any], str]], ...] = (
    ("shipping street", ("address1", "address2"), _name),
    ("shipping city", ("city",), _name),
    ("shipping state", ("province",), _name),
    ("shipping country", ("country_code",), _code),
    ("shipping phone", ("phone",), _phone),
    ("shipping email", ("email",), _name),
)


def _echoed(
    echo: dict[str, Any],
    sent: dict[str, Any],
    key: str,
    read: Callable[[Any], Any],
    *,
    echo_key: str | None = None,
) -> object:
    """None when Qikink's `echo` carries what we `sent` under `key` (read alike), else
    _DIFFERENT: a field we sent that the echo lacks cannot be compared, and one we did not
    send must come back empty."""
    echo_key = echo_key or key
    if key in sent:
        if echo_key not in echo or read(echo[echo_key]) != read(sent[key]):
            return _DIFFERENT
        return None
    return _DIFFERENT if read(echo.get(echo_key)) else None


def _flag(value: Any) -> int | None:
    text = str(value).strip() if isinstance(value, (int, str)) else ""
    return int(text) if text in ("0", "1") else None


def _shipping_choice(found: dict[str, Any], payload: dict[str, Any]) -> object:
    """Who ships: our `qikink_shipping` ("1" Qikink, "0" ourselves, "1" when not sent) against
    the echo's `qikink_shipping`, or its `shipping_type` text ("Qikink Shipping", "Self ...")."""
    told: int | None = None
    if "qikink_shipping" in found:
        told = _flag(found["qikink_shipping"])
    elif found.get("shipping_type") is not None:
        text = str(found["shipping_type"]).casefold()
        told = 0 if "self" in text else 1 if "qikink" in text else None
    if "qikink_shipping" not in payload:
        return _DIFFERENT if told == 0 else None
    if told is None or told != _flag(payload["qikink_shipping"]):
        return _DIFFERENT
    return None


def _add_on_names(value: Any) -> frozenset[str] | object:
    """The add-ons asked for: `[{"gift_wrap": 1, ...}]` (or a list of names); none is empty."""
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        return _DIFFERENT
    names: set[str] = set()
    for entry in value:
        if isinstance(entry, str):
            names.add(entry.strip().casefold())
        elif isinstance(entry, dict):
            for name, on in entry.items():
                flag = _flag(on) if not isinstance(on, bool) else int(on)
                if flag is None:
                    return _DIFFERENT
                if flag:
                    names.add(str(name).strip().casefold())
        else:
            return _DIFFERENT
    return frozenset(names)


def _add_ons_differ(found: dict[str, Any], payload: dict[str, Any]) -> bool:
    sent = _add_on_names(payload.get("add_ons"))
    if "add_ons" not in found:
        # Nothing echoed: the same only when we asked for none.
        return sent != frozenset()
    held = _add_on_names(found["add_ons"])
    return held is _DIFFERENT or held != sent


def _design(design: Any) -> tuple[Any, ...] | object:
    if not isinstance(design, dict):
        return _DIFFERENT
    return (
        _name(design.get("design_code")),
        _number(design.get("width_inches")),
        _number(design.get("height_inches")),
        _name(design.get("placement_sku")),
        # Links name files: their case matters.
        str(design.get("design_link") or "").strip(),
        str(design.get("mockup_link") or "").strip(),
    )


def _designs(item: dict[str, Any], *, sent: dict[str, Any] | None) -> object:
    """A line's designs, comparable. For an echoed line, `sent` is the line we sent with the
    same SKU, quantity and price: an echo without the designs we sent cannot be compared."""
    if "designs" not in item:
        return _DIFFERENT if sent is not None and sent.get("designs") else ()
    designs = item["designs"]
    if designs is None:
        return ()
    if not isinstance(designs, list):
        return _DIFFERENT
    read = [_design(design) for design in designs]
    if any(design is _DIFFERENT for design in read):
        return _DIFFERENT
    return tuple(sorted(read, key=repr))


def _print_type(item: dict[str, Any], *, sent: dict[str, Any] | None) -> object:
    """A line's print type (1 and "1" alike); for an echoed line, as `_designs` says."""
    if "print_type_id" not in item:
        if sent is not None and sent.get("print_type_id") not in (None, ""):
            return _DIFFERENT
        return None
    value = item["print_type_id"]
    if value in (None, ""):
        return None
    number = _number(value)
    return number if number is not None else _name(value)


def _line_details(found: dict[str, Any], sent_items: list[Any]) -> list[str]:
    """The print type and designs of lines whose SKU, quantity and price already match."""
    echoed = found.get("line_items")
    echoed = echoed if isinstance(echoed, list) else []
    ours = [item for item in sent_items if isinstance(item, dict)]
    theirs = [item for item in echoed if isinstance(item, dict)]

    def key(item: dict[str, Any]) -> tuple[Any, ...]:
        return (_sku(item.get("sku")), _number(item.get("quantity")), _number(item.get("price")))

    # What we sent of each line, for the echo of the same line (same SKU, quantity, price).
    sent_for = {key(item): item for item in ours}
    differ = []
    for label, read in (("print type", _print_type), ("designs", _designs)):
        held = Counter((key(i), read(i, sent=sent_for.get(key(i)))) for i in theirs)
        sent = Counter((key(i), read(i, sent=None)) for i in ours)
        if held != sent or any(value is _DIFFERENT for _, value in sent):
            differ.append(label)
    return differ
