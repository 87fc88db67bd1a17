"""Qikink's orders as this service reads them, and the proxy's calls: token, create, list, get.

Qikink's JSON is read defensively (numbers as strings, missing keys, an empty `awb=` link)
into views; the proxy functions check their input before any call is made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from services.shared.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from services.qikink.client import QikinkClient

from services.qikink.requests import MAX_PAGE_NO, QikinkOrderRequest, check_date
from services.shared.clock import utc_now

__all__ = [
    "CREATED_ON_SLACK",
    "PAGE_SIZE",
    "QikinkOrderView",
    "QikinkShippingView",
    "TokenView",
    "check_order_id",
    "create_order",
    "created_on_of",
    "get_order",
    "list_orders",
    "order_number_of",
    "qikink_token",
    "tracking_link",
    "walk_pages",
]

# Qikink lists orders 10 a page, newest first.
PAGE_SIZE = 10
# Qikink's created_on carries no time zone (IST, most likely; any zone is within 14 hours of
# UTC): a page is older than a moment of ours only when it is older by more than this.
CREATED_ON_SLACK = timedelta(days=1)


def check_order_id(value: str, *, field: str, label: str) -> str:
    """A Qikink order id as a caller sent it, trimmed: digits only."""
    order_id = value.strip()
    if not re.fullmatch(r"[0-9]{1,20}", order_id):
        raise InvalidInput(f"{label} must be a Qikink order id (digits).", field=field)
    return order_id


def order_number_of(number: str | None) -> str | None:
    """The merchant's order number inside Qikink's `<account>_<order_number>`."""
    if not number:
        return None
    return number.split("_", 1)[1] if "_" in number else number


def created_on_of(order: dict[str, Any]) -> datetime | None:
    """When Qikink says an order was made (`YYYY-MM-DD HH:MM:SS`, no zone: read as UTC)."""
    try:
        created = datetime.strptime(str(order.get("created_on")), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return created.replace(tzinfo=UTC)


async def walk_pages(
    client: QikinkClient, *, back_to: datetime, max_pages: int, wait: bool
) -> AsyncGenerator[list[dict[str, Any]]]:
    """Qikink's pages, newest first, until one is short (the end), older than `back_to` (by
    `CREATED_ON_SLACK`) or `max_pages` were read; the caller stops early when it has enough.

    The one page walker: the submission's lookup by order number and the status sync.
    """
    for page in range(1, max_pages + 1):
        orders = await client.list_orders(page, wait=wait)
        yield orders
        if len(orders) < PAGE_SIZE:
            return
        oldest = min((c for order in orders if (c := created_on_of(order))), default=None)
        if oldest is not None and oldest < back_to - CREATED_ON_SLACK:
            return


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# What the mapping can hold (OrderMapping.tracking_url).
TRACKING_LINK_MAX_LENGTH = 512
_WEB_LINK = re.compile(r"https?://[^/?#\s]+[^\s]*", re.IGNORECASE)


def tracking_link(value: Any) -> str | None:
    """A courier's web page for the parcel, or None.

    Qikink sends `...?awb=` with nothing after it before a parcel has an AWB: no link. The
    link goes into the customer's shipment email (Medusa) and the storefront, so only an
    http(s) address is one: `javascript:`, `data:` or anything else is no link at all.
    """
    link = _str(value)
    if link is None or re.search(r"awb=$", link):
        return None
    if len(link) > TRACKING_LINK_MAX_LENGTH or not _WEB_LINK.fullmatch(link):
        return None
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in link):
        return None
    return link


@dataclass(frozen=True, slots=True)
class QikinkShippingView:
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    email: str | None = None
    city: str | None = None
    zip: str | None = None
    province: str | None = None
    country_code: str | None = None
    awb: str | None = None
    courier_provider_name: str | None = None
    tracking_link: str | None = None

    @classmethod
    def from_qikink(cls, raw: Any) -> QikinkShippingView:
        if not isinstance(raw, dict):
            return cls()
        return cls(
            first_name=_str(raw.get("first_name")),
            last_name=_str(raw.get("last_name")),
            phone=_str(raw.get("phone")),
            email=_str(raw.get("email")),
            city=_str(raw.get("city")),
            zip=_str(raw.get("zip")),
            province=_str(raw.get("province")),
            country_code=_str(raw.get("country_code")),
            awb=_str(raw.get("awb")),
            courier_provider_name=_str(raw.get("courier_provider_name")),
            tracking_link=tracking_link(raw.get("tracking_link")),
        )


@dataclass(frozen=True, slots=True)
class QikinkLineItemView:
    sku: str | None
    quantity: str | None
    price: str | None


@dataclass(frozen=True, slots=True)
class QikinkOrderView:
    """An order as Qikink returns it, read tolerantly."""

    order_id: str
    number: str | None
    order_number: str | None
    status: str | None
    created_on: str | None
    live_date: str | None
    payment_type: str | None
    total_order_value: str | None
    shipping: QikinkShippingView
    line_items: list[QikinkLineItemView] = field(default_factory=list)

    @classmethod
    def from_qikink(cls, raw: dict[str, Any]) -> QikinkOrderView:
        items = raw.get("line_items")
        items = items if isinstance(items, list) else []
        return cls(
            order_id=str(raw.get("order_id", "")),
            number=_str(raw.get("number")),
            order_number=order_number_of(_str(raw.get("number"))),
            status=_str(raw.get("status")),
            created_on=_str(raw.get("created_on")),
            live_date=_str(raw.get("live_date")),
            payment_type=_str(raw.get("payment_type")),
            total_order_value=_str(raw.get("total_order_value")),
            shipping=QikinkShippingView.from_qikink(raw.get("shipping")),
            line_items=[
                QikinkLineItemView(
                    sku=_str(item.get("sku")),
                    quantity=_str(item.get("quantity")),
                    price=_str(item.get("price")),
                )
                for item in items
                if isinstance(item, dict)
            ],
        )


@dataclass(frozen=True, slots=True)
class TokenView:
    access_token: str
    client_id: str
    expires_in: int
    expires_at: datetime


async def qikink_token(client: QikinkClient) -> TokenView:
    """The shared token as the plugin's token endpoint gave it (never a fresh mint per call)."""
    token = await client.token()
    remaining = int((token.expires_at - utc_now(client.clock)).total_seconds())
    return TokenView(token.access_token, client.client_id, max(remaining, 0), token.expires_at)


async def create_order(client: QikinkClient, request: QikinkOrderRequest) -> str:
    """Validate, then create; returns Qikink's order id."""
    return await client.create_order(request.to_payload())


async def list_orders(client: QikinkClient, page: int) -> list[QikinkOrderView]:
    if not 1 <= page <= MAX_PAGE_NO:
        raise InvalidInput(f"page must be between 1 and {MAX_PAGE_NO}.", field="page")
    return [QikinkOrderView.from_qikink(raw) for raw in await client.list_orders(page)]


async def get_order(
    client: QikinkClient, order_id: str, from_date: str | None, to_date: str | None
) -> QikinkOrderView | None:
    raw = await client.get_order(
        check_order_id(order_id, field="id", label="id"),
        from_date=check_date(from_date, field="from_date", label="The from date"),
        to_date=check_date(to_date, field="to_date", label="The to date"),
    )
    return QikinkOrderView.from_qikink(raw) if raw else None
