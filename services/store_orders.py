"""A placed store order as this service takes it from any store, and the Qikink order made of it.

Only the items whose variant is mapped to a Qikink SKU are sent; the Qikink order number is
derived from the store order and a secret of this install, the same every time; an Indian
address is made the way Qikink wants it (the state's name, a 10-digit phone).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from decimal import Decimal

from services.errors import (
    InvalidInput,
)
from services.india import normalise_phone, state_name
from services.qikink_requests import (
    ORDER_NUMBER_MAX_LENGTH,
    PaymentGateway,
    QikinkAddress,
    QikinkLineItem,
    QikinkOrderRequest,
)
from services.validation import check_id

__all__ = [
    "SUFFIX_LENGTH",
    "StoreAddress",
    "StoreItem",
    "StoreOrder",
    "build_request",
    "check_order",
    "next_order_number",
    "order_number_for",
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


def check_order(order: StoreOrder) -> None:
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
