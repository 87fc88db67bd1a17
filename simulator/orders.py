"""How the fake Qikink validates a create-order payload and shapes the stored order.

Pure functions: the simulator owns the state and passes in what they need to know about it.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = [
    "ADDRESS_KEYS",
    "DUPLICATE_ORDER",
    "INVALID_SKU",
    "CreateRefused",
    "ServerCrash",
    "build_order",
    "example_address",
    "example_payload",
    "format_timestamp",
    "money",
    "order_suffix",
    "validate_create",
]

ADDRESS_KEYS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "address1",
    "address2",
    "phone",
    "email",
    "city",
    "zip",
    "province",
    "country_code",
)
# The stored order's `shipping` block echoes every key of the create payload's address, the
# address lines included, then the courier's fields.
_SHIPPING_KEYS: tuple[str, ...] = ADDRESS_KEYS
# Where the example order in qikink-api.md ships: what a seeded order ships to, and a complete
# address for tests and benches to send.
_EXAMPLE_ADDRESS: dict[str, str] = {
    "first_name": "Asha",
    "last_name": "Rao",
    "address1": "12 MG Road",
    "address2": "",
    "phone": "9876543210",
    "email": "asha@example.com",
    "city": "Bengaluru",
    "zip": "560001",
    "province": "Karnataka",
    "country_code": "IN",
}

DUPLICATE_ORDER = "Duplicate Order."
INVALID_SKU = "Invalid SKU"
ORDER_NUMBER_TOO_LONG = "Order no. cannot exceed 15 chars"
ORDER_NUMBER_SPECIAL = "Order No cannot contain special characters"

_ORDER_NUMBER = re.compile(r"[A-Za-z0-9]+")
_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


class CreateRefused(Exception):
    """Qikink refuses the order inside an HTTP 200 body: `{"error": true, "message": ...}`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ServerCrash(Exception):
    """The PHP handler dies (a missing address key): HTTP 500 with an HTML error page."""

    def __init__(self, php_message: str) -> None:
        super().__init__(php_message)
        self.php_message = php_message


def example_address(**changes: str) -> dict[str, str]:
    """A complete create-payload `shipping_address` (Asha Rao, Bengaluru), with `changes`."""
    return {**_EXAMPLE_ADDRESS, **changes}


def example_payload(
    order_number: str,
    sku: str,
    *,
    quantity: int | str = 1,
    price: str = "549.00",
    **changes: Any,
) -> dict[str, Any]:
    """A create payload Qikink accepts: `quantity` of one "My Products" `sku` at `price`,
    prepaid, to the example address; `changes` replace whole fields."""
    payload: dict[str, Any] = {
        "order_number": order_number,
        "qikink_shipping": "1",
        "gateway": "Prepaid",
        "total_order_value": str(Decimal(price) * int(quantity)),
        "line_items": [
            {"search_from_my_products": 1, "sku": sku, "quantity": quantity, "price": price}
        ],
        "shipping_address": example_address(),
    }
    payload.update(changes)
    return payload


def format_timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime(_TIMESTAMP_FORMAT)


def order_suffix(number: str) -> str:
    """The merchant's order_number inside Qikink's `<account>_<order_number>`."""
    return number.split("_", 1)[1] if "_" in number else number


def money(value: object) -> str | None:
    """A non-negative amount as Qikink prints it ("549.00"), or None when it is not one."""
    # bool is an int in Python, but PHP clients never mean `true` as a price.
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return f"{amount.quantize(Decimal('0.01'))}"


