"""Operations refused by their root fields before any input is read (schema.gate), over HTTP:
permissions before variables, one Qikink call per storefront operation, capped input lists."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from schema.permissions import IsAdmin, QikinkProxy
from tests.conftest import TEST_JWT_SECRET, qikink_settings, serving
from tests.graphql_client import codes, gql, make_jwt, qikink_order_input, store_order_input

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

    from simulator import SimulatorServer

ADMIN = {"authorization": f"Bearer {make_jwt(TEST_JWT_SECRET)}"}
CREATE = """mutation($input: QikinkOrderInput!) {
  createQikinkOrder(input: $input) { orderId } }"""
SUBMIT = "mutation($order: StoreOrderInput!) { submitStoreOrder(order: $order) { skipped } }"
LINE = {"sku": "MVnHs-Wh-S", "quantity": 1, "price": "549"}


def with_lines(count: int, **line: Any) -> dict[str, Any]:
    return qikink_order_input(lineItems=[{**LINE, **line}] * count)


async def test_an_anonymous_callers_input_is_never_read(client: httpx.AsyncClient) -> None:
    # Coerced first, this input would be described back (its unknown and missing fields, the
    # line items over the cap); refused first, the caller learns only that the field is not
    # theirs, and the service spends nothing on it. (A body over the non-admin limit, 64 KiB,
    # is refused before it is read at all: tests/test_http_guards.py.)
    for variables in ({"input": {"nonsense": 1}}, {"input": with_lines(1_000, sku="A")}):
        body = await gql(client, CREATE, variables)
        assert body == {
            "data": None,
            "errors": [
                {
                    "message": QikinkProxy.closed_message,
                    "locations": [{"line": 2, "column": 3}],
                    "path": ["createQikinkOrder"],
                    "extensions": {"code": "UNAUTHENTICATED"},
                }
            ],
        }
    refused = await gql(client, SUBMIT, {"order": {"items": [{"nonsense": 1}] * 2000}})
    assert codes(refused) == ["UNAUTHENTICATED"]
    assert refused["errors"][0]["message"] == IsAdmin.message


async def test_a_refused_root_field_refuses_the_whole_operation(
    client: httpx.AsyncClient,
) -> None:
    query = """query($f: ProductMappingFilter) {
      qikinkOrderMappings(filter: { medusaOrderId: "order_1" }) { count }
      productMappings(filter: $f) { count } }"""
    body = await gql(client, query, {"f": {"nonsense": 1}})
    assert body["data"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["productMappings"], "UNAUTHENTICATED")
    ]
    # An admin's operation runs, and its variables are checked as ever.
    admin = await gql(client, query, {"f": {"nonsense": 1}}, headers=ADMIN)
    assert "nonsense" in admin["errors"][0]["message"]


@pytest.mark.parametrize(
    "query",
    [
        """query($f: ProductMappingFilter) {
          ... on Query { productMappings(filter: $f) { count } } }""",
        """query($f: ProductMappingFilter) { ...Listing }
        fragment Listing on Query { ...Inner }
        fragment Inner on Query { list: productMappings(filter: $f) { count } }""",
        """query($f: ProductMappingFilter, $yes: Boolean = true) {
          productMappings(filter: $f) @include(if: $yes) { count } }""",
    ],
)
async def test_fragments_and_aliases_do_not_hide_a_root_field(
    client: httpx.AsyncClient, query: str
) -> None:
    body = await gql(client, query, {"f": {"nonsense": 1}})
    assert codes(body) == ["UNAUTHENTICATED"]


async def test_a_skipped_root_field_is_not_refused(client: httpx.AsyncClient) -> None:
    query = """query($admin: Boolean!) {
      qikinkOrderMappings(filter: { medusaOrderId: "order_1" }) { count }
      productMappings @include(if: $admin) { count } }"""
    body = await gql(client, query, {"admin": False})
    assert body == {"data": {"qikinkOrderMappings": {"count": 0}}}


@pytest.fixture
async def open_proxy(
    database_url: str, sim_server: SimulatorServer
) -> AsyncIterator[httpx.AsyncClient]:
    settings = qikink_settings(
        database_url, sim_server, storefront_qikink_proxy=True, qikink_publishable_keys=["pk_1"]
    )
    async with serving(settings) as http:
        http.headers["x-publishable-api-key"] = "pk_1"
        yield http


async def test_a_storefront_makes_one_qikink_call_per_operation(
    open_proxy: httpx.AsyncClient, sim_server: SimulatorServer
) -> None:
    twice = """query($id: ID!) { a: qikinkOrders { orderId }
      ...More } fragment More on Query { b: qikinkOrder(id: $id) { orderId } }"""
    refused = await gql(open_proxy, twice, {"id": "1"})
    assert codes(refused) == ["BAD_USER_INPUT"]
    assert refused["errors"][0]["message"] == (
        "An operation may make at most one Qikink call for a storefront; this one makes 2 "
        "(a, b): send each in its own request."
    )
    assert refused["errors"][0]["path"] == ["b"]
    assert sim_server.sim.requests == []
    # One field selected twice under one name is one call.
    once = await gql(open_proxy, "{ qikinkOrders { orderId } qikinkOrders { status } }")
    assert once == {"data": {"qikinkOrders": []}}
    # An admin has the whole budget.
    admin = await gql(open_proxy, twice, {"id": "1"}, headers=ADMIN)
    assert admin == {"data": {"a": [], "b": None}}


async def test_more_than_100_line_items_are_refused_for_admins_too(
    client: httpx.AsyncClient,
) -> None:
    over = await gql(client, CREATE, {"input": with_lines(101)}, headers=ADMIN)
    assert over["errors"] == [
        {
            "message": "At most 100 line items per order.",
            "locations": [{"line": 2, "column": 3}],
            "path": ["createQikinkOrder"],
            "extensions": {"code": "BAD_USER_INPUT", "field": "input.lineItems"},
        }
    ]
    # 24,000 of them are refused the same way, before graphql-core coerces one.
    small = {"sku": "A", "price": "1"}
    huge = await gql(client, CREATE, {"input": with_lines(24_000, **small)}, headers=ADMIN)
    assert huge["errors"] == over["errors"]
    at_cap = await gql(client, CREATE, {"input": with_lines(100)}, headers=ADMIN)
    assert "errors" not in at_cap, at_cap


async def test_caps_hold_wherever_the_list_is_written(client: httpx.AsyncClient) -> None:
    literal = (
        "mutation($line: QikinkLineItemInput!, $address: QikinkAddressInput!) { "
        'createQikinkOrder(input: { orderNumber: "SO1", gateway: PREPAID, totalOrderValue: 1, '
        f"shippingAddress: $address, lineItems: [{', '.join(['$line'] * 101)}] }}) "
        "{ orderId } }"
    )
    variables = {"line": LINE, "address": qikink_order_input()["shippingAddress"]}
    body = await gql(client, literal, variables, headers=ADMIN)
    assert body["errors"][0]["message"] == "At most 100 line items per order."

    design = {
        "designCode": "d",
        "widthInches": "10",
        "heightInches": "10",
        "placementSku": "fr",
        "designLink": "https://example.com/d.png",
    }
    blank = {"searchFromMyProducts": False, "printTypeId": 1, "designs": [design] * 11}
    nested = await gql(client, CREATE, {"input": with_lines(1, **blank)}, headers=ADMIN)
    assert nested["errors"][0]["message"] == "At most 10 designs per line item."
    assert nested["errors"][0]["extensions"]["field"] == "input.lineItems.0.designs"

    order = store_order_input("order_big", "1", "variant_1")
    order["items"] = order["items"] * 101
    store = await gql(client, SUBMIT, {"order": order}, headers=ADMIN)
    assert store["errors"][0]["message"] == "At most 100 items per order."
    assert codes(store) == ["BAD_USER_INPUT"]
