"""The Qikink proxy for admins (and storefronts, where opened): token, create order, list and
get orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Self

import strawberry

from resolvers import qikink as resolve
from schema.common import from_attributes
from schema.context import Context
from schema.gate import CALLS_QIKINK
from schema.input_limits import at_most
from schema.permissions import IsAdmin, QikinkProxy
from services.qikink import proxy as service
from services.qikink import requests as qikink_requests

__all__ = ["MAX_DESIGNS", "MAX_LINE_ITEMS", "PaymentGateway", "QikinkMutation", "QikinkQueries"]

MAX_LINE_ITEMS = 100
# Qikink prints on a handful of placements (front, back, sleeves, ...).
MAX_DESIGNS = 10


@strawberry.enum(description="How the customer pays: prepaid online, or cash on delivery.")
class PaymentGateway(Enum):
    PREPAID = qikink_requests.PaymentGateway.PREPAID
    COD = qikink_requests.PaymentGateway.COD


@strawberry.type(description="The shared Qikink access token.")
class QikinkToken:
    access_token: str
    client_id: str
    expires_in: int = strawberry.field(description="Seconds until the token expires.")
    expires_at: datetime


@strawberry.type(description="Qikink accepted the order.")
class QikinkOrderCreated:
    order_id: str = strawberry.field(description="Qikink's order id.")
    message: str


@strawberry.type(description="Where Qikink ships an order, and its tracking once shipped.")
class QikinkShipping:
    first_name: str | None
    last_name: str | None
    phone: str | None
    email: str | None
    city: str | None
    zip: str | None
    province: str | None
    country_code: str | None
    awb: str | None
    courier_provider_name: str | None
    tracking_link: str | None


@strawberry.type(description="A line of a Qikink order.")
class QikinkOrderLine:
    sku: str | None
    quantity: str | None
    price: str | None


@strawberry.type(description="An order as Qikink reports it.")
class QikinkOrder:
    order_id: str
    number: str | None = strawberry.field(description="As Qikink gives it: <account>_<number>.")
    order_number: str | None = strawberry.field(description="The number without the prefix.")
    status: str | None
    created_on: str | None
    live_date: str | None
    payment_type: str | None
    total_order_value: str | None
    shipping: QikinkShipping
    line_items: list[QikinkOrderLine]

    @strawberry.field(
        description="Qikink's order id, as `orderId`: what a client's cache normalises by."
    )
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.order_id)

    @classmethod
    def from_view(cls, view: service.QikinkOrderView) -> Self:
        return from_attributes(
            cls,
            view,
            shipping=from_attributes(QikinkShipping, view.shipping),
            line_items=[from_attributes(QikinkOrderLine, item) for item in view.line_items],
        )


@strawberry.input(description="A print design, for a blank product (searchFromMyProducts false).")
class QikinkDesignInput:
    design_code: str
    width_inches: Decimal
    height_inches: Decimal
    placement_sku: str = strawberry.field(description="Where it is printed, e.g. fr (front).")
    design_link: str
    mockup_link: str = ""


@strawberry.input(description="A line of a Qikink order.")
class QikinkLineItemInput:
    sku: str = strawberry.field(description="Qikink SKU, at most 50 characters.")
    quantity: int
    price: Decimal = strawberry.field(description="Unit price in rupees.")
    search_from_my_products: bool = strawberry.field(
        default=True, description="True: a product from your Qikink 'My Products', by SKU."
    )
    print_type_id: int | None = None
    designs: list[QikinkDesignInput] | None = strawberry.field(
        default=None, metadata=at_most(MAX_DESIGNS, "designs per line item")
    )

    def to_request(self) -> qikink_requests.QikinkLineItem:
        designs = (
            None
            if self.designs is None
            else [from_attributes(qikink_requests.QikinkDesign, d) for d in self.designs]
        )
        return from_attributes(qikink_requests.QikinkLineItem, self, designs=designs)


@strawberry.input(description="Where Qikink ships the order. Every field is sent to Qikink.")
class QikinkAddressInput:
    first_name: str
    address1: str = strawberry.field(description="At most 90 characters.")
    phone: str
    email: str
    city: str
    zip: str
    province: str = strawberry.field(description="The state's name, e.g. Karnataka.")
    country_code: str = "IN"
    last_name: str = ""
    address2: str = ""


@strawberry.input(description="Optional extras Qikink offers.")
class QikinkAddOnsInput:
    box_packing: bool = False
    gift_wrap: bool = False
    rush_order: bool = False
    custom_letter: bool = False


@strawberry.input(description="Qikink's create-order body, typed; checked before Qikink is called.")
class QikinkOrderInput:
    order_number: str = strawberry.field(description="1-15 letters and digits, unique.")
    gateway: PaymentGateway
    total_order_value: Decimal = strawberry.field(description="Rupees; for COD, what is collected.")
    line_items: list[QikinkLineItemInput] = strawberry.field(
        metadata=at_most(MAX_LINE_ITEMS, "line items per order")
    )
    shipping_address: QikinkAddressInput
    qikink_shipping: bool = strawberry.field(default=True, description="False: you ship it.")
    add_ons: QikinkAddOnsInput | None = None

    def to_request(self) -> qikink_requests.QikinkOrderRequest:
        return from_attributes(
            qikink_requests.QikinkOrderRequest,
            self,
            gateway=self.gateway.value,
            line_items=[item.to_request() for item in self.line_items],
            shipping_address=from_attributes(qikink_requests.QikinkAddress, self.shipping_address),
            add_ons=from_attributes(qikink_requests.QikinkAddOns, self.add_ons)
            if self.add_ons is not None
            else None,
        )


@strawberry.type
class QikinkQueries:
    @strawberry.field(
        permission_classes=[QikinkProxy],
        metadata=CALLS_QIKINK,
        description="A page of Qikink orders, newest first.",
    )
    async def qikink_orders(
        self, info: strawberry.Info[Context], page: int = 1
    ) -> list[QikinkOrder]:
        views = await resolve.qikink_orders(info.context.qikink, page)
        return [QikinkOrder.from_view(view) for view in views]

    @strawberry.field(
        permission_classes=[QikinkProxy],
        metadata=CALLS_QIKINK,
        description="One Qikink order, or null.",
    )
    async def qikink_order(
        self,
        info: strawberry.Info[Context],
        id: strawberry.ID,
        from_date: str | None = None,
        to_date: str | None = None,
    ) -> QikinkOrder | None:
        view = await resolve.qikink_order(info.context.qikink, id, from_date, to_date)
        return QikinkOrder.from_view(view) if view else None


@strawberry.type
class QikinkMutation:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        metadata=CALLS_QIKINK,
        description=(
            "Admin only: the shared Qikink access token (minted only when none is fresh). "
            "It acts as the merchant on Qikink, so it is never given to storefronts."
        ),
    )
    async def qikink_token(self, info: strawberry.Info[Context]) -> QikinkToken:
        view = await resolve.qikink_token(info.context.qikink)
        return from_attributes(QikinkToken, view)

    @strawberry.mutation(
        permission_classes=[QikinkProxy],
        metadata=CALLS_QIKINK,
        description="Create a Qikink order directly (validated before Qikink is called).",
    )
    async def create_qikink_order(
        self, info: strawberry.Info[Context], input: QikinkOrderInput
    ) -> QikinkOrderCreated:
        order_id = await resolve.create_qikink_order(info.context.qikink, input.to_request())
        return QikinkOrderCreated(order_id=order_id, message="Order created successfully")
