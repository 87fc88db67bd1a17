"""Product mappings through HTTP against the real app: CRUD, filters, order, paging, conflicts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from models import ProductMapping
from tests.graphql_client import codes, gql

if TYPE_CHECKING:
    import httpx

FIELDS = "id qikinkSkuId variantId createdAt updatedAt"
CREATE = f"""mutation($input: ProductMappingInput!) {{
  createProductMapping(input: $input) {{ {FIELDS} }} }}"""
UPDATE = f"""mutation($id: ID!, $input: ProductMappingUpdateInput!) {{
  updateProductMapping(id: $id, input: $input) {{ {FIELDS} }} }}"""
DELETE = "mutation($id: ID!) { deleteProductMapping(id: $id) { id deleted } }"
GET = f"query($id: ID!) {{ productMapping(id: $id) {{ {FIELDS} }} }}"
LIST = f"""query($filter: ProductMappingFilter, $limit: Int, $offset: Int,
  $order: ProductMappingOrderField, $dir: SortDirection) {{
  productMappings(filter: $filter, limit: $limit, offset: $offset, order: $order,
    orderDirection: $dir) {{ count limit offset nodes {{ {FIELDS} }} }} }}"""


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], sku: str, variant: str
) -> dict[str, Any]:
    body = await gql(client, CREATE, {"input": {"qikinkSkuId": sku, "variantId": variant}}, headers)
    assert "errors" not in body, body
    return body["data"]["createProductMapping"]


async def listing(
    client: httpx.AsyncClient, headers: dict[str, str], **variables: Any
) -> dict[str, Any]:
    body = await gql(client, LIST, variables, headers)
    assert "errors" not in body, body
    return body["data"]["productMappings"]


async def test_a_created_mapping_can_be_read_updated_and_deleted(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await create(client, admin_headers, "MVnHs-Wh-S", "variant_01")
    assert created["id"].startswith("pm_")
    assert (created["qikinkSkuId"], created["variantId"]) == ("MVnHs-Wh-S", "variant_01")

    fetched = await gql(client, GET, {"id": created["id"]}, admin_headers)
    assert fetched["data"]["productMapping"] == created

    updated = await gql(
        client, UPDATE, {"id": created["id"], "input": {"qikinkSkuId": "MVnHs-Bk-S"}}, admin_headers
    )
    row = updated["data"]["updateProductMapping"]
    assert (row["qikinkSkuId"], row["variantId"]) == ("MVnHs-Bk-S", "variant_01")
    assert row["updatedAt"] >= created["updatedAt"]

    deleted = await gql(client, DELETE, {"id": created["id"]}, admin_headers)
    assert deleted["data"]["deleteProductMapping"] == {"id": created["id"], "deleted": True}
    gone = await gql(client, GET, {"id": created["id"]}, admin_headers)
    assert gone["data"]["productMapping"] is None


async def test_values_are_trimmed_before_they_are_stored(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await create(client, admin_headers, "  MVnHs-Wh-S ", " variant_01\t")
    assert (created["qikinkSkuId"], created["variantId"]) == ("MVnHs-Wh-S", "variant_01")


@pytest.mark.parametrize(
    ("second", "field"),
    [
        ({"qikinkSkuId": "SKU-1", "variantId": "variant_other"}, "input.qikinkSkuId"),
        ({"qikinkSkuId": "SKU-other", "variantId": "variant_1"}, "input.variantId"),
    ],
)
async def test_a_duplicate_sku_or_variant_is_a_conflict(
    client: httpx.AsyncClient, admin_headers: dict[str, str], second: dict[str, str], field: str
) -> None:
    await create(client, admin_headers, "SKU-1", "variant_1")
    body = await gql(client, CREATE, {"input": second}, admin_headers)
    assert codes(body) == ["CONFLICT"]
    assert body["errors"][0]["extensions"]["field"] == field
    assert await ProductMapping.all().count() == 1


async def test_an_update_onto_a_taken_value_is_a_conflict_and_changes_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    first = await create(client, admin_headers, "SKU-1", "variant_1")
    await create(client, admin_headers, "SKU-2", "variant_2")
    body = await gql(
        client, UPDATE, {"id": first["id"], "input": {"variantId": "variant_2"}}, admin_headers
    )
    assert codes(body) == ["CONFLICT"]
    row = await ProductMapping.get(id=first["id"])
    assert row.variant_id == "variant_1"


async def test_twenty_concurrent_duplicate_creates_give_one_mapping_and_nineteen_conflicts(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    variables = {"input": {"qikinkSkuId": "RACE-SKU", "variantId": "variant_race"}}
    bodies = await asyncio.gather(
        *(gql(client, CREATE, variables, admin_headers) for _ in range(20))
    )
    successes = [body for body in bodies if "errors" not in body]
    conflicts = [body for body in bodies if codes(body) == ["CONFLICT"]]
    assert (len(successes), len(conflicts)) == (1, 19)
    assert await ProductMapping.all().count() == 1


async def test_filters_match_exactly_and_count_all_matches(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for i in range(3):
        await create(client, admin_headers, f"SKU-{i}", f"variant_{i}")
    by_sku = await listing(client, admin_headers, filter={"qikinkSkuId": "SKU-1"})
    assert [n["variantId"] for n in by_sku["nodes"]] == ["variant_1"]
    assert by_sku["count"] == 1
    by_variant = await listing(client, admin_headers, filter={"variantId": "variant_2"})
    assert [n["qikinkSkuId"] for n in by_variant["nodes"]] == ["SKU-2"]
    both = await listing(
        client, admin_headers, filter={"qikinkSkuId": "SKU-1", "variantId": "variant_2"}
    )
    assert both == {"count": 0, "limit": 50, "offset": 0, "nodes": []}
    partial = await listing(client, admin_headers, filter={"qikinkSkuId": "SKU"})
    assert partial["count"] == 0


async def test_pages_cover_every_mapping_once_in_the_requested_order(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    skus = ["C-SKU", "A-SKU", "E-SKU", "B-SKU", "D-SKU"]
    for i, sku in enumerate(skus):
        await create(client, admin_headers, sku, f"variant_{i}")

    seen: list[str] = []
    for offset in (0, 2, 4):
        page = await listing(
            client, admin_headers, limit=2, offset=offset, order="QIKINK_SKU_ID", dir="ASC"
        )
        assert (page["count"], page["limit"], page["offset"]) == (5, 2, offset)
        seen += [node["qikinkSkuId"] for node in page["nodes"]]
    assert seen == sorted(skus)

    descending = await listing(client, admin_headers, order="VARIANT_ID", dir="DESC")
    assert [n["variantId"] for n in descending["nodes"]] == [
        f"variant_{i}" for i in range(4, -1, -1)
    ]

    newest_first = await listing(client, admin_headers)
    assert [n["qikinkSkuId"] for n in newest_first["nodes"]] == list(reversed(skus))
    beyond = await listing(client, admin_headers, offset=10)
    assert (beyond["count"], beyond["nodes"]) == (5, [])


async def test_equal_sort_keys_are_ordered_by_id_so_pages_never_overlap(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for i in range(6):
        await create(client, admin_headers, f"SKU-{i}", f"variant_{i}")
    # Give every row the same timestamp so only the tie-break decides.
    await ProductMapping.all().update(created_at=datetime(2026, 1, 1, tzinfo=UTC))
    ids: list[str] = []
    for offset in range(0, 6, 4):
        page = await listing(client, admin_headers, limit=4, offset=offset, dir="ASC")
        ids += [node["id"] for node in page["nodes"]]
    assert ids == sorted(ids)
    assert len(set(ids)) == 6


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": -5}, "limit"),
        ({"offset": -1}, "offset"),
    ],
)
async def test_out_of_range_paging_is_bad_user_input(
    client: httpx.AsyncClient, admin_headers: dict[str, str], variables: dict[str, int], field: str
) -> None:
    body = await gql(client, LIST, variables, admin_headers)
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == field


async def test_the_largest_page_is_allowed(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    page = await listing(client, admin_headers, limit=200)
    assert page["limit"] == 200


@pytest.mark.parametrize(
    "payload",
    [
        {"qikinkSkuId": "", "variantId": "variant_1"},
        {"qikinkSkuId": "   ", "variantId": "variant_1"},
        {"qikinkSkuId": "S" * 51, "variantId": "variant_1"},
        {"qikinkSkuId": "has space", "variantId": "variant_1"},
        {"qikinkSkuId": "SKU\x00", "variantId": "variant_1"},
        {"qikinkSkuId": "SKU-1", "variantId": ""},
        {"qikinkSkuId": "SKU-1", "variantId": "v" * 256},
    ],
)
async def test_bad_create_input_is_refused_and_stores_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str], payload: dict[str, str]
) -> None:
    body = await gql(client, CREATE, {"input": payload}, admin_headers)
    assert codes(body) == ["BAD_USER_INPUT"]
    assert await ProductMapping.all().count() == 0


async def test_bad_update_input_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await create(client, admin_headers, "SKU-1", "variant_1")
    for update in ({}, {"qikinkSkuId": ""}, {"variantId": "x" * 300}):
        body = await gql(client, UPDATE, {"id": created["id"], "input": update}, admin_headers)
        assert codes(body) == ["BAD_USER_INPUT"], update
    row = await ProductMapping.get(id=created["id"])
    assert (row.qikink_sku_id, row.variant_id) == ("SKU-1", "variant_1")


async def test_missing_ids_are_null_for_queries_and_not_found_for_mutations(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    missing = {"id": "pm_does_not_exist"}
    assert (await gql(client, GET, missing, admin_headers))["data"]["productMapping"] is None
    update = await gql(client, UPDATE, {**missing, "input": {"variantId": "v"}}, admin_headers)
    assert codes(update) == ["NOT_FOUND"]
    assert codes(await gql(client, DELETE, missing, admin_headers)) == ["NOT_FOUND"]


async def test_an_empty_id_is_bad_user_input(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    assert codes(await gql(client, GET, {"id": " "}, admin_headers)) == ["BAD_USER_INPUT"]
    assert codes(await gql(client, DELETE, {"id": ""}, admin_headers)) == ["BAD_USER_INPUT"]


async def test_ids_and_filters_longer_than_any_stored_value_match_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    long_id = {"id": "9" * 33}
    assert (await gql(client, GET, long_id, admin_headers))["data"]["productMapping"] is None
    assert codes(await gql(client, DELETE, long_id, admin_headers)) == ["NOT_FOUND"]
    for value in ({"qikinkSkuId": "9" * 51}, {"variantId": "9" * 256}):
        page = await listing(client, admin_headers, filter=value)
        assert (page["count"], page["nodes"]) == (0, [])
