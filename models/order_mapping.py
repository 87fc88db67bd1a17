from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.ids import new_order_mapping_id
from models.stamped import StampedManager

__all__ = [
    "DISPLAY_ID_MAX_LENGTH",
    "FINAL_STATUSES",
    "MedusaSyncedState",
    "OrderMapping",
    "OrderMappingStatus",
    "SubmitState",
]


DISPLAY_ID_MAX_LENGTH = 64


class OrderMappingStatus(StrEnum):
    PENDING = "PENDING"
    SUBMITTED = "SUBMITTED"
    IN_PRODUCTION = "IN_PRODUCTION"
    SHIPPED = "SHIPPED"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"
    RETURNED = "RETURNED"
    FAILED = "FAILED"


# The status sync never moves a mapping out of these.
FINAL_STATUSES = frozenset(
    {
        OrderMappingStatus.COMPLETED,
        OrderMappingStatus.CANCELED,
        OrderMappingStatus.RETURNED,
        OrderMappingStatus.FAILED,
    }
)


class SubmitState(StrEnum):
    """Where the outbox stands with this mapping's create call."""

    QUEUED = "queued"  # due at next_attempt_at
    IN_FLIGHT = "in_flight"  # claimed by a worker until lease_expires_at
    UNKNOWN = "unknown"  # a create may have reached Qikink: look it up before sending again
    DONE = "done"  # Qikink accepted it; qikink_order_id is set
    FAILED = "failed"  # Qikink refused it for good; retryOrderSubmission puts it back


class MedusaSyncedState(StrEnum):
    """How far Qikink's progress has been written back to the store's order."""

    NONE = "none"
    FULFILLED = "fulfilled"  # a fulfillment holds the items Qikink prints
    SHIPPED = "shipped"  # its shipment, with the tracking number
    DELIVERED = "delivered"


class OrderMapping(Model):
    """One store order and the one Qikink order made for it, with status and tracking."""

    id = fields.CharField(primary_key=True, max_length=32, default=new_order_mapping_id)
    medusa_order_id = fields.CharField(max_length=255, unique=True)
    # The store's short order number (Medusa's display_id), what a merchant searches by.
    medusa_display_id = fields.CharField(max_length=DISPLAY_ID_MAX_LENGTH, null=True)
    # Who placed the order, from the store: a signed-in customer lists their own mappings.
    customer_id = fields.CharField(max_length=255, null=True)
    email = fields.CharField(max_length=320, null=True)
    qikink_order_id = fields.CharField(max_length=64, null=True, unique=True)
    qikink_order_number = fields.CharField(max_length=15, null=True, unique=True)
    # Bumped each time the number is found taken in Qikink by an order that is not this one:
    # part of the number's keyed input, so the next number is new and still deterministic.
    number_generation = fields.IntField(default=0)
    status = fields.CharEnumField(
        OrderMappingStatus, max_length=16, default=OrderMappingStatus.PENDING
    )
    qikink_status = fields.CharField(max_length=64, null=True)
    tracking_number = fields.CharField(max_length=64, null=True)
    courier = fields.CharField(max_length=128, null=True)
    tracking_url = fields.CharField(max_length=512, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    last_synced_at = fields.DatetimeField(null=True)

    # The outbox: the exact Qikink payload is stored before Qikink is ever called.
    payload: fields.JSONField[Any] = fields.JSONField(null=True)
    submit_state = fields.CharEnumField(SubmitState, max_length=16, default=SubmitState.QUEUED)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(null=True)
    next_attempt_at = fields.DatetimeField(null=True)
    lease_owner = fields.CharField(max_length=64, null=True)
    lease_expires_at = fields.DatetimeField(null=True)
    # The store's order was canceled: never sent, or (sent already) to cancel on Qikink. (The
    # lease above is held for the submission, then for writing its progress back to the store.)
    cancel_requested = fields.BooleanField(default=False)

    # The write-back to Medusa: the store's variants Qikink prints (and how many), the
    # fulfillment made for them, how far it has got, when the next step is due (none: up to
    # date), and the store's refusal, kept for the merchant.
    printed_items: fields.JSONField[Any] = fields.JSONField(null=True)
    medusa_fulfillment_id = fields.CharField(max_length=64, null=True)
    medusa_synced_state = fields.CharEnumField(
        MedusaSyncedState, max_length=16, default=MedusaSyncedState.NONE
    )
    medusa_sync_due_at = fields.DatetimeField(null=True)
    medusa_sync_attempts = fields.IntField(default=0)
    medusa_sync_error = fields.TextField(null=True)

    class Meta:
        table = "order_mappings"
        manager = StampedManager()
        indexes = (
            Index(fields=("status", "created_at"), name="order_mappings_status_created"),
            Index(fields=("created_at", "id"), name="order_mappings_created_id"),
            Index(fields=("updated_at", "id"), name="order_mappings_updated_id"),
            Index(fields=("submit_state", "next_attempt_at"), name="order_mappings_due"),
            Index(fields=("customer_id", "created_at"), name="order_mappings_customer_created"),
            Index(fields=("medusa_sync_due_at",), name="order_mappings_medusa_due"),
            Index(fields=("medusa_display_id",), name="order_mappings_display_id"),
        )
