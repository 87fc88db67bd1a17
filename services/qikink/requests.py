"""A Qikink order as this service sends it: a typed, validated request and Qikink's JSON.

A `QikinkOrderRequest` is checked against what Qikink accepts before any call is made (so a bad
order costs no rate budget and fails naming the field, by its path in the request, such as
`("line_items", 0, "sku")`), then turned into
Qikink's exact create-order body: `"1"`/`"0"` flags, `"Prepaid"`/`"COD"`, rupee amounts as
strings, and every address key present (a missing key crashes Qikink's server).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from services.shared.errors import InvalidInput, within

if TYPE_CHECKING:
    from services.shared.errors import FieldPath

__all__ = [
    "MAX_PAGE_NO",
    "ORDER_NUMBER_MAX_LENGTH",
    "PaymentGateway",
    "QikinkAddOns",
    "QikinkAddress",
    "QikinkDesign",
    "QikinkLineItem",
    "QikinkOrderRequest",
    "check_date",
    "check_order_number",
]

ORDER_NUMBER_MAX_LENGTH = 15
SKU_MAX_LENGTH = 50
ADDRESS1_MAX_LENGTH = 90
MAX_PAGE_NO = 10_000
_ORDER_NUMBER = re.compile(r"^[A-Za-z0-9]{1,15}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CENTS = Decimal("0.01")


class PaymentGateway(StrEnum):
    PREPAID = "Prepaid"
    COD = "COD"


def check_order_number(value: str, *, field: str | FieldPath = "order_number") -> str:
    if not _ORDER_NUMBER.match(value):
        raise InvalidInput(
            "Qikink order numbers are 1-15 letters and digits (no spaces, hyphens or underscores).",
            field=field,
        )
    return value


def check_date(value: str | None, *, field: str | FieldPath, label: str) -> str | None:
    if value is None:
        return None
    try:
        if not _DATE.match(value):
            raise ValueError
        date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{label} must be a date as YYYY-MM-DD.", field=field) from None
    return value


def _money(value: Decimal, *, field: str | FieldPath, label: str) -> str:
    try:
        if not value.is_finite() or value < 0:
            raise InvalidOperation
        return str(value.quantize(_CENTS))
    except InvalidOperation:
        raise InvalidInput(f"{label} must be an amount of 0 or more.", field=field) from None


def _text(
    value: str | None, *, field: FieldPath, label: str, required: bool, max_length: int = 255
) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"{label} is required.", field=field)
    if len(text) > max_length:
        raise InvalidInput(f"{label} must be at most {max_length} characters.", field=field)
    return text


@dataclass(frozen=True, slots=True)
class QikinkAddress:
    first_name: str
    last_name: str
    address1: str
    address2: str
    phone: str
    email: str
    city: str
    zip: str
    province: str
    country_code: str

    def to_payload(self) -> dict[str, str]:
        """Qikink's JSON; a bad value raises `InvalidInput` with its path in the address."""

        def text(name: str, label: str, *, required: bool, max_length: int = 255) -> str:
            value = getattr(self, name)
            return _text(
                value,
                field=(name,),
                label=f"The shipping address's {label}",
                required=required,
                max_length=max_length,
            )

        email = text("email", "email", required=True)
        if not _EMAIL.match(email):
            raise InvalidInput(
                f"The shipping address's email {email!r} is not an email address.",
                field=("email",),
            )
        country = text("country_code", "country code", required=True).upper()
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise InvalidInput(
                "The shipping address's country code must have two letters, such as IN.",
                field=("country_code",),
            )
        # Every key, always: Qikink's server fails with a PHP error page when one is missing.
        return {
            "first_name": text("first_name", "first name", required=True),
            "last_name": text("last_name", "last name", required=False),
            "address1": text(
                "address1", "first line", required=True, max_length=ADDRESS1_MAX_LENGTH
            ),
            "address2": text("address2", "second line", required=False),
            "phone": text("phone", "phone number", required=True, max_length=20),
            "email": email,
            "city": text("city", "city", required=True),
            "zip": text("zip", "PIN code", required=True, max_length=10),
            "province": text("province", "state", required=True),
            "country_code": country,
        }


