"""The Qikink proxy fields over HTTP, against the simulator on a real port.

They act on the merchant's Qikink account, so the tests call them as an admin; what
storefronts may do with them is tests/test_access.py's and the last tests here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import TEST_JWT_SECRET, qikink_settings, serving
from tests.graphql_client import codes, gql, make_jwt
from tests.graphql_client import qikink_order_input as order_input

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from contextlib import AbstractAsyncContextManager

    import httpx

    from simulator import SimulatorServer

CREATE = """mutation($input: QikinkOrderInput!) {
  createQikinkOrder(input: $input) { orderId message } }"""
TOKEN = "mutation { qikinkToken { accessToken clientId expiresIn expiresAt } }"
ORDERS = """query($page: Int) { qikinkOrders(page: $page) { __typename id orderId number
  orderNumber status
  createdOn paymentType totalOrderValue
  shipping { city zip province countryCode awb courierProviderName trackingLink }
  lineItems { sku quantity price } } }"""
ORDER = """query($id: ID!, $from: String, $to: String) {
  qikinkOrder(id: $id, fromDate: $from, toDate: $to) { orderId orderNumber status
  shipping { awb trackingLink } } }"""


@pytest.fixture
def proxy_client(
    database_url: str, sim_server: SimulatorServer
) -> Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def open_client(
        *, as_admin: bool = True, **overrides: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        async with serving(qikink_settings(database_url, sim_server, **overrides)) as http:
            if as_admin:
                http.headers["authorization"] = f"Bearer {make_jwt(TEST_JWT_SECRET)}"
            yield http

    return open_client


@pytest.fixture
async def proxy(
    proxy_client: Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]],
) -> AsyncIterator[httpx.AsyncClient]:
    async with proxy_client() as http:
        yield http


async def test_the_token_field_returns_the_shared_token_without_minting_again(
    proxy: httpx.AsyncClient, sim_server: SimulatorServer
) -> None:
    first = (await gql(proxy, TOKEN))["data"]["qikinkToken"]
    second = (await gql(proxy, TOKEN))["data"]["qikinkToken"]
    assert first["accessToken"] == second["accessToken"] == sim_server.sim.current_token
    assert first["clientId"] == sim_server.sim.client_id
    assert 3500 < first["expiresIn"] <= 3600
    assert sim_server.sim.tokens_minted == 1


async def test_a_created_order_is_sent_as_qikink_expects_and_read_back(
    proxy: httpx.AsyncClient, sim_server: SimulatorServer
) -> None:
    created = await gql(proxy, CREATE, {"input": order_input()})
    assert "errors" not in created, created
    order_id = created["data"]["createQikinkOrder"]["orderId"]
    stored = sim_server.sim.order(int(order_id))
    assert stored is not None
    assert stored["payment_type"] == "Prepaid"
    assert stored["total_order_value"] == "1098.00"
    assert stored["shipping"]["country_code"] == "IN"

    listed = (await gql(proxy, ORDERS))["data"]["qikinkOrders"]
    assert [o["orderId"] for o in listed] == [order_id]
    # What Apollo's cache normalises by: QikinkOrder:<id>.
    assert (listed[0]["__typename"], listed[0]["id"]) == ("QikinkOrder", order_id)
    assert listed[0]["number"] == f"{sim_server.sim.account_number}_SO1001"
    assert listed[0]["orderNumber"] == "SO1001"
    assert listed[0]["lineItems"] == [{"sku": "MVnHs-Wh-S", "quantity": "2", "price": "549.00"}]

    one = (await gql(proxy, ORDER, {"id": order_id}))["data"]["qikinkOrder"]
    assert (one["orderNumber"], one["status"]) == ("SO1001", "On Hold")


async def test_a_duplicate_order_number_is_qikinks_refusal(
    proxy: httpx.AsyncClient, sim_server: SimulatorServer
) -> None:
    await gql(proxy, CREATE, {"input": order_input()})
    again = await gql(proxy, CREATE, {"input": order_input()})
    assert codes(again) == ["QIKINK_REJECTED"]
    assert again["errors"][0]["message"] == "Duplicate Order."
    assert len(sim_server.sim.orders_with_number("SO1001")) == 1


async def test_tracking_appears_once_shipped_and_an_empty_awb_link_is_no_link(
    proxy: httpx.AsyncClient, sim_server: SimulatorServer
) -> None:
    order_id = (await gql(proxy, CREATE, {"input": order_input()}))["data"]["createQikinkOrder"][
        "orderId"
    ]
    sim_server.sim.advance(
        int(order_id), "Manifested", tracking_link="https://courierupdates.com/?awb="
    )
    before = (await gql(proxy, ORDER, {"id": order_id}))["data"]["qikinkOrder"]
    assert before["shipping"] == {"awb": None, "trackingLink": None}
    sim_server.sim.advance(int(order_id), "In-Transit", awb="1234567890123", courier="Delhivery")
    after = (await gql(proxy, ORDER, {"id": order_id}))["data"]["qikinkOrder"]
    assert after["status"] == "In-Transit"
    assert after["shipping"] == {
        "awb": "1234567890123",
        "trackingLink": "https://courierupdates.com/?awb=1234567890123",
    }


BAD_ORDERS = {
    "order number too long": order_input(orderNumber="SO12345678901234"),
    "order number with a hyphen": order_input(orderNumber="SO-1001"),
    "order number with an underscore": order_input(orderNumber="SO_1001"),
    "empty order number": order_input(orderNumber=""),
    "empty email": order_input(address={"email": ""}),
    "bad email": order_input(address={"email": "asha-at-example"}),
    "address1 over 90": order_input(address={"address1": "x" * 91}),
    "empty first name": order_input(address={"firstName": " "}),
    "empty city": order_input(address={"city": ""}),
    "empty zip": order_input(address={"zip": ""}),
    "empty province": order_input(address={"province": ""}),
    "empty phone": order_input(address={"phone": ""}),
    "bad country": order_input(address={"countryCode": "IND"}),
    "sku over 50": order_input(lineItems=[{"sku": "S" * 51, "quantity": 1, "price": "1"}]),
    "empty sku": order_input(lineItems=[{"sku": "", "quantity": 1, "price": "1"}]),
    "zero quantity": order_input(lineItems=[{"sku": "S", "quantity": 0, "price": "1"}]),
    "negative price": order_input(lineItems=[{"sku": "S", "quantity": 1, "price": "-1"}]),
    "no line items": order_input(lineItems=[]),
    "negative total": order_input(totalOrderValue="-5"),
    "designs on a my-products item": order_input(
        lineItems=[{"sku": "S", "quantity": 1, "price": "1", "printTypeId": 1}]
    ),
    "blank product without designs": order_input(
        lineItems=[{"sku": "S", "quantity": 1, "price": "1", "searchFromMyProducts": False}]
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ORDERS))
async def test_a_bad_order_is_refused_before_qikink_is_called(
    proxy: httpx.AsyncClient, sim_server: SimulatorServer, case: str
) -> None:
    body = await gql(proxy, CREATE, {"input": BAD_ORDERS[case]})
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert sim_server.sim.requests == []


@pytest.mark.parametrize("gateway", ["Prepaid", "cod", "CARD"])
async def test_a_gateway_outside_the_enum_is_refused_before_qikink_is_called(
    proxy: httpx.AsyncClient, sim_server: SimulatorServer, gateway: str
) -> None:
    response = await proxy.post(
        "/graphql", json={"query": CREATE, "variables": {"input": order_input(gateway=gateway)}}
    )
    assert "errors" in response.json()
    assert sim_server.sim.requests == []


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"id": "4518823", "from": "2026/11/01"}, "fromDate"),
        ({"id": "4518823", "to": "2026-13-01"}, "toDate"),
        ({"id": "abc"}, "id"),
    ],
)
async def test_bad_lookup_arguments_are_refused_before_qikink_is_called(
    proxy: httpx.AsyncClient, sim_server: SimulatorServer, variables: dict[str, str], field: str
) -> None:
    body = await gql(proxy, ORDER, variables)
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == field
    assert sim_server.sim.requests == []


async def test_a_page_below_one_is_refused(
    proxy: httpx.AsyncClient, sim_server: SimulatorServer
) -> None:
    assert codes(await gql(proxy, ORDERS, {"page": 0})) == ["BAD_USER_INPUT"]
    assert sim_server.sim.requests == []


@pytest.mark.parametrize(
    ("fault", "code", "message"),
    [
        ("error_200", "QIKINK_REJECTED", "Pincode not serviceable"),
        ("html_502", "QIKINK_UNAVAILABLE", "Qikink answered with an HTML page (HTTP 502)."),
        ("non_json", "QIKINK_UNAVAILABLE", "Qikink answered with a reply not in JSON (HTTP 200)."),
        ("drop", "QIKINK_UNAVAILABLE", "Could not reach Qikink (network error)."),
    ],
)
async def test_qikink_failures_reach_the_caller_with_their_code(
    proxy: httpx.AsyncClient, sim_server: SimulatorServer, fault: str, code: str, message: str
) -> None:
    await gql(proxy, TOKEN)
    sim_server.sim.inject(fault, endpoint="list", message="Pincode not serviceable")
    body = await gql(proxy, ORDERS)
    assert codes(body) == [code]
    assert body["errors"][0]["message"] == message


async def test_a_timeout_is_unavailable(
    proxy_client: Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]],
    sim_server: SimulatorServer,
) -> None:
    async with proxy_client(qikink_timeout_seconds=0.3) as http:
        await gql(http, TOKEN)
        sim_server.sim.inject("timeout", endpoint="list", delay=10)
        body = await gql(http, ORDERS)
    assert codes(body) == ["QIKINK_UNAVAILABLE"]
    assert body["errors"][0]["message"] == "Qikink did not answer in time."


async def test_over_the_budget_a_caller_is_refused_at_once_with_the_exact_message(
    proxy_client: Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]],
    sim_server: SimulatorServer,
) -> None:
    async with proxy_client(qikink_rate_limit_requests_per_minute=2) as http:
        assert "errors" not in await gql(http, ORDERS)  # token + list: the whole budget
        body = await gql(http, ORDERS)
    assert codes(body) == ["RATE_LIMITED"]
    wait = body["errors"][0]["extensions"]["retryAfter"]
    assert isinstance(wait, int)
    assert body["errors"][0]["message"] == (
        "Rate limit exceeded. Try again later. You can access api 2 times per minute. "
        f"Please try again after {wait} seconds."
    )
    # When a slot frees: the oldest call of the window leaves it within the minute.
    assert 0 < wait <= 61
    assert len(sim_server.sim.requests) == 2


async def test_a_rate_limited_answer_carries_its_wait_in_retry_after_too(
    proxy_client: Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]],
    sim_server: SimulatorServer,
) -> None:
    async with proxy_client(qikink_rate_limit_requests_per_minute=2) as http:
        answered = await http.post("/graphql", json={"query": ORDERS})
        assert "retry-after" not in answered.headers
        refused = await http.post("/graphql", json={"query": ORDERS})
        # GET too: a refusal is never kept by a cache, and says the same.
        got = await http.get("/graphql", params={"query": ORDERS})
    for response in (refused, got):
        # application/json: a GraphQL answer, so 200, with the header for clients and proxies.
        assert response.status_code == 200
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        wait = error["extensions"]["retryAfter"]
        assert response.headers["retry-after"] == str(wait)
        assert error["message"].endswith(f"Please try again after {wait} seconds.")
    assert got.headers["cache-control"] == "no-store"


async def test_a_rate_refusal_from_qikink_itself_is_rate_limited_too(
    proxy: httpx.AsyncClient, sim_server: SimulatorServer
) -> None:
    await gql(proxy, TOKEN)
    sim_server.sim.inject("rate_limit_429", endpoint="list")
    response = await proxy.post("/graphql", json={"query": ORDERS})
    body = response.json()
    assert codes(body) == ["RATE_LIMITED"]
    assert response.headers["retry-after"] == "61"
    # Our budget now holds the window full: the wait is a whole one, said in all three places.
    assert body["errors"][0]["message"].endswith("Please try again after 61 seconds.")
    # What Qikink itself said is kept beside it, every name in the API's words.
    assert body["errors"][0]["extensions"] == {
        "code": "RATE_LIMITED",
        "retryAfter": 61,
        "qikinkMessage": "Qikink refused the call: too many requests.",
    }


async def test_a_base_url_ending_in_v1_is_stripped(
    proxy_client: Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]],
    sim_server: SimulatorServer,
) -> None:
    async with proxy_client(qikink_api_url=f"{sim_server.url}/v1/") as http:
        body = await gql(http, ORDERS)
    assert body == {"data": {"qikinkOrders": []}}
    assert {r.path for r in sim_server.sim.requests} == {"/api/token", "/api/order"}


async def test_the_client_secret_never_reaches_a_response_or_the_log(
    proxy_client: Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]],
    sim_server: SimulatorServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    async with proxy_client(qikink_client_secret="not-the-sim-secret") as http:
        body = await gql(http, TOKEN)
        assert codes(body) == ["QIKINK_REJECTED"]
        raw = (await http.post("/graphql", json={"query": ORDERS})).text
    assert "not-the-sim-secret" not in str(body)
    assert "not-the-sim-secret" not in raw
    assert "not-the-sim-secret" not in caplog.text


async def test_storefronts_reach_no_proxy_field_unless_the_proxy_is_opened(
    proxy_client: Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]],
    sim_server: SimulatorServer,
) -> None:
    key = {"x-publishable-api-key": "pk_1"}
    async with proxy_client(as_admin=False, qikink_publishable_keys=["pk_1"]) as http:
        bodies = [
            await gql(http, ORDERS, headers=key),
            await gql(http, ORDER, {"id": "4518823"}, headers=key),
            await gql(http, CREATE, {"input": order_input()}, headers=key),
            await gql(http, TOKEN, headers=key),
        ]
    for body in bodies[:3]:
        assert codes(body) == ["UNAUTHENTICATED"]
        assert "STOREFRONT_QIKINK_PROXY=true" in body["errors"][0]["message"]
    # The token is for admins whatever the setting.
    assert codes(bodies[3]) == ["UNAUTHENTICATED"]
    assert bodies[3]["errors"][0]["message"].startswith("Admin credentials are required")
    assert sim_server.sim.requests == []


async def test_an_opened_proxy_needs_the_publishable_key_and_never_gives_the_token(
    proxy_client: Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]],
    sim_server: SimulatorServer,
) -> None:
    key = {"x-publishable-api-key": "pk_1"}
    async with proxy_client(
        as_admin=False, qikink_publishable_keys=["pk_1"], storefront_qikink_proxy=True
    ) as http:
        refused = await gql(http, ORDERS)
        allowed = await gql(http, ORDERS, headers=key)
        token = await gql(http, TOKEN, headers=key)
    assert codes(refused) == ["UNAUTHENTICATED"]
    assert refused["errors"][0]["message"] == "A valid x-publishable-api-key header is required."
    assert allowed == {"data": {"qikinkOrders": []}}
    assert codes(token) == ["UNAUTHENTICATED"]
    assert "accessToken" not in str(token["data"])
    # The list's token and its one call; the refused token field reached nothing.
    assert [r.path for r in sim_server.sim.requests] == ["/api/token", "/api/order"]
