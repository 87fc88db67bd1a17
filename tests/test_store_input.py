"""A store's input as Medusa sends it, and every refusal naming its value the same way.

`extensions.field` is the refused value's path under the argument it came in
(`order.shippingAddress.phone`, `input.lineItems.0.sku`, `limit`); messages are in words.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

import pytest

from models import OrderMapping, ProductMapping
from services.orders.store import StoreOrder, order_number_for
from services.shared.install_secret import install_secret
from tests.conftest import TEST_JWT_SECRET, qikink_settings, serving
from tests.graphql_client import codes, gql, make_jwt, qikink_order_input, store_order_input

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

    from simulator import SimulatorServer

ADMIN = {"authorization": f"Bearer {make_jwt(TEST_JWT_SECRET)}"}
SUBMIT = """mutation($order: StoreOrderInput!) { submitStoreOrder(order: $order) {
  skipped reason mapping { id qikinkOrderNumber status } } }"""
CREATE_QIKINK = """mutation($input: QikinkOrderInput!) {
  createQikinkOrder(input: $input) { orderId } }"""
CREATE_MAPPING = """mutation($input: ProductMappingInput!) {
  createProductMapping(input: $input) { id } }"""
UPDATE_MAPPING = """mutation($id: ID!, $input: ProductMappingUpdateInput!) {
  updateProductMapping(id: $id, input: $input) { id } }"""
LIST_MAPPINGS = "query($limit: Int) { productMappings(limit: $limit) { count } }"
ORDER_ID = "order_01JDQ5ZK9W8X7Y6V5T4S3R2Q1P"
# GraphQL's spelling (a lower-case letter then an upper-case one) has no place in a message.
CAMEL_CASE = re.compile(r"\b[a-z]+[A-Z]\w*")


def placed(**changes: Any) -> dict[str, Any]:
    """A Medusa order of a tee (mapped) and a cap (mapped) to Bengaluru."""
    value = store_order_input(ORDER_ID, "1042", "variant_tee")
    value["items"].append({"variantId": "variant_cap", "quantity": 2, "unitPrice": "299"})
    address = changes.pop("address", None)
    if address is not None:
        value["shippingAddress"].update(address)
    value.update(copy.deepcopy(changes))
    return value


@pytest.fixture
async def http(database_url: str, sim_server: SimulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(qikink_settings(database_url, sim_server)) as client:
        await ProductMapping.create(qikink_sku_id="MVnHs-Wh-S", variant_id="variant_tee")
        await ProductMapping.create(qikink_sku_id="CAP-BLK", variant_id="variant_cap")
        yield client


def refusal(body: dict[str, Any], code: str = "BAD_USER_INPUT") -> tuple[str, str]:
    """The one error's field and message, checking its code and that it speaks in words."""
    assert codes(body) == [code], body
    error = body["errors"][0]
    assert not CAMEL_CASE.search(error["message"]), error["message"]
    return error["extensions"].get("field"), error["message"]


async def test_medusas_integer_display_id_gives_the_number_its_string_gives(
    http: httpx.AsyncClient,
) -> None:
    body = await gql(http, SUBMIT, {"order": placed(displayId=1042)}, ADMIN)
    assert "errors" not in body, body
    number = body["data"]["submitStoreOrder"]["mapping"]["qikinkOrderNumber"]
    as_string = StoreOrder(ORDER_ID, "", [], None, display_id="1042")  # type: ignore[arg-type]
    assert number == order_number_for(as_string, "MD", await install_secret())
    assert re.fullmatch(r"MD1042[0-9A-Z]{4}", number)

    # The same order with the display id as a string is the same order: the same mapping.
    again = await gql(http, SUBMIT, {"order": placed(displayId="1042")}, ADMIN)
    assert (
        again["data"]["submitStoreOrder"]["mapping"] == body["data"]["submitStoreOrder"]["mapping"]
    )
    assert await OrderMapping.all().count() == 1


