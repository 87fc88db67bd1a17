"""The Qikink simulator behaves like qikink-api.md says the real API does, faults included."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from simulator import (
    FAULT_KINDS,
    ManualClock,
    QikinkSimulator,
    SimulatorServer,
    create_simulator_app,
)
from simulator.orders import example_address, example_payload
from tests.waiting import eventually

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

CLIENT_ID = "123456789012345"
SECRET = "sim-secret"
CREDENTIALS = {"ClientId": CLIENT_ID, "client_secret": SECRET}
# 2026-05-13 10:42:11 UTC, the created_on of the example order in qikink-api.md.
START = datetime(2026, 5, 13, 10, 42, 11, tzinfo=UTC).timestamp()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sim(clock: ManualClock) -> QikinkSimulator:
    return QikinkSimulator(clock=clock)


@contextlib.asynccontextmanager
async def in_process(sim: QikinkSimulator) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `sim`'s app called in process, with no sockets."""
    transport = httpx.ASGITransport(app=create_simulator_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://qikink.test") as client:
        yield client


@pytest.fixture
async def client(sim: QikinkSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process(sim) as client:
        yield client


@pytest.fixture
def server(sim: QikinkSimulator) -> Iterator[SimulatorServer]:
    with SimulatorServer(sim) as running:
        yield running


@pytest.fixture
async def live_client(server: SimulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
        yield client


async def mint(client: httpx.AsyncClient) -> dict[str, str]:
    """Mint a token and return the headers that carry it."""
    response = await client.post("/api/token", data=CREDENTIALS)
    assert response.status_code == 200, response.text
    return {"ClientId": CLIENT_ID, "Accesstoken": response.json()["Accesstoken"]}


def order_payload(order_number: str = "SO202600062", **overrides: Any) -> dict[str, Any]:
    """The example order of qikink-api.md as its create payload (two tees, 1098, add-ons)."""
    add_ons = [{"box_packing": 0, "gift_wrap": 0, "rush_order": 0, "custom_letter": 0}]
    return example_payload(
        order_number, "MVnHs-Wh-M", quantity="2", price="549", add_ons=add_ons, **overrides
    )


# -- token ------------------------------------------------------------------------------------


async def test_a_form_encoded_token_request_mints_an_accesstoken(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    response = await client.post("/api/token", data=CREDENTIALS)

    assert response.status_code == 200
    body = response.json()
    assert body["ClientId"] == int(CLIENT_ID)
    assert body["expires_in"] == 3600
    assert isinstance(body["Accesstoken"], str)
    assert len(body["Accesstoken"]) >= 20
    assert sim.tokens_minted == 1
    assert sim.requests[-1].endpoint == "token"
    assert sim.requests[-1].outcome == "ok"


async def test_a_json_token_request_is_read_as_missing_credentials(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    response = await client.post("/api/token", json=CREDENTIALS)

    assert response.status_code == 401
    assert response.json() == {"error": "Invalid client_id or client_secret"}
    assert sim.tokens_minted == 0
    assert sim.requests[-1].outcome == "unauthorized"


@pytest.mark.parametrize(
    "form",
    [
        {"ClientId": CLIENT_ID, "client_secret": "wrong"},
        {"ClientId": "999", "client_secret": SECRET},
        {"clientid": CLIENT_ID, "client_secret": SECRET},
        {"ClientId": CLIENT_ID},
    ],
)
async def test_wrong_or_misspelt_credentials_are_refused_with_401(
    client: httpx.AsyncClient, form: dict[str, str]
) -> None:
    response = await client.post("/api/token", data=form)

    assert response.status_code == 401
    assert response.json() == {"error": "Invalid client_id or client_secret"}


async def test_minting_a_token_kills_the_previous_one(client: httpx.AsyncClient) -> None:
    first = await mint(client)
    second = await mint(client)

    stale = await client.get("/api/order", headers=first)
    fresh = await client.get("/api/order", headers=second)

    assert stale.status_code == 401
    assert stale.json() == {"error": "Invalid AccessToken or Client Id"}
    assert fresh.status_code == 200


async def test_a_token_dies_when_expires_in_runs_out_on_the_clock(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    headers = await mint(client)

    clock.advance(3599)
    assert (await client.get("/api/order", headers=headers)).status_code == 200
    clock.advance(1)
    assert (await client.get("/api/order", headers=headers)).status_code == 401


async def test_a_token_reply_can_omit_expires_in_yet_the_token_still_lives_an_hour(
    clock: ManualClock,
) -> None:
    sim = QikinkSimulator(token_expires_in=None, clock=clock)
    async with in_process(sim) as client:
        response = await client.post("/api/token", data=CREDENTIALS)
        assert "expires_in" not in response.json()
        headers = {"ClientId": CLIENT_ID, "Accesstoken": response.json()["Accesstoken"]}
        clock.advance(3599)
        assert (await client.get("/api/order", headers=headers)).status_code == 200
        clock.advance(1)
        assert (await client.get("/api/order", headers=headers)).status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"ClientId": CLIENT_ID},
        {"ClientId": CLIENT_ID, "Accesstoken": "not-the-token"},
        {"ClientId": "111111111111111", "Accesstoken": "<token>"},
        {"Authorization": "Bearer <token>"},
        {"ClientId": CLIENT_ID, "Authorization": "Bearer <token>"},
    ],
    ids=["none", "no-token", "wrong-token", "wrong-client", "bearer", "bearer-with-client"],
)
async def test_authenticated_calls_without_the_right_headers_get_401(
    client: httpx.AsyncClient, sim: QikinkSimulator, headers: dict[str, str]
) -> None:
    token = (await mint(client))["Accesstoken"]
    sent = {name: value.replace("<token>", token) for name, value in headers.items()}

    for response in (
        await client.get("/api/order", headers=sent),
        await client.get("/api/order", params={"id": 1}, headers=sent),
        await client.post("/api/order/create", json=order_payload(), headers=sent),
    ):
        assert response.status_code == 401
        assert response.json() == {"error": "Invalid AccessToken or Client Id"}
    assert sim.orders == []
    assert [request.outcome for request in sim.requests[1:]] == ["unauthorized"] * 3


async def test_header_names_are_case_insensitive_like_any_http_header(
    client: httpx.AsyncClient,
) -> None:
    headers = await mint(client)
    lower = {"clientid": headers["ClientId"], "accesstoken": headers["Accesstoken"]}

    assert (await client.get("/api/order", headers=lower)).status_code == 200


# -- create -----------------------------------------------------------------------------------


async def test_a_created_order_is_stored_exactly_like_qikinks_example(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    headers = await mint(client)

    response = await client.post("/api/order/create", json=order_payload(), headers=headers)

    assert response.status_code == 200
    assert response.json() == {
        "status_code": "200",
        "message": "Order created successfully",
        "order_id": 4518823,
    }
    assert sim.orders == [
        {
            "order_id": 4518823,
            "number": "654367_SO202600062",
            "created_on": "2026-05-13 10:42:11",
            "live_date": None,
            "status": "On Hold",
            "shipping_type": "Qikink Shipping",
            "payment_type": "Prepaid",
            "total_order_value": "1098.00",
            "shipping": {
                "first_name": "Asha",
                "last_name": "Rao",
                "address1": "12 MG Road",
                "address2": "",
                "phone": "9876543210",
                "email": "asha@example.com",
                "city": "Bengaluru",
                "zip": "560001",
                "province": "Karnataka",
                "country_code": "IN",
                "awb": None,
                "courier_provider_name": None,
                "tracking_link": None,
            },
            "line_items": [
                {"sku": "MVnHs-Wh-M", "quantity": "2", "price": "549.00", "designs": []}
            ],
            "add_ons": [{"box_packing": 0, "gift_wrap": 0, "rush_order": 0, "custom_letter": 0}],
        }
    ]
    assert sim.requests[-1].order_id == 4518823


async def test_order_ids_keep_increasing(client: httpx.AsyncClient) -> None:
    headers = await mint(client)

    ids = [
        (
            await client.post("/api/order/create", json=order_payload(f"SO{n}"), headers=headers)
        ).json()["order_id"]
        for n in range(3)
    ]

    assert ids == [4518823, 4518824, 4518825]


async def test_a_blank_product_with_inline_designs_is_accepted(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    headers = await mint(client)
    design = {
        "design_code": "D1",
        "width_inches": "10",
        "height_inches": "12",
        "placement_sku": "fr",
        "design_link": "https://example.com/d.png",
        "mockup_link": "https://example.com/m.png",
    }
    item = {
        "search_from_my_products": 0,
        "sku": "MVnHs-Wh-S",
        "quantity": 1,
        "price": 499.5,
        "print_type_id": 1,
        "designs": [design],
    }

    response = await client.post(
        "/api/order/create",
        json=order_payload(line_items=[item], gateway="COD", total_order_value=499.5),
        headers=headers,
    )

    assert response.json()["order_id"] == 4518823
    stored = sim.order_by_number("SO202600062")
    assert stored is not None
    assert stored["payment_type"] == "COD"
    assert stored["line_items"] == [
        {
            "sku": "MVnHs-Wh-S",
            "quantity": "1",
            "price": "499.50",
            "print_type_id": 1,
            "designs": [design],
        }
    ]


def my_product(**extra: Any) -> dict[str, Any]:
    """Line items holding one product from "My Products", plus whatever `extra` adds."""
    return {
        "line_items": [
            {"search_from_my_products": 1, "sku": "S", "quantity": 1, "price": 1, **extra}
        ]
    }


NOT_WITH_MY_PRODUCTS = "print_type_id and designs are not allowed with search_from_my_products 1"
SPECIAL_CHARACTERS = "Order No cannot contain special characters"
REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    ("order-number-16-chars", {"order_number": "A" * 16}, "Order no. cannot exceed 15 chars"),
    ("order-number-hyphen", {"order_number": "SO-1"}, SPECIAL_CHARACTERS),
    ("order-number-underscore", {"order_number": "SO_1"}, SPECIAL_CHARACTERS),
    ("order-number-empty", {"order_number": ""}, "Order No is required"),
    ("gateway-lowercase", {"gateway": "cod"}, "Invalid gateway"),
    ("empty-email", {"shipping_address": example_address(email="")}, "Email is required"),
    (
        "address1-91-chars",
        {"shipping_address": example_address(address1="x" * 91)},
        "Address1 cannot exceed 90 chars",
    ),
    ("sku-51-chars", my_product(sku="S" * 51), "Invalid SKU"),
    ("sku-empty", my_product(sku=""), "Invalid SKU"),
    ("my-product-with-print-type", my_product(print_type_id=1), NOT_WITH_MY_PRODUCTS),
    ("my-product-with-empty-designs", my_product(designs=[]), NOT_WITH_MY_PRODUCTS),
    ("no-line-items", {"line_items": []}, "Line items are required"),
]


@pytest.mark.parametrize(
    ("changes", "message"),
    [(changes, message) for _, changes, message in REFUSALS],
    ids=[name for name, _, _ in REFUSALS],
)
async def test_a_refused_create_says_why_inside_http_200(
    client: httpx.AsyncClient, sim: QikinkSimulator, changes: dict[str, Any], message: str
) -> None:
    headers = await mint(client)

    response = await client.post(
        "/api/order/create", json=order_payload(**changes), headers=headers
    )

    assert response.status_code == 200
    assert response.json() == {"error": True, "message": message}
    assert sim.orders == []
    assert sim.requests[-1].outcome == "rejected"
    assert sim.requests[-1].detail == message


async def test_a_create_body_that_is_not_json_is_refused(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    headers = await mint(client)

    response = await client.post("/api/order/create", data={"order_number": "SO1"}, headers=headers)

    assert response.status_code == 200
    assert response.json() == {"error": True, "message": "Invalid JSON body"}
    assert sim.orders == []


async def test_an_unknown_sku_is_refused_when_the_catalogue_is_known(clock: ManualClock) -> None:
    sim = QikinkSimulator(known_skus={"MVnHs-Wh-M"}, clock=clock)
    async with in_process(sim) as client:
        headers = await mint(client)
        item = {"search_from_my_products": 1, "sku": "MVnHs-Bk-M", "quantity": 1, "price": 1}
        refused = await client.post(
            "/api/order/create", json=order_payload("SO1", line_items=[item]), headers=headers
        )
        accepted = await client.post(
            "/api/order/create", json=order_payload("SO2"), headers=headers
        )

    assert refused.json() == {"error": True, "message": "Invalid SKU"}
    assert accepted.json()["order_id"] == 4518823


async def test_a_missing_address_key_crashes_the_server_with_a_php_error_page(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    headers = await mint(client)
    incomplete = example_address()
    del incomplete["address2"]

    response = await client.post(
        "/api/order/create", json=order_payload(shipping_address=incomplete), headers=headers
    )

    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "A PHP Error was encountered" in response.text
    assert 'Undefined array key "address2"' in response.text
    assert sim.orders == []
    assert sim.requests[-1].outcome == "server_error"


async def test_reusing_an_order_number_is_a_duplicate_inside_http_200(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    headers = await mint(client)
    await client.post("/api/order/create", json=order_payload("SO1"), headers=headers)

    # Even a payload that differs otherwise is a duplicate: the number is the key.
    again = await client.post(
        "/api/order/create", json=order_payload("SO1", gateway="COD"), headers=headers
    )

    assert again.status_code == 200
    assert again.json() == {"error": True, "message": "Duplicate Order."}
    assert len(sim.orders_with_number("SO1")) == 1
    assert len(sim.orders_with_number("654367_SO1")) == 1


# -- read -------------------------------------------------------------------------------------


async def test_looking_up_an_order_by_id_returns_an_array_of_one(
    client: httpx.AsyncClient,
) -> None:
    headers = await mint(client)
    created = await client.post("/api/order/create", json=order_payload(), headers=headers)
    order_id = created.json()["order_id"]

    found = await client.get("/api/order", params={"id": order_id}, headers=headers)
    missing = await client.get("/api/order", params={"id": order_id + 1}, headers=headers)

    assert isinstance(found.json(), list)
    assert [order["order_id"] for order in found.json()] == [order_id]
    assert found.json()[0]["number"] == "654367_SO202600062"
    assert missing.json() == []


async def test_listing_pages_ten_orders_newest_first_and_ends_with_a_short_page(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    seeded = sim.seed_orders(23)
    headers = await mint(client)

    pages = [
        (await client.get("/api/order", params=params, headers=headers)).json()
        for params in ({}, {"page_no": 2}, {"page_no": 3}, {"page_no": 4})
    ]

    newest_first = [order["order_id"] for order in reversed(seeded)]
    assert [order["order_id"] for order in pages[0]] == newest_first[:10]
    assert [order["order_id"] for order in pages[1]] == newest_first[10:20]
    assert [order["order_id"] for order in pages[2]] == newest_first[20:]
    assert pages[3] == []
    assert [request.endpoint for request in sim.requests[1:]] == ["list"] * 4


async def test_listing_filters_on_created_on_dates_inclusively(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    for day in (10, 11, 12, 13):
        sim.add_order(f"D{day}", created_on=f"2026-05-{day} 23:59:59")
    headers = await mint(client)

    response = await client.get(
        "/api/order",
        params={"from_date": "2026-05-11", "to_date": "2026-05-12"},
        headers=headers,
    )

    assert [order["number"] for order in response.json()] == ["654367_D12", "654367_D11"]


@pytest.mark.parametrize("name", ["page", "limit", "offset", "order_number"])
async def test_an_unknown_query_parameter_is_refused_by_name(
    client: httpx.AsyncClient, name: str
) -> None:
    headers = await mint(client)

    response = await client.get("/api/order", params={name: "1"}, headers=headers)

    assert response.status_code == 200
    assert response.json() == {"error": True, "message": f"Invalid parameter: {name}"}


async def test_paths_qikink_does_not_have_are_not_found(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    response = await client.post("/v1/api/token", data=CREDENTIALS)

    assert response.status_code == 404
    assert sim.requests[-1].endpoint == "other"
    assert sim.tokens_minted == 0


async def test_the_fake_works_mounted_under_a_prefix(sim: QikinkSimulator) -> None:
    outer = Starlette(routes=[Mount("/simulator", app=create_simulator_app(sim))])
    transport = httpx.ASGITransport(app=outer)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc.test") as client:
        token = await client.post("/simulator/api/token", data=CREDENTIALS)
        stats = await client.get("/simulator/__sim__/stats")

    assert token.status_code == 200
    assert stats.json()["tokens_minted"] == 1
    assert [(request.path, request.endpoint) for request in sim.requests] == [
        ("/api/token", "token")
    ]


async def test_tracking_links_survive_phps_escaped_slashes(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    order = sim.add_order("SO1", status="In-Transit", awb="1234567890123", courier="Delhivery")
    headers = await mint(client)

    response = await client.get("/api/order", params={"id": order["order_id"]}, headers=headers)

    assert "https:\\/\\/courierupdates.com" in response.text
    shipping = response.json()[0]["shipping"]
    assert shipping["tracking_link"] == "https://courierupdates.com/?awb=1234567890123"


# -- rate limit -------------------------------------------------------------------------------


async def test_the_thirty_first_request_in_a_rolling_minute_is_refused_inside_http_200(
    client: httpx.AsyncClient, sim: QikinkSimulator, clock: ManualClock
) -> None:
    headers = await mint(client)  # the token call counts too
    for _ in range(29):
        clock.advance(1)
        assert (await client.get("/api/order", headers=headers)).status_code == 200

    refused = await client.get("/api/order", headers=headers)
    refused_token = await client.post("/api/token", data=CREDENTIALS)

    for response in (refused, refused_token):
        assert response.status_code == 200
        assert response.json() == {
            "error": True,
            "message": "Too many requests. Rate limit exceeded.",
        }
    assert sim.tokens_minted == 1
    assert [request.outcome for request in sim.requests[-2:]] == ["rate_limited"] * 2
    assert not any(request.counted for request in sim.requests[-2:])
    # The minute that began with the token call ends, and one slot frees up.
    clock.advance(31)
    assert (await client.get("/api/order", headers=headers)).json() == []
    assert (await client.get("/api/order", headers=headers)).json()["error"] is True


async def test_refused_requests_do_not_use_up_the_window(
    clock: ManualClock,
) -> None:
    sim = QikinkSimulator(rate_limit_per_minute=2, clock=clock)
    async with in_process(sim) as client:
        headers = await mint(client)
        await client.get("/api/order", headers=headers)
        clock.advance(30)
        for _ in range(5):
            assert (await client.get("/api/order", headers=headers)).json()["error"] is True
        clock.advance(30)
        # Two slots free at once: the refusals in between were not counted.
        assert (await client.get("/api/order", headers=headers)).json() == []
        assert (await client.get("/api/order", headers=headers)).json() == []


async def test_a_zero_rate_limit_means_no_limit(clock: ManualClock) -> None:
    sim = QikinkSimulator(rate_limit_per_minute=0, clock=clock)
    async with in_process(sim) as client:
        headers = await mint(client)
        responses = [await client.get("/api/order", headers=headers) for _ in range(40)]

    assert all(response.json() == [] for response in responses)
    assert sim.max_requests_in_window() == 41


async def test_max_requests_in_window_finds_the_busiest_rolling_minute(
    client: httpx.AsyncClient, sim: QikinkSimulator, clock: ManualClock
) -> None:
    headers = await mint(client)
    for gap in (10, 10, 10, 39.9, 0.1, 0.1, 100, 1):
        clock.advance(gap)
        await client.get("/api/order", headers=headers)

    # Requests at 0, 10, 20, 30, 69.9, 70, 70.1, 170.1 and 171.1 seconds: [20, 80) is the
    # busiest minute; a window is half-open, so 170.1 and 171.1 never share one second.
    assert sim.max_requests_in_window() == 5
    assert sim.max_requests_in_window(seconds=1) == 3
    assert sim.max_requests_in_window(seconds=1000) == 9
    assert sim.stats()["max_requests_in_window"] == 5


# -- faults -----------------------------------------------------------------------------------


CANNED_FAULTS: list[tuple[str, int, str | None, Callable[[httpx.Response], bool]]] = [
    ("html_502", 502, None, lambda r: "<center>nginx</center>" in r.text),
    (
        "error_200",
        200,
        None,
        lambda r: r.json() == {"error": True, "message": "Something went wrong"},
    ),
    (
        "error_200",
        200,
        "Pincode not serviceable",
        lambda r: r.json() == {"error": True, "message": "Pincode not serviceable"},
    ),
    (
        "rate_limit_200",
        200,
        None,
        lambda r: r.json() == {"error": True, "message": "Too many requests. Rate limit exceeded."},
    ),
    ("rate_limit_429", 429, None, lambda r: r.json()["error"] is True),
    (
        "non_json",
        200,
        None,
        lambda r: (
            r.headers["content-type"].startswith("text/plain") and not r.text.startswith(("{", "["))
        ),
    ),
    ("empty", 200, None, lambda r: r.content == b""),
    (
        "status_500",
        500,
        None,
        lambda r: r.json()["error"] is True and "wallet" in r.json()["message"],
    ),
]


@pytest.mark.parametrize(
    ("kind", "status", "message", "looks_right"),
    CANNED_FAULTS,
    ids=[f"{kind}-{message or 'default'}" for kind, _, message, _ in CANNED_FAULTS],
)
async def test_an_injected_fault_spoils_exactly_the_next_matching_request(
    client: httpx.AsyncClient,
    sim: QikinkSimulator,
    kind: str,
    status: int,
    message: str | None,
    looks_right: Callable[[httpx.Response], bool],
) -> None:
    headers = await mint(client)
    sim.inject(kind, endpoint="create", message=message)

    untouched = await client.get("/api/order", headers=headers)
    spoiled = await client.post("/api/order/create", json=order_payload("SO1"), headers=headers)
    healthy = await client.post("/api/order/create", json=order_payload("SO2"), headers=headers)

    assert untouched.status_code == 200
    assert spoiled.status_code == status
    assert looks_right(spoiled)
    assert healthy.json()["message"] == "Order created successfully"
    assert [order["number"] for order in sim.orders] == ["654367_SO2"]
    assert sim.requests[-2].outcome == f"fault:{kind}"
    assert sim.requests[-2].detail == "not_processed"


async def test_a_fault_fires_as_many_times_as_asked_on_any_endpoint(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    sim.inject("html_502", times=2)

    statuses = [(await client.post("/api/token", data=CREDENTIALS)).status_code for _ in range(3)]

    assert statuses == [502, 502, 200]
    assert sim.tokens_minted == 1
    assert sim.stats()["faults_pending"] == 0


def test_unknown_fault_kinds_and_endpoints_are_rejected(sim: QikinkSimulator) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        sim.inject("gremlins")
    with pytest.raises(ValueError, match="unknown endpoint"):
        sim.inject("drop", endpoint="orders")
    assert "drop" in FAULT_KINDS


async def test_a_stale_token_fault_answers_401_as_if_another_process_minted(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    headers = await mint(client)
    sim.inject("stale_token", endpoint="list")

    first = await client.get("/api/order", headers=headers)
    second = await client.get("/api/order", headers=headers)
    fresh = await mint(client)
    third = await client.get("/api/order", headers=fresh)

    assert first.status_code == second.status_code == 401
    assert first.json() == {"error": "Invalid AccessToken or Client Id"}
    assert third.status_code == 200
    assert sim.requests[1].outcome == "fault:stale_token"
    assert sim.tokens_minted == 2


async def test_accept_then_garbage_creates_the_order_but_answers_a_truncated_body(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    headers = await mint(client)
    sim.inject("accept_then_garbage", endpoint="create")

    response = await client.post("/api/order/create", json=order_payload(), headers=headers)

    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert len(sim.orders_with_number("SO202600062")) == 1
    record = sim.requests[-1]
    assert (record.outcome, record.detail, record.order_id) == (
        "fault:accept_then_garbage",
        "ok",
        4518823,
    )


async def test_an_in_process_drop_surfaces_as_an_httpx_transport_error(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    headers = await mint(client)
    sim.inject("drop", endpoint="create")
    sim.inject("accept_then_drop", endpoint="create")

    with pytest.raises(httpx.TransportError):
        await client.post("/api/order/create", json=order_payload("SO1"), headers=headers)
    with pytest.raises(httpx.TransportError):
        await client.post("/api/order/create", json=order_payload("SO2"), headers=headers)

    assert [order["number"] for order in sim.orders] == ["654367_SO2"]


async def a_held_create(
    client: httpx.AsyncClient, sim: QikinkSimulator, fault: str
) -> asyncio.Task[httpx.Response]:
    """A create that `fault` holds until `sim.wake()`, sent in the background."""
    headers = await mint(client)
    sim.inject(fault, endpoint="create")
    return asyncio.create_task(
        client.post("/api/order/create", json=order_payload(), headers=headers)
    )


async def test_timeout_does_nothing_until_the_delay_is_over(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    pending = await a_held_create(client, sim, "timeout")

    # Admission and the start of the delay happen in one step, so once the request is logged
    # the handler is already parked and an eager one would already have created the order.
    await eventually(lambda: len(sim.requests) == 2)
    assert sim.orders == []
    assert sim.requests[-1].outcome == "pending"
    sim.wake()
    response = await pending

    assert response.json()["order_id"] == 4518823
    assert sim.requests[-1].outcome == "fault:timeout"


async def test_accept_then_timeout_creates_the_order_before_the_delay(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    pending = await a_held_create(client, sim, "accept_then_timeout")

    await eventually(lambda: len(sim.orders) == 1)
    assert not pending.done()
    sim.wake()
    response = await pending

    assert response.json()["order_id"] == 4518823


async def test_a_short_delay_elapses_on_its_own(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    headers = await mint(client)
    sim.inject("timeout", delay=0.01)

    response = await client.get("/api/order", headers=headers)

    assert response.json() == []


# -- faults over real sockets -----------------------------------------------------------------


async def test_drop_breaks_a_real_connection_mid_body(
    live_client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    headers = await mint(live_client)
    sim.inject("drop", endpoint="create")

    with pytest.raises(httpx.RemoteProtocolError):
        await live_client.post("/api/order/create", json=order_payload(), headers=headers)

    assert sim.orders == []
    # The same client carries on over a new connection.
    assert (await live_client.get("/api/order", headers=headers)).json() == []


async def test_accept_then_drop_creates_the_order_but_breaks_the_connection(
    live_client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    headers = await mint(live_client)
    sim.inject("accept_then_drop", endpoint="create")

    with pytest.raises(httpx.TransportError):
        await live_client.post("/api/order/create", json=order_payload(), headers=headers)

    assert len(sim.orders_with_number("SO202600062")) == 1
    retry = await live_client.post("/api/order/create", json=order_payload(), headers=headers)
    assert retry.json() == {"error": True, "message": "Duplicate Order."}


async def give_up_on_a_held_create(
    live_client: httpx.AsyncClient, sim: QikinkSimulator, fault: str
) -> None:
    """Send a create that `fault` holds for 30 s, give up on it after 0.2 s, and return once
    the server has noticed the hang-up."""
    headers = await mint(live_client)
    sim.inject(fault, endpoint="create", delay=30)

    with pytest.raises(httpx.ReadTimeout):
        await live_client.post(
            "/api/order/create", json=order_payload(), headers=headers, timeout=0.2
        )

    await eventually(lambda: sim.requests[-1].outcome != "pending")


async def test_timeout_makes_an_impatient_client_give_up_and_nothing_is_created(
    live_client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    await give_up_on_a_held_create(live_client, sim, "timeout")

    # The server notices the hang-up and never processes the create.
    assert sim.requests[-1].outcome == "fault:timeout"
    assert sim.requests[-1].detail == "not_processed; client_gone"
    assert sim.orders == []


async def test_accept_then_timeout_on_a_real_server_leaves_an_order_nobody_heard_of(
    live_client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    await give_up_on_a_held_create(live_client, sim, "accept_then_timeout")

    assert sim.requests[-1].detail == "ok; client_gone"
    assert len(sim.orders_with_number("SO202600062")) == 1


# -- control API ------------------------------------------------------------------------------


def test_the_app_exposes_its_simulator(sim: QikinkSimulator) -> None:
    assert create_simulator_app(sim).state.sim is sim
    assert isinstance(create_simulator_app().state.sim, QikinkSimulator)


def test_advance_ships_an_order_with_a_courier_tracking_link(sim: QikinkSimulator) -> None:
    order = sim.add_order("SO1")

    shipped = sim.advance(order["order_id"], "In-Transit", awb="AWB123", courier="Delhivery")

    assert shipped["status"] == "In-Transit"
    assert shipped["live_date"] == "2026-05-13 10:42:11"
    assert shipped["shipping"]["awb"] == "AWB123"
    assert shipped["shipping"]["courier_provider_name"] == "Delhivery"
    assert shipped["shipping"]["tracking_link"] == "https://courierupdates.com/?awb=AWB123"
    assert sim.order_by_number("SO1") == shipped


def test_an_awb_without_a_courier_still_names_one(sim: QikinkSimulator) -> None:
    order = sim.add_order("SO1")

    shipped = sim.advance(order["order_id"], "Picked Up", awb="AWB9")

    assert shipped["shipping"]["courier_provider_name"] == "Delhivery"


def test_advance_can_leave_a_tracking_link_ending_in_awb_equals(sim: QikinkSimulator) -> None:
    order = sim.add_order("SO1")

    manifested = sim.advance(
        order["order_id"], "Manifested", tracking_link="https://courierupdates.com/?awb="
    )

    assert manifested["shipping"]["awb"] is None
    assert manifested["shipping"]["tracking_link"] == "https://courierupdates.com/?awb="


def test_advance_refuses_an_unknown_order(sim: QikinkSimulator) -> None:
    with pytest.raises(KeyError):
        sim.advance(1, "Delivered")


def test_seeded_orders_keep_an_explicit_created_on(sim: QikinkSimulator) -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    by_text = sim.add_order("A1", created_on="2025-12-31 23:59:59")
    by_datetime = sim.add_order("A2", created_on=when)
    by_epoch = sim.add_order("A3", created_on=when.timestamp())

    assert by_text["created_on"] == "2025-12-31 23:59:59"
    assert by_datetime["created_on"] == by_epoch["created_on"] == "2026-01-02 03:04:05"
    assert [order["number"] for order in sim.orders] == ["654367_A1", "654367_A2", "654367_A3"]


async def test_reset_forgets_everything_and_ends_pending_delays(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    headers = await mint(client)
    sim.add_order("SO1")
    sim.inject("timeout", endpoint="list")
    pending = asyncio.create_task(client.get("/api/order", headers=headers))
    await eventually(lambda: len(sim.requests) == 2)

    sim.reset()
    await pending
    sim.inject("html_502", times=5)
    sim.reset()

    assert sim.stats() == {
        "tokens_minted": 0,
        "requests": 0,
        "orders": 0,
        "max_requests_in_window": 0,
        "faults_pending": 0,
    }
    assert (await client.get("/api/order", headers=headers)).status_code == 401


async def test_the_control_api_drives_the_simulator_over_http(
    client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    seeded = await client.post("/__sim__/orders", json={"order_number": "SO1"})
    bulk = await client.post("/__sim__/orders", json={"count": 12, "prefix": "B"})
    order_id = seeded.json()["orders"][0]["order_id"]
    advanced = await client.post(
        "/__sim__/advance",
        json={"order_id": order_id, "status": "Delivered", "awb": "A1", "courier": "Bluedart"},
    )
    injected = await client.post(
        "/__sim__/inject", json={"kind": "error_200", "endpoint": "token", "message": "Nope"}
    )
    token = await client.post("/api/token", data=CREDENTIALS)
    orders = await client.get("/__sim__/orders", params={"number": "SO1"})
    requests = await client.get("/__sim__/requests")
    stats = await client.get("/__sim__/stats")

    assert len(bulk.json()["orders"]) == 12
    assert advanced.json()["shipping"]["tracking_link"] == "https://courierupdates.com/?awb=A1"
    assert injected.json() == {"ok": True, "faults_pending": 1}
    assert token.json() == {"error": True, "message": "Nope"}
    assert [order["status"] for order in orders.json()] == ["Delivered"]
    assert [(r["endpoint"], r["outcome"]) for r in requests.json()] == [
        ("token", "fault:error_200")
    ]
    assert stats.json() == {
        "tokens_minted": 0,
        "requests": 1,
        "orders": 13,
        "max_requests_in_window": 1,
        "faults_pending": 0,
    }
    assert (await client.post("/__sim__/reset")).json() == {"ok": True}
    assert sim.orders == []
    assert sim.requests == []


async def test_control_requests_are_neither_logged_nor_rate_limited(clock: ManualClock) -> None:
    sim = QikinkSimulator(rate_limit_per_minute=1, clock=clock)
    async with in_process(sim) as client:
        for _ in range(5):
            assert (await client.get("/__sim__/stats")).status_code == 200
        assert (await client.get("/__sim__/nothing-here")).status_code == 404
        await mint(client)

    assert [request.endpoint for request in sim.requests] == ["token"]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/__sim__/inject", {"kind": "gremlins"}, 400),
        ("/__sim__/inject", {"endpoint": "create"}, 400),
        ("/__sim__/advance", {"order_id": 42, "status": "Delivered"}, 404),
        ("/__sim__/advance", {"status": "Delivered"}, 400),
        ("/__sim__/orders", {"colour": "red"}, 400),
        ("/__sim__/advance", {"order_id": 1, "status": "In-Transit", "tracking_link": "x"}, 400),
    ],
)
async def test_the_control_api_refuses_bad_input_with_a_reason(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], status: int
) -> None:
    response = await client.post(path, json=body)

    assert response.status_code == status
    assert response.json()["error"]


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://courier.example/track",
        "//courier.example/track",
        "https://courier.example/track me",
    ],
)
async def test_advance_refuses_a_tracking_link_that_is_no_web_address(
    client: httpx.AsyncClient, sim: QikinkSimulator, link: str
) -> None:
    order = sim.add_order("SO1")
    body = {"order_id": order["order_id"], "status": "In-Transit", "tracking_link": link}
    response = await client.post("/__sim__/advance", json=body)

    assert response.status_code == 400
    assert response.json() == {"error": "tracking_link must be an http:// or https:// URL"}
    assert sim.order(order["order_id"]) == order
    body["tracking_link"] = "HTTPS://courier.example/track?awb=1"
    assert (await client.post("/__sim__/advance", json=body)).status_code == 200


async def test_the_control_api_works_across_a_real_socket(
    live_client: httpx.AsyncClient, sim: QikinkSimulator
) -> None:
    await live_client.post("/__sim__/inject", json={"kind": "drop", "endpoint": "token"})

    with pytest.raises(httpx.RemoteProtocolError):
        await live_client.post("/api/token", data=CREDENTIALS)

    stats = (await live_client.get("/__sim__/stats")).json()
    assert stats["requests"] == 1
    assert sim.requests[0].outcome == "fault:drop"
