"""A placed store order as this service takes it from any store, and the Qikink order made of it.

Only the items whose variant is mapped to a Qikink SKU are sent; the Qikink order number is
derived from the store order, the same every time; an Indian address is made the way Qikink
wants it (the state's name, a 10-digit phone).
"""

from __future__ import annotations

import hashlib
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
    "StoreAddress",
    "StoreItem",
    "StoreOrder",
    "build_request",
    "check_order",
    "order_number_for",
]


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


def order_number_for(order: StoreOrder, prefix: str) -> str:
    """The Qikink order number of a store order: the same every time it is asked.

    `<prefix><displayId>` when that fits in 15 letters and digits, else `<prefix>` and a hash
    of the store order id (Medusa ids are 30+ characters).
    """
    display = re.sub(r"[^A-Za-z0-9]", "", order.display_id or "")
    if display and len(prefix) + len(display) <= ORDER_NUMBER_MAX_LENGTH:
        return f"{prefix}{display}"
    digest = int.from_bytes(hashlib.sha256(order.id.encode()).digest(), "big")
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    chars = []
    for _ in range(ORDER_NUMBER_MAX_LENGTH - len(prefix)):
        digest, index = divmod(digest, 36)
        chars.append(alphabet[index])
    return prefix + "".join(chars)


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
