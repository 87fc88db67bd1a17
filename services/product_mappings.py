"""Product mappings: which Qikink SKU prints each store variant."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tortoise.exceptions import IntegrityError

from models import ProductMapping
from models.ids import ID_MAX_LENGTH
from models.product_mapping import SKU_MAX_LENGTH, VARIANT_ID_MAX_LENGTH
from services.errors import Conflict, InvalidInput, NotFound
from services.paging import Page, fetch_matching
from services.validation import clean_text

__all__ = [
    "ProductMappingOrder",
    "ProductMappingQuery",
    "clean_sku",
    "clean_variant_id",
    "create_product_mapping",
    "delete_product_mapping",
    "get_product_mapping",
    "list_product_mappings",
    "update_product_mapping",
]


class ProductMappingOrder(StrEnum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    QIKINK_SKU_ID = "qikink_sku_id"
    VARIANT_ID = "variant_id"


@dataclass(frozen=True, slots=True)
class ProductMappingQuery:
    qikink_sku_id: str | None = None
    variant_id: str | None = None
    order: ProductMappingOrder = ProductMappingOrder.CREATED_AT
    descending: bool = True


def clean_sku(value: str) -> str:
    sku = clean_text(value, field="qikink_sku_id", label="Qikink SKU", max_length=SKU_MAX_LENGTH)
    if any(ch.isspace() for ch in sku):
        raise InvalidInput("Qikink SKU must not contain spaces.", field="qikink_sku_id")
    return sku


def clean_variant_id(value: str) -> str:
    return clean_text(
        value, field="variant_id", label="Variant id", max_length=VARIANT_ID_MAX_LENGTH
    )


async def list_product_mappings(
    query: ProductMappingQuery, page: Page
) -> tuple[list[ProductMapping], int]:
    """One page of mappings in a stable order (ties broken by id), and the total matching."""
    filters = {"qikink_sku_id": query.qikink_sku_id, "variant_id": query.variant_id}
    return await fetch_matching(
        ProductMapping, filters, query.order.value, descending=query.descending, page=page
    )


async def get_product_mapping(mapping_id: str) -> ProductMapping | None:
    if len(mapping_id) > ID_MAX_LENGTH:
        return None
    return await ProductMapping.get_or_none(id=mapping_id)


def _conflict(error: IntegrityError, qikink_sku_id: str | None, variant_id: str | None) -> Conflict:
    # The database's unique constraints decide; the message names the column that clashed.
    text = str(error)
    if "variant_id" in text and variant_id is not None:
        return Conflict(
            f"Variant {variant_id!r} is already mapped to a Qikink SKU.", field="variant_id"
        )
    return Conflict(
        f"Qikink SKU {qikink_sku_id!r} is already mapped to a variant.", field="qikink_sku_id"
    )


async def create_product_mapping(qikink_sku_id: str, variant_id: str) -> ProductMapping:
    sku, variant = clean_sku(qikink_sku_id), clean_variant_id(variant_id)
    try:
        return await ProductMapping.create(qikink_sku_id=sku, variant_id=variant)
    except IntegrityError as exc:
        raise _conflict(exc, sku, variant) from None


async def update_product_mapping(
    mapping_id: str, *, qikink_sku_id: str | None = None, variant_id: str | None = None
) -> ProductMapping:
    changes: dict[str, str] = {}
    if qikink_sku_id is not None:
        changes["qikink_sku_id"] = clean_sku(qikink_sku_id)
    if variant_id is not None:
        changes["variant_id"] = clean_variant_id(variant_id)
    if not changes:
        raise InvalidInput("Give a new Qikink SKU, a new variant id or both.", field=())
    row = await get_product_mapping(mapping_id)
    if row is None:
        raise NotFound(f"No product mapping has id {mapping_id!r}.")
    row.update_from_dict(changes)
    try:
        await row.save(update_fields=[*changes, "updated_at"])
    except IntegrityError as exc:
        raise _conflict(exc, changes.get("qikink_sku_id"), changes.get("variant_id")) from None
    return row


async def delete_product_mapping(mapping_id: str) -> str:
    deleted = (
        await ProductMapping.filter(id=mapping_id).delete()
        if len(mapping_id) <= ID_MAX_LENGTH
        else 0
    )
    if not deleted:
        raise NotFound(f"No product mapping has id {mapping_id!r}.")
    return mapping_id
