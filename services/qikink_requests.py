"""A Qikink order as this service sends it: a typed, validated request and Qikink's JSON.

A `QikinkOrderRequest` is checked against what Qikink accepts before any call is made (so a bad
order costs no rate budget and fails with a message naming the field), then turned into
Qikink's exact create-order body: `"1"`/`"0"` flags, `"Prepaid"`/`"COD"`, rupee amounts as
strings, and every address key present (a missing key crashes Qikink's server).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from services.errors import InvalidInput

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


def check_order_number(value: str, *, field: str = "orderNumber") -> str:
    if not _ORDER_NUMBER.match(value):
        raise InvalidInput(
            "Qikink order numbers are 1-15 letters and digits (no spaces, hyphens or underscores).",
            field=field,
        )
    return value


def check_date(value: str | None, *, field: str) -> str | None:
    if value is None:
        return None
    try:
        if not _DATE.match(value):
            raise ValueError
        date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field} must be a date as YYYY-MM-DD.", field=field) from None
    return value


def _money(value: Decimal, *, field: str) -> str:
    try:
        if not value.is_finite() or value < 0:
            raise InvalidOperation
        return str(value.quantize(_CENTS))
    except InvalidOperation:
        raise InvalidInput(f"{field} must be an amount of 0 or more.", field=field) from None


def _text(value: str | None, *, field: str, required: bool, max_length: int = 255) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"{field} is required.", field=field)
    if len(text) > max_length:
        raise InvalidInput(f"{field} must be at most {max_length} characters.", field=field)
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

    def to_payload(self, prefix: str = "shippingAddress") -> dict[str, str]:
        def f(name: str) -> str:
            return f"{prefix}.{name}"

        email = _text(self.email, field=f("email"), required=True)
        if not _EMAIL.match(email):
            raise InvalidInput(f"{f('email')} must be an email address.", field=f("email"))
        country = _text(self.country_code, field=f("countryCode"), required=True).upper()
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise InvalidInput(
                f"{f('countryCode')} must be a two-letter country code such as IN.",
                field=f("countryCode"),
            )
        # Every key, always: Qikink's server fails with a PHP error page when one is missing.
        return {
            "first_name": _text(self.first_name, field=f("firstName"), required=True),
            "last_name": _text(self.last_name, field=f("lastName"), required=False),
            "address1": _text(
                self.address1,
                field=f("address1"),
                required=True,
                max_length=ADDRESS1_MAX_LENGTH,
            ),
            "address2": _text(self.address2, field=f("address2"), required=False),
            "phone": _text(self.phone, field=f("phone"), required=True, max_length=20),
            "email": email,
            "city": _text(self.city, field=f("city"), required=True),
            "zip": _text(self.zip, field=f("zip"), required=True, max_length=10),
            "province": _text(self.province, field=f("province"), required=True),
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


@dataclass(frozen=True, slots=True)
class QikinkLineItem:
    sku: str
    quantity: int
    price: Decimal
    search_from_my_products: bool = True
    print_type_id: int | None = None
    designs: list[QikinkDesign] | None = None

    def to_payload(self, prefix: str) -> dict[str, Any]:
        sku = _text(self.sku, field=f"{prefix}.sku", required=True, max_length=SKU_MAX_LENGTH)
        if not 1 <= self.quantity <= 10_000:
            raise InvalidInput(f"{prefix}.quantity must be 1 or more.", field=f"{prefix}.quantity")
        item: dict[str, Any] = {
            "search_from_my_products": 1 if self.search_from_my_products else 0,
            "sku": sku,
            "quantity": self.quantity,
            "price": _money(self.price, field=f"{prefix}.price"),
        }
        if self.search_from_my_products:
            # Qikink refuses print details for a product from "My Products".
            if self.print_type_id is not None or self.designs:
                raise InvalidInput(
                    f"{prefix}: printTypeId and designs are only for searchFromMyProducts: false.",
                    field=f"{prefix}.designs",
                )
            return item
        if self.print_type_id is None or not self.designs:
            raise InvalidInput(
                f"{prefix}: a blank product (searchFromMyProducts: false) needs printTypeId "
                "and at least one design.",
                field=f"{prefix}.designs",
            )
        for design in self.designs:
            for size in (design.width_inches, design.height_inches):
                if not size.is_finite() or size <= 0:
                    raise InvalidInput(
                        f"{prefix}.designs: widthInches and heightInches must be more than 0.",
                        field=f"{prefix}.designs",
                    )
        item["print_type_id"] = self.print_type_id
        item["designs"] = [
            {
                "design_code": _text(
                    d.design_code, field=f"{prefix}.designs.designCode", required=True
                ),
                "width_inches": str(d.width_inches),
                "height_inches": str(d.height_inches),
                "placement_sku": _text(
                    d.placement_sku, field=f"{prefix}.designs.placementSku", required=True
                ),
                "design_link": _text(
                    d.design_link,
                    field=f"{prefix}.designs.designLink",
                    required=True,
                    max_length=2048,
                ),
                "mockup_link": _text(
                    d.mockup_link,
                    field=f"{prefix}.designs.mockupLink",
                    required=False,
                    max_length=2048,
                ),
            }
            for d in self.designs
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
            raise InvalidInput("An order needs at least one line item.", field="lineItems")
        payload: dict[str, Any] = {
            "order_number": self.order_number,
            "qikink_shipping": "1" if self.qikink_shipping else "0",
            "gateway": self.gateway.value,
            "total_order_value": _money(self.total_order_value, field="totalOrderValue"),
            "line_items": [
                item.to_payload(f"lineItems.{index}") for index, item in enumerate(self.line_items)
            ],
            "shipping_address": self.shipping_address.to_payload(),
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
