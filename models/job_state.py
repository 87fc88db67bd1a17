from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.stamped import StampedManager

__all__ = ["JobState"]


class JobState(Model):
    """A background job's shared state: who holds its lease, and its progress marker."""

    name = fields.CharField(primary_key=True, max_length=64)
    lease_owner = fields.CharField(max_length=64, null=True)
    lease_expires_at = fields.DatetimeField(null=True)
    value: fields.JSONField[Any] = fields.JSONField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "job_state"
        manager = StampedManager()