@pytest.mark.parametrize(
    "address",
    [
        {"phone": None},
        {"phone": "  "},
        {"phone": "12345"},
        {"phone": "+1 415 555 0100"},
        {"countryCode": "us", "province": "CA", "phone": None},
    ],
)
async def test_an_address_without_a_phone_qikink_can_use_is_refused_at_its_phone(
    http: httpx.AsyncClient, address: dict[str, Any]
) -> None:
    body = await gql(http, SUBMIT, {"order": placed(address=address)}, ADMIN)
    field, message = refusal(body)
    assert field == "order.shippingAddress.phone"
    assert "phone" in message.lower()
    assert await OrderMapping.all().count() == 0


async def test_an_order_with_no_mapped_item_needs_no_phone(http: httpx.AsyncClient) -> None:
    unmapped = placed(
        items=[{"variantId": "variant_other", "quantity": 1, "unitPrice": "1"}],
        address={"phone": None},
    )
    body = await gql(http, SUBMIT, {"order": unmapped}, ADMIN)
    assert body["data"]["submitStoreOrder"]["skipped"] is True


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (
            {
                "items": [
                    {"variantId": "variant_tee", "quantity": 1, "unitPrice": "1"},
                    {"variantId": "variant_cap", "quantity": 0, "unitPrice": "1"},
                ]
            },
            "order.items.1.quantity",
        ),
        (
            {"items": [{"variantId": "variant_tee", "quantity": 1, "unitPrice": "-1"}]},
            "order.items.0.unitPrice",
        ),
        (
            {"items": [{"variantId": " ", "quantity": 1, "unitPrice": "1"}]},
            "order.items.0.variantId",
        ),
        ({"email": "not an address"}, "order.email"),
        ({"customerId": ""}, "order.customerId"),
        ({"address": {"postalCode": ""}}, "order.shippingAddress.postalCode"),
        ({"address": {"province": "Narnia"}}, "order.shippingAddress.province"),
        ({"address": {"countryCode": "India"}}, "order.shippingAddress.countryCode"),
    ],
)
async def test_a_bad_store_order_names_the_value_under_order(
    http: httpx.AsyncClient, changes: dict[str, Any], field: str
) -> None:
    body = await gql(http, SUBMIT, {"order": placed(**changes)}, ADMIN)
    assert refusal(body)[0] == field
    assert await OrderMapping.all().count() == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lineItems": [{"sku": " ", "quantity": 1, "price": "1"}]}, "input.lineItems.0.sku"),
        (
            {
                "lineItems": [{"sku": "A", "quantity": 1, "price": "1"}] * 2
                + [{"sku": "A", "quantity": 0, "price": "1"}]
            },
            "input.lineItems.2.quantity",
        ),
        ({"address": {"email": "asha"}}, "input.shippingAddress.email"),
        ({"address": {"zip": ""}}, "input.shippingAddress.zip"),
        ({"totalOrderValue": "-1"}, "input.totalOrderValue"),
        ({"orderNumber": "SO-1"}, "input.orderNumber"),
        (
            {
                "lineItems": [
                    {
                        "sku": "A",
                        "quantity": 1,
                        "price": "1",
                        "searchFromMyProducts": False,
                        "printTypeId": 1,
                        "designs": [
                            {
                                "designCode": "d",
                                "widthInches": "10",
                                "heightInches": "0",
                                "placementSku": "fr",
                                "designLink": "https://example.com/d.png",
                            }
                        ],
                    }
                ]
            },
            "input.lineItems.0.designs.0.heightInches",
        ),
    ],
)
async def test_a_bad_qikink_order_names_the_value_under_input(
    http: httpx.AsyncClient, sim_server: SimulatorServer, changes: dict[str, Any], field: str
) -> None:
    body = await gql(http, CREATE_QIKINK, {"input": qikink_order_input(**changes)}, ADMIN)
    assert refusal(body)[0] == field
    assert sim_server.sim.requests == []