@dataclass(frozen=True, slots=True)
class QikinkDesign:
    design_code: str
    width_inches: Decimal
    height_inches: Decimal
    placement_sku: str
    design_link: str
    mockup_link: str

    def to_payload(self, here: FieldPath, name: str) -> dict[str, str]:
        """Qikink's JSON for the design at `here` (its path), called `name` in messages."""
        for size in ("width_inches", "height_inches"):
            value: Decimal = getattr(self, size)
            if not value.is_finite() or value <= 0:
                raise InvalidInput(
                    f"{name}: the width and height must be more than 0 inches.",
                    field=(*here, size),
                )

        def text(field: str, label: str, *, required: bool, max_length: int = 255) -> str:
            return _text(
                getattr(self, field),
                field=(*here, field),
                label=f"{name}: the {label}",
                required=required,
                max_length=max_length,
            )

        return {
            "design_code": text("design_code", "design code", required=True),
            "width_inches": str(self.width_inches),
            "height_inches": str(self.height_inches),
            "placement_sku": text("placement_sku", "placement", required=True),
            "design_link": text("design_link", "design link", required=True, max_length=2048),
            "mockup_link": text("mockup_link", "mockup link", required=False, max_length=2048),
        }


@dataclass(frozen=True, slots=True)
class QikinkLineItem:
    sku: str
    quantity: int
    price: Decimal
    search_from_my_products: bool = True
    print_type_id: int | None = None
    designs: list[QikinkDesign] | None = None

    def to_payload(self, index: int) -> dict[str, Any]:
        """Qikink's JSON for the line at `index` of its order (paths start `line_items`)."""
        here = ("line_items", index)
        line = f"Line item {index + 1}"
        sku = _text(
            self.sku,
            field=(*here, "sku"),
            label=f"{line}: the SKU",
            required=True,
            max_length=SKU_MAX_LENGTH,
        )
        if not 1 <= self.quantity <= 10_000:
            raise InvalidInput(
                f"{line}: the quantity must be 1 or more.", field=(*here, "quantity")
            )
        item: dict[str, Any] = {
            "search_from_my_products": 1 if self.search_from_my_products else 0,
            "sku": sku,
            "quantity": self.quantity,
            "price": _money(self.price, field=(*here, "price"), label=f"{line}: the price"),
        }
        if self.search_from_my_products:
            # Qikink refuses print details for a product from "My Products".
            if self.print_type_id is not None or self.designs:
                raise InvalidInput(
                    f"{line} is a product from your Qikink My Products, which takes no print "
                    "type or designs.",
                    field=(*here, "designs"),
                )
            return item
        if self.print_type_id is None or not self.designs:
            raise InvalidInput(
                f"{line} is a blank product (not from My Products): it needs a print type and "
                "at least one design.",
                field=(*here, "designs"),
            )
        item["print_type_id"] = self.print_type_id
        item["designs"] = [
            design.to_payload((*here, "designs", number), f"{line}, design {number + 1}")
            for number, design in enumerate(self.designs)
        ]
        return item


@dataclass(frozen=True, slots=True)
class QikinkAddOns:
    box_packing: bool = False
    gift_wrap: bool = False
    rush_order: bool = False
    custom_letter: bool = False


@dataclass(frozen=True, slots=True)
class QikinkOrderRequest:
    """Qikink's create-order body, typed."""

    order_number: str
    gateway: PaymentGateway
    total_order_value: Decimal
    line_items: list[QikinkLineItem]
    shipping_address: QikinkAddress
    qikink_shipping: bool = True
    add_ons: QikinkAddOns | None = None

    def to_payload(self) -> dict[str, Any]:
        """Qikink's JSON for this order; raises `InvalidInput` naming the first bad field."""
        check_order_number(self.order_number)
        if not self.line_items:
            raise InvalidInput("An order needs at least one line item.", field="line_items")
        total = _money(
            self.total_order_value, field="total_order_value", label="The total order value"
        )
        line_items = [item.to_payload(index) for index, item in enumerate(self.line_items)]
        with within("shipping_address"):
            address = self.shipping_address.to_payload()
        payload: dict[str, Any] = {
            "order_number": self.order_number,
            "qikink_shipping": "1" if self.qikink_shipping else "0",
            "gateway": self.gateway.value,
            "total_order_value": total,
            "line_items": line_items,
            "shipping_address": address,
        }
        if self.add_ons is not None:
            payload["add_ons"] = [
                {
                    "box_packing": int(self.add_ons.box_packing),
                    "gift_wrap": int(self.add_ons.gift_wrap),
                    "rush_order": int(self.add_ons.rush_order),
                    "custom_letter": int(self.add_ons.custom_letter),
                }
            ]
        return payload
