"""Submitting placed store orders to Qikink, retrying refused ones, refreshing statuses."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import strawberry

from resolvers import orders as resolve
from schema.common import from_attributes
from schema.context import Context
from schema.gate import CALLS_QIKINK
from schema.input_limits import at_most
from schema.order_mappings import OrderMapping, OrderMappingStatus
from schema.permissions import IsAdmin
from schema.qikink import MAX_LINE_ITEMS, PaymentGateway
from services.orders import outbox as service
from services.orders import store as store_orders

if TYPE_CHECKING:
    from services.orders.sync import RefreshResult as RefreshOutcome

__all__ = ["OrdersMutation"]


@strawberry.input(description="A line of a store order.")
class StoreOrderItemInput:
    variant_id: str
    quantity: int
    unit_price: Decimal = strawberry.field(description="Major units (rupees), as Medusa gives.")
    title: str | None = None


@strawberry.input(description="A store order's shipping address, as Medusa stores it.")
class StoreAddressInput:
    first_name: str
    address1: str
    city: str
    province: str = strawberry.field(description="The state's name, e.g. Karnataka.")
    postal_code: str
    country_code: str = strawberry.field(description="Any case; sent upper-cased.")
    last_name: str | None = None
    address2: str | None = None
    phone: str | None = strawberry.field(
        default=None,
        description=(
            "Required when any item is mapped to a Qikink SKU (Qikink delivers by phone; an "
            "order with no mapped item is skipped and needs none). For an Indian address, an "
            "Indian mobile number: 10 digits starting 6-9, with or without +91, 0, spaces or "
            "dashes (sent as the 10 digits)."
        ),
    )


@strawberry.input(description="A placed store order (Medusa's order shape).")
class StoreOrderInput:
    id: strawberry.ID = strawberry.field(description="The store's order id.")
    email: str
    items: list[StoreOrderItemInput] = strawberry.field(
        metadata=at_most(MAX_LINE_ITEMS, "items per order")
    )
    shipping_address: StoreAddressInput
    display_id: strawberry.ID | None = strawberry.field(
        default=None,
        description=(
            "The store's short order number (Medusa's display_id), as an integer (1042) or a "
            'string ("1042"): both give the same Qikink order number.'
        ),
    )
    currency_code: str | None = None
    payment_method: PaymentGateway = PaymentGateway.PREPAID
    customer_id: strawberry.ID | None = strawberry.field(
        default=None,
        description=(
            "The store's customer who placed it (Medusa's customer_id): signed in with a "
            "Medusa customer token, they can list their own orders' mappings."
        ),
    )

    def to_order(self) -> store_orders.StoreOrder:
        return from_attributes(
            store_orders.StoreOrder,
            self,
            payment_method=self.payment_method.value,
            items=[from_attributes(store_orders.StoreItem, item) for item in self.items],
            shipping_address=from_attributes(store_orders.StoreAddress, self.shipping_address),
        )


@strawberry.type(description="What became of a submitted store order.")
class SubmitStoreOrderPayload:
    mapping: OrderMapping | None = strawberry.field(
        description="The order's mapping (the same one however often it is submitted)."
    )
    skipped: bool = strawberry.field(description="True when no item is mapped to a Qikink SKU.")
    reason: str | None

    @classmethod
    def from_result(cls, result: service.SubmitResult) -> SubmitStoreOrderPayload:
        mapping = OrderMapping.from_model(result.mapping) if result.mapping else None
        return from_attributes(cls, result, mapping=mapping)


@strawberry.type(
    description=(
        "How a status refresh spent its Qikink calls: newest-first pages down to a cut-off "
        "chosen to cost the fewest calls, then one GET per mapping older than it."
    )
)
class RefreshPlan:
    pages: int = strawberry.field(description="Pages planned, newest first, to the cut-off.")
    gets: int = strawberry.field(description="GETs planned, for the mappings past the cut-off.")
    pages_walked: int = strawberry.field(
        description="Pages read (more than planned when orders made elsewhere came between)."
    )
    gets_made: int = strawberry.field(
        description="GETs made (the planned ones and any mapping the walk did not meet)."
    )


@strawberry.type(description="A mapping whose status a refresh changed.")
class OrderMappingChange:
    mapping: OrderMapping = strawberry.field(description="The mapping, as it is now.")
    previous_status: OrderMappingStatus = strawberry.field(  # type: ignore[valid-type]  # strawberry.enum(Enum) is a value to mypy
        description="Its status before the refresh."
    )


@strawberry.type(description="What a status refresh did.")
class RefreshResult:
    updated: int = strawberry.field(description="Mappings whose status or tracking changed.")
    processed: int = strawberry.field(description="Mappings Qikink reported on.")
    total_eligible: int = strawberry.field(description="Mappings not in a final status.")
    limit: int
    qikink_calls: int = strawberry.field(description="Qikink calls made (pages and GETs).")
    plan: RefreshPlan
    changes: list[OrderMappingChange] = strawberry.field(
        description="The mappings whose status changed in this refresh."
    )

    @classmethod
    def from_result(cls, result: RefreshOutcome) -> RefreshResult:
        changes = [
            OrderMappingChange(
                mapping=OrderMapping.from_model(change.mapping),
                previous_status=change.previous_status,
            )
            for change in result.changes
        ]
        return from_attributes(
            cls, result, plan=from_attributes(RefreshPlan, result.plan), changes=changes
        )


CancelOutcome = strawberry.enum(
    service.CancelOutcome,
    name="CancelOutcome",
    description=(
        "NOT_OURS: no mapping (none of its items is printed by Qikink). NEVER_SENT: Qikink "
        "never had it and never will. CANCEL_ON_QIKINK: Qikink has it: cancel it on Qikink's "
        "dashboard (while On Hold, Live or Live OOS). DECIDING: a worker is sending it or "
        "looking it up this instant; the mapping soon says which. ALREADY_FINAL: delivered, "
        "returned or canceled already."
    ),
)


@strawberry.type(description="What canceling a store order did.")
class CancelMedusaOrderPayload:
    outcome: CancelOutcome  # type: ignore[valid-type]  # strawberry.enum(Enum) is a value to mypy
    mapping: OrderMapping | None


@strawberry.type
class OrdersMutation:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Send a placed store order's mapped items to Qikink, exactly once: the order is "
            "recorded now and submitted by the worker. The same order again returns the same "
            "mapping; again with different items, shipping address or payment method it is a "
            "CONFLICT and the mapping stays as it was (Qikink may have the order already)."
        ),
    )
    async def submit_store_order(
        self, info: strawberry.Info[Context], order: StoreOrderInput
    ) -> SubmitStoreOrderPayload:
        result = await resolve.submit_store_order(info.context.runtime, order.to_order())
        return SubmitStoreOrderPayload.from_result(result)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Load a placed order from Medusa by id (all `order.placed` carries) and submit it "
            "exactly as submitStoreOrder does."
        ),
    )
    async def submit_medusa_order(
        self, info: strawberry.Info[Context], order_id: strawberry.ID
    ) -> SubmitStoreOrderPayload:
        result = await resolve.submit_medusa_order(info.context.runtime, order_id)
        return SubmitStoreOrderPayload.from_result(result)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "The store canceled an order (Medusa's `order.canceled`): one Qikink does not have "
            "yet is never sent; one it has is flagged to cancel on Qikink's dashboard."
        ),
    )
    async def cancel_medusa_order(
        self, info: strawberry.Info[Context], order_id: strawberry.ID
    ) -> CancelMedusaOrderPayload:
        outcome, row = await resolve.cancel_medusa_order(info.context.runtime, order_id)
        return CancelMedusaOrderPayload(
            outcome=outcome, mapping=OrderMapping.from_model(row) if row else None
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Queue a submission Qikink refused again."
    )
    async def retry_order_submission(
        self, info: strawberry.Info[Context], id: strawberry.ID
    ) -> OrderMapping:
        row = await resolve.retry_order_submission(info.context.runtime, id)
        return OrderMapping.from_model(row)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        metadata=CALLS_QIKINK,
        description=(
            "Sync statuses and tracking from Qikink: one Qikink order (orderId), or up to "
            "`limit` mappings not in a final status with at most `concurrency` calls at once."
        ),
    )
    async def refresh_order_mappings(
        self,
        info: strawberry.Info[Context],
        order_id: strawberry.ID | None = None,
        limit: int = 500,
        concurrency: int = 20,
    ) -> RefreshResult:
        result = await resolve.refresh_order_mappings(
            info.context.runtime, order_id=order_id, limit=limit, concurrency=concurrency
        )
        return RefreshResult.from_result(result)