async def test_the_list_caps_name_the_list_the_same_way(http: httpx.AsyncClient) -> None:
    lines = [{"sku": "A", "quantity": 1, "price": "1"}] * 101
    body = await gql(http, CREATE_QIKINK, {"input": qikink_order_input(lineItems=lines)}, ADMIN)
    assert refusal(body) == ("input.lineItems", "At most 100 line items per order.")


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"qikinkSkuId": "MV nHs", "variantId": "variant_new"}, "input.qikinkSkuId"),
        ({"qikinkSkuId": "", "variantId": "variant_new"}, "input.qikinkSkuId"),
        ({"qikinkSkuId": "SKU-NEW", "variantId": "\t"}, "input.variantId"),
    ],
)
async def test_a_bad_product_mapping_names_the_value_under_input(
    http: httpx.AsyncClient, value: dict[str, str], field: str
) -> None:
    body = await gql(http, CREATE_MAPPING, {"input": value}, ADMIN)
    assert refusal(body)[0] == field


async def test_a_taken_variant_is_a_conflict_at_input_variant_id(http: httpx.AsyncClient) -> None:
    taken = {"qikinkSkuId": "SKU-NEW", "variantId": "variant_tee"}
    body = await gql(http, CREATE_MAPPING, {"input": taken}, ADMIN)
    assert refusal(body, "CONFLICT")[0] == "input.variantId"


async def test_an_update_names_its_id_and_its_input_apart(http: httpx.AsyncClient) -> None:
    row = await ProductMapping.get(variant_id="variant_tee")
    bad_id = await gql(http, UPDATE_MAPPING, {"id": " ", "input": {"variantId": "v"}}, ADMIN)
    assert refusal(bad_id)[0] == "id"
    bad_sku = await gql(http, UPDATE_MAPPING, {"id": row.id, "input": {"qikinkSkuId": ""}}, ADMIN)
    assert refusal(bad_sku)[0] == "input.qikinkSkuId"
    nothing = await gql(http, UPDATE_MAPPING, {"id": row.id, "input": {}}, ADMIN)
    assert refusal(nothing)[0] == "input"


async def test_paging_names_its_argument(http: httpx.AsyncClient) -> None:
    body = await gql(http, LIST_MAPPINGS, {"limit": 0}, ADMIN)
    assert refusal(body)[0] == "limit"


async def test_the_same_order_again_is_the_same_mapping(http: httpx.AsyncClient) -> None:
    first = await gql(http, SUBMIT, {"order": placed()}, ADMIN)
    assert "errors" not in first, first
    # Reordered lines, other spacing and case: what Qikink would get is the same.
    same = placed(
        items=list(reversed(placed()["items"])),
        address={"countryCode": "IN", "phone": "+91 98765 43210", "province": "KA"},
    )
    again = await gql(http, SUBMIT, {"order": same}, ADMIN)
    assert "errors" not in again, again
    assert again["data"] == first["data"]


@pytest.mark.parametrize(
    ("changes", "differ"),
    [
        ({"items": [{"variantId": "variant_tee", "quantity": 2, "unitPrice": "549"}]}, "items"),
        (
            {
                "items": [
                    {"variantId": "variant_tee", "quantity": 1, "unitPrice": "499"},
                    {"variantId": "variant_cap", "quantity": 2, "unitPrice": "299"},
                ]
            },
            "items",
        ),
        ({"address": {"address1": "14 MG Road"}}, "shipping address"),
        ({"email": "someone@example.com"}, "shipping address"),
        ({"paymentMethod": "COD"}, "payment method"),
    ],
)
async def test_the_same_order_again_with_other_contents_is_a_conflict(
    http: httpx.AsyncClient, changes: dict[str, Any], differ: str
) -> None:
    first = await gql(http, SUBMIT, {"order": placed()}, ADMIN)
    mapping = first["data"]["submitStoreOrder"]["mapping"]
    stored = (await OrderMapping.get(id=mapping["id"])).payload

    body = await gql(http, SUBMIT, {"order": placed(**changes)}, ADMIN)
    _, message = refusal(body, "CONFLICT")
    assert f"with different {differ}" in message
    # In the API's words only: the service's own name for it (`mapping_id`) stays inside.
    assert body["errors"][0]["extensions"] == {"code": "CONFLICT", "mappingId": mapping["id"]}
    # The mapping is as it was: Qikink may have that order already.
    assert await OrderMapping.all().count() == 1
    assert (await OrderMapping.get(id=mapping["id"])).payload == stored