def _flag(value: object) -> int | None:
    """PHP compares loosely, so 1, "1", 0 and "0" all count."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and value in (0, 1):
        return value
    if isinstance(value, str) and value in ("0", "1"):
        return int(value)
    return None


def _quantity(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 1:
        return str(value)
    if isinstance(value, str) and value.strip().isdigit() and int(value) >= 1:
        return str(int(value))
    return None


def _order_number(payload: dict[str, Any]) -> str:
    raw = payload.get("order_number")
    # PHP would happily stringify a numeric order number.
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or raw == "":
        raise CreateRefused("Order No is required")
    if len(raw) > 15:
        raise CreateRefused(ORDER_NUMBER_TOO_LONG)
    if not _ORDER_NUMBER.fullmatch(raw):
        raise CreateRefused(ORDER_NUMBER_SPECIAL)
    return raw


def _shipping_address(payload: dict[str, Any]) -> dict[str, Any]:
    address = payload.get("shipping_address")
    if not isinstance(address, dict):
        raise ServerCrash('Undefined array key "shipping_address"')
    for key in ADDRESS_KEYS:
        if key not in address:
            raise ServerCrash(f'Undefined array key "{key}"')
    email = address["email"]
    if not isinstance(email, str) or not email.strip():
        raise CreateRefused("Email is required")
    address1 = address["address1"]
    if not isinstance(address1, str) or not address1.strip():
        raise CreateRefused("Address1 is required")
    if len(address1) > 90:
        raise CreateRefused("Address1 cannot exceed 90 chars")
    return address


def _line_item(item: object, known_skus: set[str] | None) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise CreateRefused("Invalid line items")
    sku = item.get("sku")
    if not isinstance(sku, str) or not 1 <= len(sku) <= 50:
        raise CreateRefused(INVALID_SKU)
    if known_skus is not None and sku not in known_skus:
        raise CreateRefused(INVALID_SKU)
    from_my_products = _flag(item.get("search_from_my_products"))
    if from_my_products is None:
        raise CreateRefused("Invalid search_from_my_products")
    quantity = _quantity(item.get("quantity"))
    if quantity is None:
        raise CreateRefused("Invalid quantity")
    price = money(item.get("price"))
    if price is None:
        raise CreateRefused("Invalid price")
    if from_my_products == 1:
        # The mere presence of the keys is refused, even empty: that is the strict reading of
        # "with 1, print_type_id and designs are rejected", and it keeps clients honest.
        if "print_type_id" in item or "designs" in item:
            raise CreateRefused(
                "print_type_id and designs are not allowed with search_from_my_products 1"
            )
        designs: list[Any] = []
    else:
        if item.get("print_type_id") in (None, ""):
            raise CreateRefused("print_type_id is required")
        raw_designs = item.get("designs")
        if not isinstance(raw_designs, list) or not raw_designs:
            raise CreateRefused("Designs are required")
        if not all(isinstance(design, dict) for design in raw_designs):
            raise CreateRefused("Invalid designs")
        designs = copy.deepcopy(raw_designs)
        # A blank product's print type comes back with it, as sent.
        return {
            "sku": sku,
            "quantity": quantity,
            "price": price,
            "print_type_id": item["print_type_id"],
            "designs": designs,
        }
    return {"sku": sku, "quantity": quantity, "price": price, "designs": designs}


def validate_create(
    payload: object,
    *,
    known_skus: set[str] | None,
    is_duplicate: Callable[[str], bool],
) -> dict[str, Any]:
    """Check a create payload in Qikink's order; return the fields an order is built from.

    Raises CreateRefused (HTTP 200 error body) or ServerCrash (HTTP 500 HTML page).
    """
    if not isinstance(payload, dict):
        raise CreateRefused("Invalid JSON body")
    order_number = _order_number(payload)
    # The duplicate check comes straight after the number so that a client repeating a create
    # whose reply it lost learns "Duplicate Order." whatever else is in the payload.
    if is_duplicate(order_number):
        raise CreateRefused(DUPLICATE_ORDER)
    gateway = payload.get("gateway")
    if gateway not in ("COD", "Prepaid"):
        raise CreateRefused("Invalid gateway")
    qikink_shipping = _flag(payload.get("qikink_shipping", "1"))
    if qikink_shipping is None:
        raise CreateRefused("Invalid qikink_shipping")
    total = money(payload.get("total_order_value"))
    if total is None:
        raise CreateRefused("Invalid total_order_value")
    address = _shipping_address(payload)
    items = payload.get("line_items")
    if not isinstance(items, list) or not items:
        raise CreateRefused("Line items are required")
    line_items = [_line_item(item, known_skus) for item in items]
    add_ons = payload.get("add_ons", [])
    if not isinstance(add_ons, list):
        raise CreateRefused("Invalid add_ons")
    return {
        "order_number": order_number,
        "payment_type": gateway,
        "shipping_type": "Qikink Shipping" if qikink_shipping else "Self Shipping",
        "total_order_value": total,
        "shipping": {key: address[key] for key in _SHIPPING_KEYS},
        "line_items": line_items,
        "add_ons": copy.deepcopy(add_ons),
    }


def build_order(
    *,
    order_id: int,
    account_number: str,
    order_number: str,
    created_on: str,
    status: str,
    payment_type: str,
    shipping_type: str,
    total_order_value: str,
    shipping: dict[str, Any],
    line_items: Iterable[dict[str, Any]],
    add_ons: list[Any],
) -> dict[str, Any]:
    """An order shaped exactly like the example in qikink-api.md."""
    return {
        "order_id": order_id,
        "number": f"{account_number}_{order_number}",
        "created_on": created_on,
        "live_date": None,
        "status": status,
        "shipping_type": shipping_type,
        "payment_type": payment_type,
        "total_order_value": total_order_value,
        "shipping": {
            **{key: shipping.get(key, "") for key in _SHIPPING_KEYS},
            "awb": None,
            "courier_provider_name": None,
            "tracking_link": None,
        },
        "line_items": [dict(item) for item in line_items],
        "add_ons": add_ons,
    }
