from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from services import medusa
from services import product_mappings as service
from services.db import uninterrupted
from services.errors import within
from services.paging import Page, check_page
from services.validation import check_id

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from models import ProductMapping
    from runtime import Runtime

__all__ = [
    "create_product_mapping",
    "delete_product_mapping",
    "product_mapping",
    "product_mappings",
    "update_product_mapping",
]


def _describe(runtime: Runtime) -> Callable[[str], Awaitable[service.VariantDetails]] | None:
    """How a mapped variant is checked: in Medusa when connected to it, not at all otherwise."""
    if runtime.medusa is None:
        return None
    return partial(medusa.variant_details, runtime.medusa)


@uninterrupted
async def product_mappings(
    query: service.ProductMappingQuery, *, limit: int, offset: int
) -> tuple[list[ProductMapping], int, Page]:
    page = check_page(limit, offset)
    nodes, count = await service.list_product_mappings(query, page)
    return nodes, count, page


@uninterrupted
async def product_mapping(mapping_id: str) -> ProductMapping | None:
    return await service.get_product_mapping(check_id(mapping_id))


@uninterrupted
async def create_product_mapping(
    runtime: Runtime, qikink_sku_id: str, variant_id: str
) -> ProductMapping:
    with within("input"):
        return await service.create_product_mapping(
            qikink_sku_id, variant_id, describe=_describe(runtime)
        )


@uninterrupted
async def update_product_mapping(
    runtime: Runtime, mapping_id: str, *, qikink_sku_id: str | None, variant_id: str | None
) -> ProductMapping:
    mapping_id = check_id(mapping_id)
    with within("input"):
        return await service.update_product_mapping(
            mapping_id,
            qikink_sku_id=qikink_sku_id,
            variant_id=variant_id,
            describe=_describe(runtime),
        )


@uninterrupted
async def delete_product_mapping(mapping_id: str) -> str:
    return await service.delete_product_mapping(check_id(mapping_id))
