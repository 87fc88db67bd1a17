from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.stamped import StampedManager

__all__ = ["QikinkCall", "QikinkToken", "QikinkWaiter"]


class QikinkToken(Model):
    """The one Qikink access token of an (API URL, client id), shared by every process."""

    # sha256 of "<api url>\n<client id>": Qikink kills a token whenever another is minted.
    key = fields.CharField(primary_key=True, max_length=64)
    access_token = fields.TextField(null=True)
    expires_at = fields.DatetimeField(null=True)
    # Counts mints, so a process that saw a token rejected replaces only that token.
    generation = fields.IntField(default=0)
    # Whoever holds this lease is minting; everyone else waits for the new generation.
    mint_owner = fields.CharField(max_length=64, null=True)
    mint_lease_until = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "qikink_tokens"
        manager = StampedManager()


class QikinkCall(Model):
    """One request sent to Qikink, kept a little over a minute to share the rate budget."""

    id = fields.BigIntField(primary_key=True)
    budget_key = fields.CharField(max_length=64)
    at = fields.DatetimeField()
    # The budget's lane the call was made in (services.qikink.lanes.Lane); null for none.
    lane = fields.CharField(max_length=16, null=True)

    class Meta:
        table = "qikink_calls"
        indexes = (Index(fields=("budget_key", "at"), name="qikink_calls_budget_at"),)


class QikinkWaiter(Model):
    """A caller waiting for a slot of the rate budget, so lower lanes leave the slot to it."""

    id = fields.CharField(primary_key=True, max_length=32)
    budget_key = fields.CharField(max_length=64, db_index=True)
    lane = fields.CharField(max_length=16)
    # Lower goes first (services.qikink.lanes.Lane.priority).
    priority = fields.SmallIntField()
    # A waiter that stops renewing (its process died) stops counting after this.
    expires_at = fields.DatetimeField()

    class Meta:
        table = "qikink_waiters"
