"""Order mappings: a store order, its Qikink order, status and tracking."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Self

import strawberry

from models import MedusaSyncedState as SyncedValue
from models import OrderMappingStatus as StatusValue
from resolvers import order_mappings as resolve
from schema.common import Paged, SortDirection, from_attributes, list_query
from schema.context import Context
from schema.gate import READS_BY_ID
from schema.permissions import IsAdmin, IsStorefront
from services.orders.order_mappings import OrderMappingOrder, OrderMappingQuery

if TYPE_CHECKING:
    from models import OrderMapping as OrderMappingRow

__all__ = [
    "MedusaSyncedState",
    "OrderMapping",
    "OrderMappingQueries",
    "OrderMappingStatus",
    "PrintedItem",
]

OrderMappingStatus = strawberry.enum(
    StatusValue,
    description=(
        "PENDING: not yet accepted by Qikink. SUBMITTED: accepted (On Hold). IN_PRODUCTION: "
        "Live to Printed. SHIPPED: with the courier. COMPLETED: delivered. CANCELED. "
        "RETURNED. FAILED: refused by Qikink."
    ),
)

MedusaSyncedState = strawberry.enum(
    SyncedValue,
    name="MedusaSyncedState",
    description=(
        "How far Qikink's progress is written back to the store's order. NONE: not yet. "
        "FULFILLED: a fulfillment holds the items Qikink prints. SHIPPED: with its shipment "
        "and tracking number. DELIVERED: marked delivered."
    ),
)


@strawberry.type(description="A store order's variant that Qikink prints, and how many.")
class PrintedItem:
    variant_id: strawberry.ID
    quantity: int


@strawberry.type(description="A store order and the Qikink order made for it.")
class OrderMapping:
    id: strawberry.ID
    medusa_order_id: str
    medusa_display_id: str | None = strawberry.field(
        description="The store's short order number (Medusa's display_id), as text: \"1042\"."
    )
    qikink_order_id: str | None
    qikink_order_number: str | None
    status: OrderMappingStatus  # type: ignore[valid-type]  # strawberry.enum(Enum) is a value to mypy
    qikink_status: str | None = strawberry.field(description="Qikink's status text, as given.")
    tracking_number: str | None
    courier: str | None
    tracking_url: str | None
    created_at: datetime
    updated_at: datetime
    last_synced_at: datetime | None
    cancel_requested: bool = strawberry.field(
        description=(
            "The store canceled the order. With status CANCELED it was never sent; otherwise "
            "Qikink has it and it must be canceled on Qikink's dashboard (possible while it "
            "is On Hold, Live or Live OOS)."
        )
    )
    medusa_fulfillment_id: str | None = strawberry.field(
        description="The store's fulfillment holding the items Qikink prints."
    )
    medusa_synced_state: MedusaSyncedState  # type: ignore[valid-type]  # strawberry.enum(Enum) is a value to mypy
    medusa_sync_error: str | None = strawberry.field(
        permission_classes=[IsAdmin],
        description="Admin only: why the store refused the last write-back, in its words.",
    )
    attempts: int | None = strawberry.field(
        permission_classes=[IsAdmin], description="Admin only: create calls made so far."
    )
    last_error: str | None = strawberry.field(
        permission_classes=[IsAdmin], description="Admin only: why the last attempt failed."
    )
    next_attempt_at: datetime | None = strawberry.field(
        permission_classes=[IsAdmin], description="Admin only: when the next attempt is due."
    )
    customer_id: str | None = strawberry.field(
        permission_classes=[IsAdmin], description="Admin only: the store customer who ordered."
    )
    email: str | None = strawberry.field(
        permission_classes=[IsAdmin], description="Admin only: the order's email address."
    )
    printed_items: list[PrintedItem] = strawberry.field(
        permission_classes=[IsAdmin],
        description=(
            "Admin only: the order's items Qikink prints (the mapped variants, with their "
            "quantities); the order's other items are the store's to fulfil."
        ),
    )

    @classmethod
    def from_model(cls, row: OrderMappingRow) -> Self:
        printed = [
            PrintedItem(variant_id=strawberry.ID(item["variant_id"]), quantity=item["quantity"])
            for item in row.printed_items or ()
        ]
        return from_attributes(cls, row, printed_items=printed)


@strawberry.type(description="One page of order mappings.")
class OrderMappingList(Paged[OrderMapping]):
    pass


@strawberry.enum(description="What order mappings can be ordered by.")
class OrderMappingOrderField(Enum):
    CREATED_AT = OrderMappingOrder.CREATED_AT
    UPDATED_AT = OrderMappingOrder.UPDATED_AT
    STATUS = OrderMappingOrder.STATUS


@strawberry.input(description="Exact-match filters; all given ones must match.")
class OrderMappingFilter:
    qikink_order_id: str | None = None
    medusa_order_id: str | None = None
    status: OrderMappingStatus | None = None  # type: ignore[valid-type]  # strawberry.enum(Enum) is a value to mypy
    search: str | None = strawberry.field(
        default=None,
        description=(
            "Admin only: a store order's id, or its display id with or without a leading '#' "
            '("#1042", "1042"); blank matches every mapping.'
        ),
    )


@strawberry.type
class OrderMappingQueries:
    @strawberry.field(
        permission_classes=[IsStorefront],
        description=(
            "Order mappings, paged. Admins list them all; storefronts name one store order "
            "(filter: { medusaOrderId }) or, signed in with a Medusa customer token, list "
            "that customer's own."
        ),
    )
    async def qikink_order_mappings(
        self,
        info: strawberry.Info[Context],
        filter: OrderMappingFilter | None = None,
        limit: int = 50,
        offset: int = 0,
        order: OrderMappingOrderField = OrderMappingOrderField.CREATED_AT,
        order_direction: SortDirection = SortDirection.DESC,
    ) -> OrderMappingList:
        query = list_query(OrderMappingQuery, filter, order, order_direction)
        rows, count, page = await resolve.order_mappings(
            info.context.caller, query, limit=limit, offset=offset
        )
        return OrderMappingList.of(OrderMapping.from_model, rows, count, page)

    @strawberry.field(
        permission_classes=[IsStorefront],
        metadata=READS_BY_ID,
        description=(
            "One mapping, or null: `id` is the store order's id, or the mapping's id (for "
            "admins, and for the signed-in customer whose order it is)."
        ),
    )
    async def qikink_order_mapping(
        self, info: strawberry.Info[Context], id: strawberry.ID
    ) -> OrderMapping | None:
        row = await resolve.order_mapping(info.context.caller, id)
        return OrderMapping.from_model(row) if row else None
