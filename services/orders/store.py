"""A placed store order as this service takes it from any store, and the Qikink order made of it.

Only the items whose variant is mapped to a Qikink SKU are sent; the Qikink order number is
derived from the store order and a secret of this install, the same every time; an Indian
address is made the way Qikink wants it (the state's name, a 10-digit phone).
"""

from __future__ import annotations

import hmac
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.qikink.india import normalise_phone, state_name
from services.qikink.requests import (
    ORDER_NUMBER_MAX_LENGTH,
    PaymentGateway,
    QikinkAddress,
    QikinkLineItem,
    QikinkOrderRequest,
)
from services.shared.errors import FieldPath, InvalidInput, within
from services.shared.validation import check_id

__all__ = [
    "SUFFIX_LENGTH",
    "StoreAddress",
    "StoreItem",
    "StoreOrder",
    "build_request",
    "check_order",
    "next_order_number",
    "order_number_for",
    "payload_differences",
    "store_payload",
]

# Keyed base-36 characters at the end of every order number: 36**4 (1.7 million) values to
# guess, with Qikink's 30 creates a minute. Unpredictable enough that squatting is no longer
# routine; what makes it harmless is that the worker never adopts an order that differs.
SUFFIX_LENGTH = 4
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


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


def order_number_for(order: StoreOrder, prefix: str, key: bytes, generation: int = 0) -> str:
    """The Qikink order number of a store order: the same every time it is asked.

    `<prefix><displayId><suffix>`, the suffix a short code keyed with this install's secret
    (`key`), so nobody outside can predict the number of the next order and take it first in
    Qikink. When that does not fit in 15 letters and digits: `<prefix>`, a keyed hash of the
    store order id (Medusa ids are 30+ characters), and the suffix. `generation` counts the
    numbers found taken by someone else's order: each gives another number.
    """
    display = re.sub(r"[^A-Za-z0-9]", "", order.display_id or "")
    if display and len(prefix) + len(display) + SUFFIX_LENGTH <= ORDER_NUMBER_MAX_LENGTH:
        stem = f"{prefix}{display}"
    else:
        room = ORDER_NUMBER_MAX_LENGTH - SUFFIX_LENGTH - len(prefix)
        stem = prefix + _keyed(key, f"stem\n{order.id}", room)
    return stem + _suffix(key, order.id, generation)


def next_order_number(number: str, order_id: str, key: bytes, generation: int) -> str:
    """The number after `number` (made at `generation`) for the store order `order_id`, once
    `number` was found taken in Qikink: the same stem, the suffix of `generation + 1`.

    A number made before suffixes existed (`MD1042`) keeps all of itself that fits.
    """
    if len(number) > SUFFIX_LENGTH and number.endswith(_suffix(key, order_id, generation)):
        stem = number[:-SUFFIX_LENGTH]
    else:
        stem = number[: ORDER_NUMBER_MAX_LENGTH - SUFFIX_LENGTH]
    return stem + _suffix(key, order_id, generation + 1)


def _suffix(key: bytes, order_id: str, generation: int) -> str:
    return _keyed(key, f"suffix\n{order_id}\n{generation}", SUFFIX_LENGTH)


def _keyed(key: bytes, message: str, length: int) -> str:
    """`length` base-36 characters of HMAC-SHA256(key, message)."""
    digest = int.from_bytes(hmac.digest(key, message.encode(), "sha256"), "big")
    chars = []
    for _ in range(length):
        digest, index = divmod(digest, 36)
        chars.append(_BASE36[index])
    return "".join(chars)


def build_request(
    order: StoreOrder, order_number: str, mapped: dict[str, str]
) -> QikinkOrderRequest:
    items = [item for item in order.items if item.variant_id in mapped]
    address = order.shipping_address
    province, phone = address.province, address.phone or ""
    if address.country_code.strip().upper() == "IN":
        with within("shipping_address"):
            province, phone = state_name(province), normalise_phone(phone)
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


def store_payload(order: StoreOrder, order_number: str, mapped: dict[str, str]) -> dict[str, Any]:
    """Qikink's JSON for `order`; a value Qikink would refuse raises `InvalidInput` naming it
    in the store order (`("email",)`, `("shipping_address", "postal_code")`)."""
    request = build_request(order, order_number, mapped)
    try:
        return request.to_payload()
    except InvalidInput as exc:
        sent = [index for index, item in enumerate(order.items) if item.variant_id in mapped]
        exc.field = _in_store_order(exc.field or (), sent)
        raise


# The store order's names for what the Qikink request calls otherwise.
_ADDRESS = {"email": ("email",), "zip": ("shipping_address", "postal_code")}
_ITEM = {"sku": "variant_id", "price": "unit_price"}


def _in_store_order(path: FieldPath, sent: list[int]) -> FieldPath:
    """A path in the Qikink request made of a store order, as a path in the store order;
    `sent` holds the store order's index of each line sent."""
    match path:
        case ("shipping_address", str(name), *rest):
            return (*_ADDRESS.get(name, ("shipping_address", name)), *rest)
        case ("line_items", int(line), str(name), *rest):
            return ("items", sent[line], _ITEM.get(name, name), *rest)
        case ("line_items", int(line), *rest):
            return ("items", sent[line], *rest)
        case ("line_items" | "total_order_value", *_):
            return ("items",)
    return ()


def payload_differences(stored: dict[str, Any], payload: dict[str, Any]) -> list[str]:
    """What differs between two Qikink payloads made of a store order (the one recorded and
    one made now), in a merchant's words; empty when Qikink would get the same order.

    Both come from `store_payload`, so they are compared as written (its amounts, trimmed
    text, upper-case codes); the order number is the mapping's, not the order's content.
    """

    def lines(payload: dict[str, Any]) -> Counter[tuple[Any, ...]]:
        return Counter(
            (item.get("sku"), item.get("quantity"), item.get("price"))
            for item in payload.get("line_items") or ()
        )

    differ = []
    if lines(stored) != lines(payload):
        differ.append("items")
    if stored.get("shipping_address") != payload.get("shipping_address"):
        differ.append("shipping address")
    if stored.get("gateway") != payload.get("gateway"):
        differ.append("payment method")
    return differ


def check_order(order: StoreOrder) -> None:
    check_id(order.id, label="The order id")
    if order.customer_id is not None:
        check_id(order.customer_id, field="customer_id", label="The customer id")
    if not order.items:
        raise InvalidInput("The order has no items.", field="items")
    for index, item in enumerate(order.items):
        line = f"Item {index + 1}"
        with within("items", index):
            check_id(item.variant_id, field="variant_id", label=f"{line}: the variant id")
            if not 1 <= item.quantity <= 10_000:
                raise InvalidInput(f"{line}: the quantity must be 1 or more.", field="quantity")
            if not item.unit_price.is_finite() or item.unit_price < 0:
                raise InvalidInput(
                    f"{line}: the price must be an amount of 0 or more.", field="unit_price"
                )
