"""Reading order mappings: storefront and admin views, filters, order and paging.

Lists are an admin's view here; who else may list what is tests/test_access.py's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from models import OrderMapping, OrderMappingStatus, SubmitState
from tests.conftest import TEST_JWT_SECRET
from tests.graphql_client import codes, gql, make_jwt

if TYPE_CHECKING:
    import httpx

PUBLIC = """id medusaOrderId qikinkOrderId qikinkOrderNumber status qikinkStatus trackingNumber
  courier trackingUrl createdAt updatedAt lastSyncedAt"""
LIST = f"""query($filter: OrderMappingFilter, $limit: Int, $offset: Int,
  $order: OrderMappingOrderField, $dir: SortDirection) {{
  qikinkOrderMappings(filter: $filter, limit: $limit, offset: $offset, order: $order,
    orderDirection: $dir) {{ count limit offset nodes {{ {PUBLIC} }} }} }}"""
ADMIN_ONLY = (
    "query($id: ID!) { qikinkOrderMapping(id: $id) { id attempts lastError nextAttemptAt "
    "customerId email medusaSyncError } }"
)
ADMIN = {"authorization": f"Bearer {make_jwt(TEST_JWT_SECRET)}"}


async def seed(count: int = 5) -> list[OrderMapping]:
    statuses = [
        OrderMappingStatus.SUBMITTED,
        OrderMappingStatus.SHIPPED,
        OrderMappingStatus.PENDING,
        OrderMappingStatus.SHIPPED,
        OrderMappingStatus.FAILED,
    ]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    rows = []
    for i in range(count):
        row = await OrderMapping.create(
            medusa_order_id=f"order_{i:02d}",
            qikink_order_id=str(4518800 + i) if statuses[i] != OrderMappingStatus.PENDING else None,
            qikink_order_number=f"SO{i:04d}",
            status=statuses[i % len(statuses)],
            qikink_status="In-Transit" if statuses[i] == OrderMappingStatus.SHIPPED else None,
            tracking_number="1234567890123" if i == 1 else None,
            courier="Delhivery" if i == 1 else None,
            tracking_url="https://courierupdates.com/?awb=1234567890123" if i == 1 else None,
            attempts=i,
            last_error="Invalid SKU" if statuses[i] == OrderMappingStatus.FAILED else None,
            submit_state=SubmitState.DONE,
            customer_id=f"cus_{i % 2}",
            email=f"buyer{i}@example.com",
            medusa_display_id=str(i + 1),
        )
        # Distinct creation times, oldest first, so ordering is observable.
        row.created_at = start + timedelta(hours=i)
        await OrderMapping.filter(id=row.id).update(created_at=row.created_at)
        rows.append(row)
    return rows


async def listing(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    body = await gql(client, LIST, variables, ADMIN)
    assert "errors" not in body, body
    return body["data"]["qikinkOrderMappings"]


async def test_storefronts_see_every_public_field_of_a_mapping(client: httpx.AsyncClient) -> None:
    rows = await seed()
    body = await gql(
        client,
        f"query($id: ID!) {{ qikinkOrderMapping(id: $id) {{ {PUBLIC} }} }}",
        {"id": "order_01"},  # the store order's id: what a storefront knows
    )
    mapping = body["data"]["qikinkOrderMapping"]
    assert mapping["id"] == rows[1].id
    assert mapping["medusaOrderId"] == "order_01"
    assert mapping["qikinkOrderId"] == "4518801"
    assert mapping["qikinkOrderNumber"] == "SO0001"
    assert mapping["status"] == "SHIPPED"
    assert mapping["qikinkStatus"] == "In-Transit"
    assert mapping["trackingNumber"] == "1234567890123"
    assert mapping["courier"] == "Delhivery"
    assert mapping["trackingUrl"].endswith("awb=1234567890123")
    assert mapping["createdAt"].startswith("2026-11-01T01:00:00")
    assert mapping["lastSyncedAt"] is None


async def test_storefronts_cannot_read_admin_only_fields(client: httpx.AsyncClient) -> None:
    rows = await seed()
    body = await gql(client, ADMIN_ONLY, {"id": "order_04"})
    assert body["data"]["qikinkOrderMapping"] == {
        "id": rows[4].id,
        "attempts": None,
        "lastError": None,
        "nextAttemptAt": None,
        "customerId": None,
        "email": None,
        "medusaSyncError": None,
    }
    assert sorted(codes(body)) == ["UNAUTHENTICATED"] * 6


async def test_admins_read_the_submission_fields(client: httpx.AsyncClient) -> None:
    rows = await seed()
    for key in (rows[4].id, "order_04"):  # by the mapping's id, or the store order's
        body = await gql(client, ADMIN_ONLY, {"id": key}, ADMIN)
        assert "errors" not in body
        mapping = body["data"]["qikinkOrderMapping"]
        assert mapping["id"] == rows[4].id
        assert mapping["attempts"] == 4
        assert mapping["lastError"] == "Invalid SKU"
        assert (mapping["customerId"], mapping["email"]) == ("cus_0", "buyer4@example.com")


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"status": "SHIPPED"}, ["order_03", "order_01"]),
        ({"medusaOrderId": "order_02"}, ["order_02"]),
        ({"qikinkOrderId": "4518804"}, ["order_04"]),
        ({"status": "SHIPPED", "medusaOrderId": "order_03"}, ["order_03"]),
        ({"status": "COMPLETED"}, []),
    ],
)
async def test_filters_select_matching_mappings_newest_first(
    client: httpx.AsyncClient, filter: dict[str, str], expected: list[str]
) -> None:
    await seed()
    page = await listing(client, filter=filter)
    assert [node["medusaOrderId"] for node in page["nodes"]] == expected
    assert page["count"] == len(expected)


async def test_pages_walk_every_mapping_once_oldest_first(client: httpx.AsyncClient) -> None:
    await seed()
    seen: list[str] = []
    for offset in (0, 2, 4):
        page = await listing(client, limit=2, offset=offset, dir="ASC")
        assert page["count"] == 5
        seen += [node["medusaOrderId"] for node in page["nodes"]]
    assert seen == [f"order_{i:02d}" for i in range(5)]


async def test_ordering_by_status_groups_equal_statuses(client: httpx.AsyncClient) -> None:
    await seed()
    page = await listing(client, order="STATUS", dir="ASC")
    statuses = [node["status"] for node in page["nodes"]]
    assert statuses == sorted(statuses)


async def test_a_missing_mapping_is_null_and_bad_paging_is_refused(
    client: httpx.AsyncClient,
) -> None:
    body = await gql(client, 'query { qikinkOrderMapping(id: "om_missing") { id } }')
    assert body == {"data": {"qikinkOrderMapping": None}}
    assert codes(await gql(client, LIST, {"limit": 201}, ADMIN)) == ["BAD_USER_INPUT"]
    assert codes(await gql(client, LIST, {"offset": -1}, ADMIN)) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("3", ["order_02"]),
        ("#3", ["order_02"]),
        (" # 3 ", ["order_02"]),
        ("order_04", ["order_04"]),
        ("order_0", []),
        ("#", []),
        ("9" * 300, []),
        ("", [f"order_{i:02d}" for i in range(4, -1, -1)]),
    ],
)
async def test_admins_search_by_store_order_id_or_display_id(
    client: httpx.AsyncClient, search: str, expected: list[str]
) -> None:
    await seed()
    page = await listing(client, filter={"search": search})
    assert [node["medusaOrderId"] for node in page["nodes"]] == expected
    assert page["count"] == len(expected)


async def test_search_combines_with_the_status_filter_and_pages(client: httpx.AsyncClient) -> None:
    await seed()
    # A display id that is also another order's id: both match, newest first.
    await OrderMapping.filter(medusa_order_id="order_01").update(medusa_display_id="order_03")
    both = await listing(client, filter={"search": "order_03"}, limit=1)
    assert (both["count"], [n["medusaOrderId"] for n in both["nodes"]]) == (2, ["order_03"])
    shipped = await listing(client, filter={"search": "#2", "status": "SHIPPED"})
    assert shipped["count"] == 0
    pending = await listing(client, filter={"search": "#3", "status": "PENDING"})
    assert [node["medusaOrderId"] for node in pending["nodes"]] == ["order_02"]


async def test_storefronts_cannot_search(client: httpx.AsyncClient) -> None:
    await seed()
    body = await gql(client, LIST, {"filter": {"search": "3", "medusaOrderId": "order_02"}})
    assert codes(body) == ["FORBIDDEN"]
    assert body["errors"][0]["extensions"]["field"] == "filter.search"
