from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.ids import new_product_mapping_id
from models.stamped import StampedManager

__all__ = ["SKU_MAX_LENGTH", "VARIANT_ID_MAX_LENGTH", "ProductMapping"]

# Qikink refuses SKUs over 50 characters; Medusa ids are ~30 characters, other stores' longer.
SKU_MAX_LENGTH = 50
VARIANT_ID_MAX_LENGTH = 255


class ProductMapping(Model):
    """A store product variant printed as one Qikink SKU."""

    id = fields.CharField(primary_key=True, max_length=32, default=new_product_mapping_id)
    qikink_sku_id = fields.CharField(max_length=SKU_MAX_LENGTH, unique=True)
    variant_id = fields.CharField(max_length=VARIANT_ID_MAX_LENGTH, unique=True)
    # The variant as the store described it when it was mapped (with the service connected to
    # Medusa; null otherwise): what the merchant recognises it by.
    product_id = fields.CharField(max_length=VARIANT_ID_MAX_LENGTH, null=True)
    product_title = fields.TextField(null=True)
    variant_title = fields.TextField(null=True)
    variant_sku = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True, db_index=True)

    class Meta:
        table = "product_mappings"
        manager = StampedManager()
