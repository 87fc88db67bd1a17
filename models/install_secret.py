from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

__all__ = ["InstallSecret"]


class InstallSecret(Model):
    """A random secret made once per install (per database), the same in every process."""

    # What the secret is for (one row each), e.g. "order_numbers".
    name = fields.CharField(primary_key=True, max_length=64)
    value = fields.CharField(max_length=128)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "install_secrets"
