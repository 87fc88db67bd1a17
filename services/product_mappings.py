"""Product mappings: which Qikink SKU prints each store variant."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError

from models import ProductMapping
from models.ids import ID_MAX_LENGTH
from models.product_mapping import SKU_MAX_LENGTH, VARIANT_ID_MAX_LENGTH
from services.errors import Conflict, InvalidInput, NotFound
from services.paging import Page, fetch_matching
from services.validation import clean_text

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = [
    "MAX_VARIANT_IDS",
    "NOT_DESCRIBED",
    "ProductMappingOrder",
    "ProductMappingQuery",
    "VariantDetails",
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


# A product page's variants in one list call (the schema refuses more).
MAX_VARIANT_IDS = 200


@dataclass(frozen=True, slots=True)
class ProductMappingQuery:
    qikink_sku_id: str | None = None
    variant_id: str | None = None
    # Any of these variants.
    variant_ids: list[str] | None = None
    order: ProductMappingOrder = ProductMappingOrder.CREATED_AT
    descending: bool = True


@dataclass(frozen=True, slots=True)
class VariantDetails:
    """A store variant as the store describes it: what the merchant recognises it by."""

    product_id: str | None = None
    product_title: str | None = None
    variant_title: str | None = None
    variant_sku: str | None = None


# No store to ask (not connected to Medusa): nothing is known of the variant.
NOT_DESCRIBED = VariantDetails()


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
    filters = {
        "qikink_sku_id": query.qikink_sku_id,
        "variant_id": query.variant_id,
        "variant_id__in": query.variant_ids,
    }
    return await fetch_matching(
        ProductMapping, filters, query.order.value, descending=query.descending, page=page
    )


async def get_product_mapping(mapping_id: str) -> ProductMapping | None:
    if len(mapping_id) > ID_MAX_LENGTH:
        return None
    return await ProductMapping.get_or_none(id=mapping_id)


async def _conflict(
    error: IntegrityError, qikink_sku_id: str | None, variant_id: str | None
) -> Conflict:
    # The database's unique constraints decide; the message names the column that clashed and
    # the mapping holding it, so the merchant knows which one to change.
    text = str(error)
    if "variant_id" in text and variant_id is not None:
        holder = await ProductMapping.get_or_none(variant_id=variant_id)
        held = f" {holder.qikink_sku_id}" if holder is not None else ""
        return Conflict(
            f"Variant {variant_id} is already mapped to Qikink SKU{held}.", field="variant_id"
        )
    holder = await ProductMapping.get_or_none(qikink_sku_id=qikink_sku_id)
    held = f"variant {_described(holder)}" if holder is not None else "a variant"
    return Conflict(
        f"Qikink SKU {qikink_sku_id} is already mapped to {held}.", field="qikink_sku_id"
    )


def _described(row: ProductMapping) -> str:
    """A mapped variant's id, with what the store calls it when known."""
    names = [name for name in (row.product_title, row.variant_title) if name]
    return f"{row.variant_id} ({' / '.join(names)})" if names else row.variant_id


async def create_product_mapping(
    qikink_sku_id: str,
    variant_id: str,
    *,
    describe: Callable[[str], Awaitable[VariantDetails]] | None = None,
) -> ProductMapping:
    """Map `variant_id` to `qikink_sku_id`. With `describe` (the store, when connected) the
    variant is looked up first: one the store does not have is refused, and nothing stored."""
    sku, variant = clean_sku(qikink_sku_id), clean_variant_id(variant_id)
    details = await describe(variant) if describe is not None else NOT_DESCRIBED
    try:
        return await ProductMapping.create(qikink_sku_id=sku, variant_id=variant, **asdict(details))
    except IntegrityError as exc:
        raise await _conflict(exc, sku, variant) from None


async def update_product_mapping(
    mapping_id: str,
    *,
    qikink_sku_id: str | None = None,
    variant_id: str | None = None,
    describe: Callable[[str], Awaitable[VariantDetails]] | None = None,
) -> ProductMapping:
    """Change a mapping; a new variant is looked up as `create_product_mapping` does (and its
    description replaces the old variant's)."""
    changes: dict[str, str | None] = {}
    if qikink_sku_id is not None:
        changes["qikink_sku_id"] = clean_sku(qikink_sku_id)
    if variant_id is not None:
        changes["variant_id"] = clean_variant_id(variant_id)
    if not changes:
        raise InvalidInput("Give a new Qikink SKU, a new variant id or both.", field=())
    row = await get_product_mapping(mapping_id)
    if row is None:
        raise NotFound(f"No product mapping has id {mapping_id!r}.")
    new_variant = changes.get("variant_id")
    if new_variant is not None:
        details = await describe(new_variant) if describe is not None else NOT_DESCRIBED
        if describe is not None or new_variant != row.variant_id:
            changes |= asdict(details)
    row.update_from_dict(changes)
    try:
        await row.save(update_fields=[*changes, "updated_at"])
    except IntegrityError as exc:
        raise await _conflict(exc, changes.get("qikink_sku_id"), new_variant) from None
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
