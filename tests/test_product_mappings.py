"""Product mappings through HTTP against the real app: CRUD, filters, order, paging, conflicts,
and the variant checked in Medusa when the service is connected to it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.applications import Starlette

from models import ProductMapping
from simulator import AppServer
from tests.conftest import TEST_JWT_SECRET, make_settings, serving
from tests.graphql_client import codes, gql, make_jwt
from tests.live_server import free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

    from tests.fake_medusa import FakeMedusa

FIELDS = "id qikinkSkuId variantId createdAt updatedAt"
DETAILS = "productId productTitle variantTitle variantSku"
ADMIN = {"authorization": f"Bearer {make_jwt(TEST_JWT_SECRET)}"}
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
    # The message names what holds the value, so the merchant knows which mapping to change.
    assert body["errors"][0]["message"] == (
        "Qikink SKU SKU-1 is already mapped to variant variant_1."
        if field == "input.qikinkSkuId"
        else "Variant variant_1 is already mapped to Qikink SKU SKU-1."
    )
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


async def test_variant_ids_match_any_of_them_and_combine_with_the_other_filters(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for i in range(4):
        await create(client, admin_headers, f"SKU-{i}", f"variant_{i}")
    # A product page's variants: some mapped, one not.
    product = ["variant_0", "variant_2", "variant_unmapped", "v" * 300]
    page = await listing(
        client, admin_headers, filter={"variantIds": product}, order="VARIANT_ID", dir="ASC"
    )
    assert [n["variantId"] for n in page["nodes"]] == ["variant_0", "variant_2"]
    assert page["count"] == 2
    narrowed = await listing(
        client, admin_headers, filter={"variantIds": product, "qikinkSkuId": "SKU-2"}
    )
    assert [n["variantId"] for n in narrowed["nodes"]] == ["variant_2"]
    apart = await listing(
        client, admin_headers, filter={"variantIds": ["variant_0"], "variantId": "variant_1"}
    )
    assert apart["count"] == 0
    none = await listing(client, admin_headers, filter={"variantIds": []})
    assert (none["count"], none["nodes"]) == (0, [])


async def test_at_most_200_variant_ids_are_taken_at_once(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await create(client, admin_headers, "SKU-199", "variant_199")
    ids = [f"variant_{i}" for i in range(200)]
    page = await listing(client, admin_headers, filter={"variantIds": ids})
    assert page["count"] == 1
    body = await gql(client, LIST, {"filter": {"variantIds": [*ids, "one_more"]}}, admin_headers)
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == "filter.variantIds"
    assert body["errors"][0]["message"] == "At most 200 variant ids."


async def test_without_medusa_any_variant_id_is_kept_and_nothing_is_known_of_it(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = await gql(
        client,
        f"""mutation($input: ProductMappingInput!) {{
          createProductMapping(input: $input) {{ variantId {DETAILS} }} }}""",
        {"input": {"qikinkSkuId": "SKU-1", "variantId": "variant_anything"}},
        admin_headers,
    )
    assert body["data"]["createProductMapping"] == {
        "variantId": "variant_anything",
        "productId": None,
        "productTitle": None,
        "variantTitle": None,
        "variantSku": None,
    }


# -- connected to Medusa -------------------------------------------------------------------------

DESCRIBED = f"""mutation($input: ProductMappingInput!) {{
  createProductMapping(input: $input) {{ id qikinkSkuId variantId {DETAILS} }} }}"""
UPDATE_DESCRIBED = f"""mutation($id: ID!, $input: ProductMappingUpdateInput!) {{
  updateProductMapping(id: $id, input: $input) {{ id qikinkSkuId variantId {DETAILS} }} }}"""


async def map_variant(http: httpx.AsyncClient, sku: str, variant: str) -> dict[str, Any]:
    """The answer to creating a mapping, with what is known of its variant."""
    return await gql(http, DESCRIBED, {"input": {"qikinkSkuId": sku, "variantId": variant}}, ADMIN)


def connected(database_url: str, medusa_url: str, api_key: str) -> Any:
    """The app connected to the Medusa at `medusa_url` (no sweep), and a client of it."""
    settings = make_settings(
        database_url,
        medusa_backend_url=medusa_url,
        medusa_api_key=api_key,
        reconcile_interval_seconds=0,
    )
    return serving(settings)


@pytest.fixture
async def medusa_shop(
    database_url: str, fake_medusa: tuple[FakeMedusa, AppServer]
) -> AsyncIterator[tuple[httpx.AsyncClient, FakeMedusa]]:
    """The service connected to a Medusa whose catalogue has two variants of one tee."""
    fake, server = fake_medusa
    fake.add_variant("variant_tee_s", title="S / White", sku="TEE-S-WH")
    fake.add_variant("variant_tee_m", title="M / White", sku="TEE-M-WH")
    async with connected(database_url, server.url, fake.api_key) as http:
        yield http, fake


async def test_an_unknown_variant_is_refused_naming_it_and_nothing_is_stored(
    medusa_shop: tuple[httpx.AsyncClient, FakeMedusa],
) -> None:
    http, fake = medusa_shop
    body = await map_variant(http, "MVnHs-Wh-S", "variant_typo")
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["message"] == "No variant variant_typo in Medusa."
    assert body["errors"][0]["extensions"]["field"] == "input.variantId"
    assert await ProductMapping.all().count() == 0
    # Medusa was asked for that variant alone, as its variant list takes ids.
    asked = parse_qs(urlsplit(fake.requests[-1]).query)
    assert asked["id[]"] == ["variant_typo"]
    assert asked["fields"] == ["id,title,sku,product_id,product.id,product.title"]


async def test_a_known_variants_product_title_and_sku_are_kept_and_returned(
    medusa_shop: tuple[httpx.AsyncClient, FakeMedusa],
) -> None:
    http, fake = medusa_shop
    body = await map_variant(http, "MVnHs-Wh-S", "variant_tee_s")
    created = body["data"]["createProductMapping"]
    assert created == {
        "id": created["id"],
        "qikinkSkuId": "MVnHs-Wh-S",
        "variantId": "variant_tee_s",
        "productId": "prod_tee",
        "productTitle": "Organic Tee",
        "variantTitle": "S / White",
        "variantSku": "TEE-S-WH",
    }
    # Kept: read back later, the same, without asking Medusa again.
    asked = len(fake.requests)
    read = await gql(
        http,
        f"query($id: ID!) {{ productMapping(id: $id) {{ id qikinkSkuId variantId {DETAILS} }} }}",
        {"id": created["id"]},
        ADMIN,
    )
    assert read["data"]["productMapping"] == created
    listed = await gql(http, f"{{ productMappings {{ nodes {{ {DETAILS} }} }} }}", None, ADMIN)
    assert listed["data"]["productMappings"]["nodes"] == [
        {k: created[k] for k in ("productId", "productTitle", "variantTitle", "variantSku")}
    ]
    assert len(fake.requests) == asked


async def test_an_update_to_another_variant_checks_it_and_takes_its_details(
    medusa_shop: tuple[httpx.AsyncClient, FakeMedusa],
) -> None:
    http, _ = medusa_shop
    made = await map_variant(http, "MVnHs-Wh-S", "variant_tee_s")
    mapping_id = made["data"]["createProductMapping"]["id"]
    refused = await gql(
        http, UPDATE_DESCRIBED, {"id": mapping_id, "input": {"variantId": "variant_gone"}}, ADMIN
    )
    assert codes(refused) == ["BAD_USER_INPUT"]
    assert refused["errors"][0]["message"] == "No variant variant_gone in Medusa."
    row = await ProductMapping.get(id=mapping_id)
    assert (row.variant_id, row.variant_sku) == ("variant_tee_s", "TEE-S-WH")

    moved = await gql(
        http, UPDATE_DESCRIBED, {"id": mapping_id, "input": {"variantId": "variant_tee_m"}}, ADMIN
    )
    now = moved["data"]["updateProductMapping"]
    assert (now["variantId"], now["variantTitle"], now["variantSku"]) == (
        "variant_tee_m",
        "M / White",
        "TEE-M-WH",
    )
    # A new Qikink SKU alone keeps the variant and what is known of it.
    resku = await gql(
        http, UPDATE_DESCRIBED, {"id": mapping_id, "input": {"qikinkSkuId": "MVnHs-Wh-M"}}, ADMIN
    )
    assert resku["data"]["updateProductMapping"] == {**now, "qikinkSkuId": "MVnHs-Wh-M"}

    # A mapping saved before the service was connected is described by naming its variant again.
    await ProductMapping.filter(id=mapping_id).update(
        product_id=None, product_title=None, variant_title=None, variant_sku=None
    )
    again = await gql(
        http, UPDATE_DESCRIBED, {"id": mapping_id, "input": {"variantId": "variant_tee_m"}}, ADMIN
    )
    assert again["data"]["updateProductMapping"] == resku["data"]["updateProductMapping"]


async def test_a_duplicate_sku_names_the_variant_holding_it_by_its_title(
    medusa_shop: tuple[httpx.AsyncClient, FakeMedusa],
) -> None:
    http, _ = medusa_shop
    await map_variant(http, "MVnHs-Wh-S", "variant_tee_s")
    body = await map_variant(http, "MVnHs-Wh-S", "variant_tee_m")
    assert codes(body) == ["CONFLICT"]
    assert body["errors"][0]["message"] == (
        "Qikink SKU MVnHs-Wh-S is already mapped to variant variant_tee_s "
        "(Organic Tee / S / White)."
    )
    assert await ProductMapping.all().count() == 1


async def test_medusa_out_of_reach_is_medusa_unavailable_and_nothing_is_stored(
    database_url: str,
) -> None:
    async with connected(database_url, f"http://127.0.0.1:{free_port()}", "sk_test") as http:
        body = await map_variant(http, "SKU-1", "variant_1")
        assert codes(body) == ["MEDUSA_UNAVAILABLE"]
        message = body["errors"][0]["message"]
        assert message.startswith("Medusa did not answer, so variant variant_1 could not be")
        assert "nothing was stored" in message
        assert await ProductMapping.all().count() == 0


async def test_an_address_that_is_no_medusa_backend_is_said_so_and_nothing_is_stored(
    database_url: str,
) -> None:
    with AppServer(Starlette()) as elsewhere:
        async with connected(database_url, elsewhere.url, "sk_test") as http:
            body = await map_variant(http, "SKU-1", "variant_1")
            assert codes(body) == ["MEDUSA_REJECTED"]
            assert body["errors"][0]["message"] == (
                f"{elsewhere.url} has no Medusa v2 variant list (/admin/product-variants): "
                "check MEDUSA_BACKEND_URL."
            )
            assert await ProductMapping.all().count() == 0


async def test_a_refused_medusa_key_stores_nothing(
    database_url: str, fake_medusa: tuple[FakeMedusa, AppServer]
) -> None:
    fake, server = fake_medusa
    fake.add_variant("variant_1")
    async with connected(database_url, server.url, "sk_wrong") as http:
        body = await map_variant(http, "SKU-1", "variant_1")
        assert codes(body) == ["MEDUSA_REJECTED"]
        assert "sk_wrong" not in body["errors"][0]["message"]
        assert await ProductMapping.all().count() == 0
