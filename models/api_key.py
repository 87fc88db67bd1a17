from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.ids import new_api_key_id

__all__ = ["ApiKey"]


class ApiKey(Model):
    """An admin API key for a store backend; only its SHA-256 hash is stored."""

    id = fields.CharField(primary_key=True, max_length=32, default=new_api_key_id)
    name = fields.CharField(max_length=100, unique=True)
    key_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_keys"
