"""Product mappings: store variant <-> Qikink SKU (admin only)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Self

import strawberry

from resolvers import product_mappings as resolve
from schema.common import DeletedPayload, Paged, SortDirection, from_attributes, list_query
from schema.permissions import IsAdmin
from services.product_mappings import ProductMappingOrder, ProductMappingQuery

if TYPE_CHECKING:
    from models import ProductMapping as ProductMappingRow

__all__ = ["ProductMappingMutation", "ProductMappingQueries"]


@strawberry.type(description="A store product variant printed as one Qikink SKU.")
class ProductMapping:
    id: strawberry.ID
    qikink_sku_id: str
    variant_id: str
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


@strawberry.input(description="A new mapping from a store variant to a Qikink SKU.")
class ProductMappingInput:
    qikink_sku_id: str = strawberry.field(description="Qikink SKU, e.g. MVnHs-Wh-S (1-50 chars).")
    variant_id: str = strawberry.field(description="The store's product variant id.")


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
        description="Map a variant to a Qikink SKU; CONFLICT when either is mapped already.",
    )
    async def create_product_mapping(self, input: ProductMappingInput) -> ProductMapping:
        row = await resolve.create_product_mapping(input.qikink_sku_id, input.variant_id)
        return ProductMapping.from_model(row)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Change a mapping.")
    async def update_product_mapping(
        self, id: strawberry.ID, input: ProductMappingUpdateInput
    ) -> ProductMapping:
        row = await resolve.update_product_mapping(
            id, qikink_sku_id=input.qikink_sku_id, variant_id=input.variant_id
        )
        return ProductMapping.from_model(row)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Delete a mapping.")
    async def delete_product_mapping(self, id: strawberry.ID) -> DeletedPayload:
        deleted_id = await resolve.delete_product_mapping(id)
        return DeletedPayload(id=strawberry.ID(deleted_id), deleted=True)
