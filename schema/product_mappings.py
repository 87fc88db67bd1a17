"""Product mappings: store variant <-> Qikink SKU (admin only)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Self

import strawberry

from resolvers import product_mappings as resolve
from schema.common import DeletedPayload, Paged, SortDirection, from_attributes, list_query
from schema.context import Context
from schema.input_limits import at_most
from schema.permissions import IsAdmin
from services.product_mappings import MAX_VARIANT_IDS, ProductMappingOrder, ProductMappingQuery

if TYPE_CHECKING:
    from models import ProductMapping as ProductMappingRow

__all__ = ["ProductMappingMutation", "ProductMappingQueries"]


@strawberry.type(description="A store product variant printed as one Qikink SKU.")
class ProductMapping:
    id: strawberry.ID
    qikink_sku_id: str
    variant_id: str
    product_id: str | None = strawberry.field(
        description="The variant's product in the store (from Medusa, when connected to it)."
    )
    product_title: str | None = strawberry.field(
        description="The product's title, as the store had it when the mapping was saved."
    )
    variant_title: str | None = strawberry.field(
        description="The variant's title (e.g. S / White), as the store had it."
    )
    variant_sku: str | None = strawberry.field(
        description="The variant's own SKU in the store (not the Qikink SKU)."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, row: ProductMappingRow) -> Self:
        return from_attributes(cls, row)


@strawberry.type(description="One page of product mappings.")
class ProductMappingList(Paged[ProductMapping]):
    pass


@strawberry.enum(description="What product mappings can be ordered by.")
class ProductMappingOrderField(Enum):
    CREATED_AT = ProductMappingOrder.CREATED_AT
    UPDATED_AT = ProductMappingOrder.UPDATED_AT
    QIKINK_SKU_ID = ProductMappingOrder.QIKINK_SKU_ID
    VARIANT_ID = ProductMappingOrder.VARIANT_ID


@strawberry.input(description="Exact-match filters; all given ones must match.")
class ProductMappingFilter:
    qikink_sku_id: str | None = None
    variant_id: str | None = None
    variant_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        metadata=at_most(MAX_VARIANT_IDS, "variant ids"),
        description=(
            f"Any of these variants (at most {MAX_VARIANT_IDS}): a product's variants that "
            "are mapped."
        ),
    )


@strawberry.input(description="A new mapping from a store variant to a Qikink SKU.")
class ProductMappingInput:
    qikink_sku_id: str = strawberry.field(description="Qikink SKU, e.g. MVnHs-Wh-S (1-50 chars).")
    variant_id: str = strawberry.field(
        description=(
            "The store's product variant id; with the service connected to Medusa, one Medusa "
            "has (else BAD_USER_INPUT)."
        )
    )


@strawberry.input(description="The fields of a mapping to change; omitted ones stay.")
class ProductMappingUpdateInput:
    qikink_sku_id: str | None = None
    variant_id: str | None = None


@strawberry.type
class ProductMappingQueries:
    @strawberry.field(permission_classes=[IsAdmin], description="Product mappings, paged.")
    async def product_mappings(
        self,
        filter: ProductMappingFilter | None = None,
        limit: int = 50,
        offset: int = 0,
        order: ProductMappingOrderField = ProductMappingOrderField.CREATED_AT,
        order_direction: SortDirection = SortDirection.DESC,
    ) -> ProductMappingList:
        query = list_query(ProductMappingQuery, filter, order, order_direction)
        rows, count, page = await resolve.product_mappings(query, limit=limit, offset=offset)
        return ProductMappingList.of(ProductMapping.from_model, rows, count, page)

    @strawberry.field(permission_classes=[IsAdmin], description="One mapping, or null.")
    async def product_mapping(self, id: strawberry.ID) -> ProductMapping | None:
        row = await resolve.product_mapping(id)
        return ProductMapping.from_model(row) if row else None


@strawberry.type
class ProductMappingMutation:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description=(
            "Map a variant to a Qikink SKU; CONFLICT when either is mapped already. Connected "
            "to Medusa, the variant is looked up there first: BAD_USER_INPUT when Medusa has "
            "no such variant, MEDUSA_UNAVAILABLE when Medusa does not answer (nothing stored)."
        ),
    )
    async def create_product_mapping(
        self, info: strawberry.Info[Context], input: ProductMappingInput
    ) -> ProductMapping:
        row = await resolve.create_product_mapping(
            info.context.runtime, input.qikink_sku_id, input.variant_id
        )
        return ProductMapping.from_model(row)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Change a mapping; a new variant is looked up as createProductMapping does.",
    )
    async def update_product_mapping(
        self, info: strawberry.Info[Context], id: strawberry.ID, input: ProductMappingUpdateInput
    ) -> ProductMapping:
        row = await resolve.update_product_mapping(
            info.context.runtime, id, qikink_sku_id=input.qikink_sku_id, variant_id=input.variant_id
        )
        return ProductMapping.from_model(row)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Delete a mapping.")
    async def delete_product_mapping(self, id: strawberry.ID) -> DeletedPayload:
        deleted_id = await resolve.delete_product_mapping(id)
        return DeletedPayload(id=strawberry.ID(deleted_id), deleted=True)
