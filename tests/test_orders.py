"""Placed store orders become exactly one Qikink order each, whatever fails on the way."""

from __future__ import annotations

import asyncio
import copy
import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from models import InstallSecret, OrderMapping, OrderMappingStatus, ProductMapping, SubmitState
from services.adoption import differences
from services.install_secret import install_secret
from services.store_orders import StoreOrder, next_order_number, order_number_for
from services.worker import SubmissionWorker
from tests.conftest import (
    METRICS_HEADERS,
    TEST_JWT_SECRET,
    qikink_settings,
    series,
    serving,
)
from tests.graphql_client import codes, gql, make_jwt, qikink_order_input
from tests.waiting import eventually

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    import httpx

    from services.qikink_client import QikinkClient
    from simulator import ManualClock, SimulatorServer

ADMIN = {"authorization": f"Bearer {make_jwt(TEST_JWT_SECRET)}"}
SUBMIT = """mutation($order: StoreOrderInput!) { submitStoreOrder(order: $order) {
  skipped reason mapping { id medusaOrderId qikinkOrderId qikinkOrderNumber status
  qikinkStatus attempts lastError } } }"""
RETRY = "mutation($id: ID!) { retryOrderSubmission(id: $id) { id status attempts lastError } }"

ORDER: dict[str, Any] = {
    "id": "order_01JDQ5ZK9W8X7Y6V5T4S3R2Q1P",
    "displayId": "1001",
    "email": "asha@example.com",
    "currencyCode": "inr",
    "paymentMethod": "COD",
    "items": [
        {"variantId": "variant_tee_white_s", "quantity": 2, "unitPrice": "549", "title": "Tee"},
        {"variantId": "variant_unmapped", "quantity": 1, "unitPrice": "999", "title": "Cap"},
        {"variantId": "variant_mug", "quantity": 1, "unitPrice": "349.50", "title": "Mug"},
    ],
    "shippingAddress": {
        "firstName": "Asha",
        "lastName": None,
        "address1": "12 MG Road",
        "address2": None,
        "city": "Bengaluru",
        "province": "Karnataka",
        "postalCode": "560001",
        "countryCode": "in",
        "phone": "9876543210",
    },
}


def order(**changes: Any) -> dict[str, Any]:
    value = copy.deepcopy(ORDER)
    value.update(changes)
    return value


def store_order(order_id: str = ORDER["id"], display_id: str | None = "1001") -> StoreOrder:
    return StoreOrder(
        id=order_id, email="a@b.co", items=[], shipping_address=None, display_id=display_id
    )  # type: ignore[arg-type]


async def number_of(order_id: str = ORDER["id"], display_id: str | None = "1001") -> str:
    """The Qikink order number this install gives a store order (what an insider could know)."""
    return order_number_for(store_order(order_id, display_id), "MD", await install_secret())


@pytest.fixture
async def shop(
    database_url: str,
    sim_server: SimulatorServer,
    clock: ManualClock,
    make_qikink_client: Callable[..., QikinkClient],
) -> AsyncIterator[Shop]:
    async with serving(
        qikink_settings(database_url, sim_server, qikink_timeout_seconds=0.5), clock=clock
    ) as http:
        await ProductMapping.create(qikink_sku_id="MVnHs-Wh-S", variant_id="variant_tee_white_s")
        await ProductMapping.create(qikink_sku_id="MUG-11OZ", variant_id="variant_mug")
        client = make_qikink_client(timeout=0.5)
        worker = SubmissionWorker(
            client, lease_seconds=30, backoff_base=1, backoff_max=5, clock=clock
        )
        yield Shop(http, worker, sim_server, clock)


class Shop:
    """The app over HTTP, a worker driven step by step, and the simulator."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        worker: SubmissionWorker,
        server: SimulatorServer,
        clock: ManualClock,
    ) -> None:
        self.http = http
        self.worker = worker
        self.sim = server.sim
        self.clock = clock

    async def submit(self, value: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await gql(self.http, SUBMIT, {"order": value or order()}, ADMIN)
        assert "errors" not in body, body
        return body["data"]["submitStoreOrder"]

    async def work(self, passes: int = 6) -> None:
        """Run the worker until nothing is left to do, moving the clock past each backoff."""
        for _ in range(passes):
            self.clock.advance(6)  # past the longest backoff (backoff_max)
            if not await self.worker.run_once():
                return


async def test_only_mapped_items_are_sent_with_everything_qikink_needs(shop: Shop) -> None:
    result = await shop.submit()
    assert result["skipped"] is False
    mapping = result["mapping"]
    number = await number_of()
    assert (mapping["status"], mapping["qikinkOrderNumber"]) == ("PENDING", number)
    assert re.fullmatch(r"MD1001[0-9A-Z]{4}", number)
    row = await OrderMapping.get(id=mapping["id"])
    assert row.payload == {
        "order_number": number,
        "qikink_shipping": "1",
        "gateway": "COD",
        "total_order_value": "1447.50",
        "line_items": [
            {"search_from_my_products": 1, "sku": "MVnHs-Wh-S", "quantity": 2, "price": "549.00"},
            {"search_from_my_products": 1, "sku": "MUG-11OZ", "quantity": 1, "price": "349.50"},
        ],
        "shipping_address": {
            "first_name": "Asha",
            "last_name": "",
            "address1": "12 MG Road",
            "address2": "",
            "phone": "9876543210",
            "email": "asha@example.com",
            "city": "Bengaluru",
            "zip": "560001",
            "province": "Karnataka",
            "country_code": "IN",
        },
    }
    # Recorded before Qikink is called: nothing has reached it yet.
    assert shop.sim.orders == []

    await shop.work()
    await row.refresh_from_db()
    assert (row.status, row.submit_state) == (OrderMappingStatus.SUBMITTED, SubmitState.DONE)
    [sent] = shop.sim.orders_with_number(number)
    assert row.qikink_order_id == str(sent["order_id"])
    assert sent["payment_type"] == "COD"
    assert [item["sku"] for item in sent["line_items"]] == ["MVnHs-Wh-S", "MUG-11OZ"]


async def test_a_submitted_order_keeps_its_display_id_and_the_items_qikink_prints(
    shop: Shop,
) -> None:
    made = await shop.submit(order(displayId=1001))
    fields = "medusaDisplayId printedItems { variantId quantity }"
    query = f"query($id: ID!) {{ qikinkOrderMapping(id: $id) {{ {fields} }} }}"
    body = await gql(shop.http, query, {"id": made["mapping"]["id"]}, ADMIN)
    # The unmapped cap is the store's to fulfil: not among the printed items.
    assert body["data"]["qikinkOrderMapping"] == {
        "medusaDisplayId": "1001",
        "printedItems": [
            {"variantId": "variant_tee_white_s", "quantity": 2},
            {"variantId": "variant_mug", "quantity": 1},
        ],
    }
    # A storefront reads the display id, but not what the merchant's supplier prints.
    public = await gql(
        shop.http,
        "query($id: ID!) { qikinkOrderMapping(id: $id) { medusaDisplayId } }",
        {"id": ORDER["id"]},
    )
    assert public == {"data": {"qikinkOrderMapping": {"medusaDisplayId": "1001"}}}
    refused = await gql(shop.http, query, {"id": ORDER["id"]})
    assert codes(refused) == ["UNAUTHENTICATED"]
    assert refused["data"]["qikinkOrderMapping"] is None


async def test_an_order_with_no_mapped_item_is_skipped_without_a_mapping(shop: Shop) -> None:
    result = await shop.submit(
        order(items=[{"variantId": "variant_unmapped", "quantity": 1, "unitPrice": "999"}])
    )
    assert result == {
        "skipped": True,
        "reason": "None of the order's items is mapped to a Qikink SKU.",
        "mapping": None,
    }
    assert await OrderMapping.all().count() == 0


async def test_the_same_order_submitted_again_is_the_same_mapping_and_one_qikink_order(
    shop: Shop,
) -> None:
    first = await shop.submit()
    await shop.work()
    again = await shop.submit()
    assert again["mapping"]["id"] == first["mapping"]["id"]
    assert again["mapping"]["status"] == "SUBMITTED"
    await shop.work()
    assert len(shop.sim.orders) == 1


async def test_twenty_concurrent_submissions_of_one_order_make_one_mapping(shop: Shop) -> None:
    bodies = await asyncio.gather(
        *(gql(shop.http, SUBMIT, {"order": order()}, ADMIN) for _ in range(20))
    )
    ids = {body["data"]["submitStoreOrder"]["mapping"]["id"] for body in bodies}
    assert len(ids) == 1
    assert await OrderMapping.all().count() == 1
    await shop.work()
    assert len(shop.sim.orders) == 1


def test_order_numbers_are_deterministic_letters_and_digits_of_at_most_15() -> None:
    key, other_key = b"k" * 32, b"o" * 32
    number = order_number_for(store_order("order_01", "1001"), "MD", key)
    assert number == order_number_for(store_order("order_01", "1001"), "MD", key)
    assert re.fullmatch(r"MD1001[0-9A-Z]{4}", number)
    # The suffix is keyed: another install (or an outsider) gets another number.
    assert number != order_number_for(store_order("order_01", "1001"), "MD", other_key)
    hashed = order_number_for(store_order("order_01JDQ5ZK9W8X7Y6V5T4S3R2Q1P", None), "MD", key)
    assert hashed == order_number_for(
        store_order("order_01JDQ5ZK9W8X7Y6V5T4S3R2Q1P", None), "MD", key
    )
    assert hashed != order_number_for(
        store_order("order_01JDQ5ZK9W8X7Y6V5T4S3R2Q1Q", None), "MD", key
    )
    assert hashed != order_number_for(
        store_order("order_01JDQ5ZK9W8X7Y6V5T4S3R2Q1P", None), "MD", other_key
    )
    assert (len(hashed), hashed.isalnum(), hashed.startswith("MD")) == (15, True, True)
    too_long = order_number_for(store_order("order_02", "123456789012"), "MD", key)
    assert (len(too_long), too_long.isalnum()) == (15, True)
    assert "123456789012" not in too_long
    assert re.fullmatch(
        r"1042[0-9A-Z]{4}", order_number_for(store_order("order_03", "#10-42"), "", key)
    )


def test_a_taken_number_is_followed_by_another_of_the_same_order() -> None:
    key = b"k" * 32
    number = order_number_for(store_order("order_01", "1001"), "MD", key)
    after = next_order_number(number, "order_01", key, 0)
    assert after == order_number_for(store_order("order_01", "1001"), "MD", key, 1)
    assert (after[:6], after != number) == ("MD1001", True)
    assert next_order_number(after, "order_01", key, 1) not in (number, after)
    hashed = order_number_for(store_order("order_01", None), "MD", key)
    assert next_order_number(hashed, "order_01", key, 0)[:11] == hashed[:11]
    # A number made before suffixes existed keeps all of itself.
    assert re.fullmatch(r"MD1042[0-9A-Z]{4}", next_order_number("MD1042", "order_01", key, 0))


async def test_the_install_secret_is_made_once_and_shared(shop: Shop) -> None:
    secrets = await asyncio.gather(*(install_secret() for _ in range(10)))
    assert len(set(secrets)) == 1
    assert len(secrets[0]) == 32
    assert await InstallSecret.all().count() == 1


FAULTS = [
    "timeout",
    "accept_then_timeout",
    "drop",
    "accept_then_drop",
    "accept_then_garbage",
    "html_502",
    "error_200",
    "rate_limit_200",
    "rate_limit_429",
    "stale_token",
    "status_500",
    "empty",
]


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_fault_on_create_still_ends_submitted_with_one_qikink_order(
    shop: Shop, fault: str
) -> None:
    result = await shop.submit()
    await shop.worker.client.token()  # so the fault hits the create, not the token call
    shop.sim.inject(fault, endpoint="create", delay=5)
    await shop.work(passes=1)
    if fault.startswith("rate_limit"):
        # Qikink said "too many": every process now waits out the minute.
        shop.clock.advance(61)
    await shop.work()
    row = await OrderMapping.get(id=result["mapping"]["id"])
    assert (row.status, row.submit_state) == (OrderMappingStatus.SUBMITTED, SubmitState.DONE)
    [sent] = shop.sim.orders_with_number(await number_of())
    assert row.qikink_order_id == str(sent["order_id"])
    assert len(shop.sim.orders) == 1
    creates = [r for r in shop.sim.requests if r.endpoint == "create"]
    # An accepted create whose reply was lost is found and adopted, never sent again.
    assert len(creates) == (1 if fault.startswith("accept") else 2)


async def test_a_transient_failure_is_retried_later_with_what_went_wrong(shop: Shop) -> None:
    result = await shop.submit()
    await shop.worker.client.token()
    shop.sim.inject("html_502", endpoint="create")
    await shop.worker.run_once()
    body = await gql(
        shop.http,
        "query($id: ID!) { qikinkOrderMapping(id: $id) { status attempts lastError "
        "nextAttemptAt } }",
        {"id": result["mapping"]["id"]},
        ADMIN,
    )
    mapping = body["data"]["qikinkOrderMapping"]
    assert mapping["status"] == "PENDING"
    assert mapping["attempts"] == 1
    assert mapping["lastError"] == "Qikink answered with an HTML page (HTTP 502)."
    assert mapping["nextAttemptAt"] > datetime.fromtimestamp(shop.clock(), UTC).isoformat()
    # Not due again until the backoff has passed on the worker's clock.
    assert await shop.worker.run_once() == 0


async def test_our_own_order_already_in_qikink_is_adopted_not_created_again(shop: Shop) -> None:
    result = await shop.submit()
    row = await OrderMapping.get(id=result["mapping"]["id"])
    # An earlier create of this very payload reached Qikink; its reply was lost.
    existing_id = await shop.worker.client.create_order(row.payload)
    await shop.work()
    await row.refresh_from_db()
    assert (row.status, row.qikink_order_id) == (OrderMappingStatus.SUBMITTED, existing_id)
    assert row.qikink_order_number == await number_of()
    assert len(shop.sim.orders) == 1
    creates = [r for r in shop.sim.requests if r.endpoint == "create"]
    assert [r.detail for r in creates][-1] == "Duplicate Order."


async def test_a_permanent_refusal_fails_with_qikinks_message_and_can_be_retried(
    shop: Shop,
) -> None:
    shop.sim.known_skus = {"MVnHs-Wh-S"}  # the mug is not in this merchant's "My Products"
    result = await shop.submit()
    await shop.work()
    row = await OrderMapping.get(id=result["mapping"]["id"])
    assert (row.status, row.last_error) == (OrderMappingStatus.FAILED, "Invalid SKU")
    assert shop.sim.orders == []

    shop.sim.known_skus = None  # the merchant added it in Qikink
    retried = await gql(shop.http, RETRY, {"id": row.id}, ADMIN)
    assert retried["data"]["retryOrderSubmission"]["status"] == "PENDING"
    await shop.work()
    await row.refresh_from_db()
    assert row.status is OrderMappingStatus.SUBMITTED
    assert len(shop.sim.orders) == 1


async def test_an_unexplained_error_is_retried_until_the_attempt_limit(shop: Shop) -> None:
    result = await shop.submit()
    await shop.worker.client.token()
    shop.worker.max_attempts = 3
    shop.sim.inject("error_200", endpoint="create", times=10, message="Something went wrong")
    await shop.work(passes=10)
    row = await OrderMapping.get(id=result["mapping"]["id"])
    assert (row.status, row.attempts) == (OrderMappingStatus.FAILED, 3)
    assert row.last_error == "Something went wrong"


async def test_only_a_failed_submission_can_be_retried(shop: Shop) -> None:
    result = await shop.submit()
    pending = await gql(shop.http, RETRY, {"id": result["mapping"]["id"]}, ADMIN)
    assert codes(pending) == ["CONFLICT"]
    missing = await gql(shop.http, RETRY, {"id": "om_missing"}, ADMIN)
    assert codes(missing) == ["NOT_FOUND"]


async def test_a_mapping_left_in_flight_by_a_dead_worker_is_picked_up_after_its_lease(
    shop: Shop,
) -> None:
    result = await shop.submit()
    # A worker claimed it, sent the create, and died before recording the answer.
    await shop.worker.client.token()
    await shop.worker.client.create_order(
        (await OrderMapping.get(id=result["mapping"]["id"])).payload
    )
    await OrderMapping.filter(id=result["mapping"]["id"]).update(
        submit_state=SubmitState.IN_FLIGHT,
        lease_owner="worker-dead",
        lease_expires_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    await shop.work()
    row = await OrderMapping.get(id=result["mapping"]["id"])
    assert row.status is OrderMappingStatus.SUBMITTED
    assert len(shop.sim.orders) == 1
    assert row.qikink_order_id == str(shop.sim.orders[0]["order_id"])


async def test_a_live_lease_is_left_alone(shop: Shop) -> None:
    result = await shop.submit()
    await OrderMapping.filter(id=result["mapping"]["id"]).update(
        submit_state=SubmitState.IN_FLIGHT,
        lease_owner="worker-alive",
        lease_expires_at=datetime(2100, 1, 1, tzinfo=UTC),
    )
    assert await shop.worker.run_once() == 0
    assert shop.sim.requests == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": ""}, "order.id"),
        ({"items": []}, "order.items"),
        ({"email": ""}, "order.email"),
        (
            {"items": [{"variantId": "variant_mug", "quantity": 0, "unitPrice": "1"}]},
            "order.items.0.quantity",
        ),
    ],
)
async def test_a_bad_store_order_is_refused_and_nothing_is_recorded(
    shop: Shop, changes: dict[str, Any], field: str
) -> None:
    body = await gql(shop.http, SUBMIT, {"order": order(**changes)}, ADMIN)
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == field
    assert await OrderMapping.all().count() == 0


async def test_submitting_needs_an_admin(shop: Shop) -> None:
    body = await gql(shop.http, SUBMIT, {"order": order()})
    assert codes(body) == ["UNAUTHENTICATED"]
    assert await OrderMapping.all().count() == 0


async def test_the_worker_inside_serve_submits_a_queued_order_by_itself(
    database_url: str, sim_server: SimulatorServer
) -> None:
    settings = qikink_settings(database_url, sim_server, run_worker=True)
    async with serving(settings) as http:
        await ProductMapping.create(qikink_sku_id="MUG-11OZ", variant_id="variant_mug")
        body = await gql(http, SUBMIT, {"order": order()}, ADMIN)
        mapping_id = body["data"]["submitStoreOrder"]["mapping"]["id"]

        async def submitted() -> bool:
            row = await OrderMapping.get(id=mapping_id)
            return row.status is OrderMappingStatus.SUBMITTED

        await eventually(submitted)
        assert len(sim_server.sim.orders) == 1


@pytest.mark.parametrize("price", ["sNaN", "NaN", "Infinity", "-1"])
async def test_an_item_price_that_is_no_amount_is_refused_naming_the_item(
    shop: Shop, price: str
) -> None:
    bad = order(items=[{"variantId": "variant_mug", "quantity": 1, "unitPrice": price}])
    body = await gql(shop.http, SUBMIT, {"order": bad}, ADMIN)
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == "order.items.0.unitPrice"
    assert await OrderMapping.all().count() == 0


# Someone else's order under the number the service will use (through the proxy here; anyone
# who can create orders in the merchant's Qikink account could): never adopted.
CREATE = """mutation($input: QikinkOrderInput!) {
  createQikinkOrder(input: $input) { orderId } }"""
MAPPING = """query($id: ID!) { qikinkOrderMapping(id: $id) { status qikinkOrderId
  qikinkOrderNumber lastError } }"""
MISMATCHES = 'qikink_adoption_mismatches_total{after="%s"}'
# The customer's own details (ORDER): never in a log line.
CUSTOMER_DETAILS = ("Asha", "asha@example.com", "560001", "9876543210", "12 MG Road")

SQUATS = {
    # Another order altogether, shipped elsewhere.
    "everything": qikink_order_input(
        address={"firstName": "Mallory", "lastName": "", "zip": "110001", "city": "New Delhi"}
    ),
    # The customer's very items and total, shipped to someone else.
    "shipping name": qikink_order_input(
        totalOrderValue="1447.50",
        lineItems=[
            {"sku": "MVnHs-Wh-S", "quantity": 2, "price": "549"},
            {"sku": "MUG-11OZ", "quantity": 1, "price": "349.50"},
        ],
        address={"firstName": "Mallory", "lastName": ""},
    ),
    "shipping zip": qikink_order_input(
        totalOrderValue="1447.50",
        lineItems=[
            {"sku": "MUG-11OZ", "quantity": 1, "price": "349.5"},
            {"sku": "MVnHs-Wh-S", "quantity": 2, "price": "549.00"},
        ],
        address={"firstName": "asha ", "lastName": "", "zip": "110001"},
    ),
    "one item's quantity": qikink_order_input(
        totalOrderValue="1447.50",
        lineItems=[
            {"sku": "MVnHs-Wh-S", "quantity": 3, "price": "549"},
            {"sku": "MUG-11OZ", "quantity": 1, "price": "349.50"},
        ],
        address={"firstName": "Asha", "lastName": ""},
    ),
}

# What the merchant is told differs, for each squat.
DIFFER = {
    "everything": "items, total, shipping name and shipping zip",
    "shipping name": "shipping name",
    "shipping zip": "shipping zip",
    "one item's quantity": "items",
}


async def squat(shop: Shop, number: str, what: str) -> dict[str, Any]:
    """Someone else's order made first under `number`; returns it as Qikink holds it."""
    body = await gql(shop.http, CREATE, {"input": {**SQUATS[what], "orderNumber": number}}, ADMIN)
    assert "errors" not in body, body
    held = shop.sim.order(int(body["data"]["createQikinkOrder"]["orderId"]))
    assert held is not None
    return copy.deepcopy(held)


@pytest.mark.parametrize("what", SQUATS)
async def test_a_squatted_order_number_is_never_adopted_and_retry_sends_the_order(
    shop: Shop, what: str, caplog: pytest.LogCaptureFixture
) -> None:
    number = await number_of()
    theirs = await squat(shop, number, what)
    before = (await shop.http.get("/metrics", headers=METRICS_HEADERS)).text
    result = await shop.submit()
    with caplog.at_level(logging.INFO, logger="qikink_graphql"):
        await shop.work()

    mapping = (await gql(shop.http, MAPPING, {"id": result["mapping"]["id"]}, ADMIN))["data"][
        "qikinkOrderMapping"
    ]
    after_number = mapping["qikinkOrderNumber"]
    assert (mapping["status"], mapping["qikinkOrderId"]) == ("FAILED", None)
    assert re.fullmatch(r"MD1001[0-9A-Z]{4}", after_number)
    assert after_number != number
    assert mapping["lastError"].startswith(
        f"Qikink already has an order numbered {number} that is not this one (different "
    )
    assert f"(different {DIFFER[what]})" in mapping["lastError"]
    assert f"new number {after_number}." in mapping["lastError"]
    # Qikink still has their order, untouched, and nothing else.
    assert shop.sim.orders == [theirs]
    metrics = (await shop.http.get("/metrics", headers=METRICS_HEADERS)).text
    assert series(metrics, MISMATCHES % "duplicate") - series(before, MISMATCHES % "duplicate") == 1
    [alert] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert number in alert.getMessage()
    assert result["mapping"]["medusaOrderId"] in alert.getMessage()
    assert not [d for d in CUSTOMER_DETAILS if d in alert.getMessage()]

    retried = await gql(shop.http, RETRY, {"id": result["mapping"]["id"]}, ADMIN)
    assert retried["data"]["retryOrderSubmission"]["status"] == "PENDING"
    await shop.work()
    row = await OrderMapping.get(id=result["mapping"]["id"])
    assert (row.status, row.qikink_order_number) == (OrderMappingStatus.SUBMITTED, after_number)
    [ours] = shop.sim.orders_with_number(after_number)
    assert row.qikink_order_id == str(ours["order_id"])
    assert [(i["sku"], i["quantity"]) for i in ours["line_items"]] == [
        ("MVnHs-Wh-S", "2"),
        ("MUG-11OZ", "1"),
    ]
    assert ours["shipping"]["first_name"] == "Asha"
    assert shop.sim.orders_with_number(number) == [theirs]


async def test_a_squatted_number_found_after_an_unknown_outcome_is_not_adopted(
    shop: Shop,
) -> None:
    result = await shop.submit()
    number = result["mapping"]["qikinkOrderNumber"]
    await shop.worker.client.token()
    # The create times out before Qikink processed it; meanwhile someone takes the number.
    shop.sim.inject("timeout", endpoint="create", delay=5)
    await shop.work(passes=1)
    theirs = await squat(shop, number, "shipping name")
    before = (await shop.http.get("/metrics", headers=METRICS_HEADERS)).text
    await shop.work()
    row = await OrderMapping.get(id=result["mapping"]["id"])
    assert (row.status, row.qikink_order_id) == (OrderMappingStatus.FAILED, None)
    assert row.last_error is not None
    assert row.last_error.startswith(f"Qikink already has an order numbered {number} ")
    assert shop.sim.orders == [theirs]
    metrics = (await shop.http.get("/metrics", headers=METRICS_HEADERS)).text
    assert series(metrics, MISMATCHES % "unknown") - series(before, MISMATCHES % "unknown") == 1
    # The lookup decided: no create was sent again under the taken number.
    creates = [r for r in shop.sim.requests if r.endpoint == "create"]
    assert len(creates) == 2  # the timed-out one, and the squatter's


async def test_an_order_without_display_id_gets_a_keyed_number_that_is_checked_too(
    shop: Shop,
) -> None:
    number = await number_of(ORDER["id"], None)
    assert (len(number), number.startswith("MD")) == (15, True)
    theirs = await squat(shop, number, "everything")
    result = await shop.submit(order(displayId=None))
    assert result["mapping"]["qikinkOrderNumber"] == number
    await shop.work()
    row = await OrderMapping.get(id=result["mapping"]["id"])
    assert row.status is OrderMappingStatus.FAILED
    assert shop.sim.orders == [theirs]


def test_qikinks_own_formatting_of_our_order_is_still_our_order() -> None:
    sent = {
        "total_order_value": "1447.50",
        "line_items": [
            {"search_from_my_products": 1, "sku": "MVnHs-Wh-S", "quantity": 2, "price": "549.00"},
            {"search_from_my_products": 1, "sku": "MUG-11OZ", "quantity": 1, "price": "349.50"},
        ],
        "shipping_address": {"first_name": "Asha  Devi", "last_name": "", "zip": "560001"},
    }
    held = {
        "order_id": 1,
        "total_order_value": 1447.5,
        "line_items": [
            {"sku": "MUG-11OZ", "quantity": "1", "price": "349.5"},
            {"sku": "MVnHs-Wh-S", "quantity": "2.00", "price": 549},
        ],
        "shipping": {"first_name": " ASHA devi", "last_name": None, "zip": "560 001"},
    }
    assert differences(held, sent) == []
    assert differences({**held, "line_items": held["line_items"][:1]}, sent) == ["items"]
    assert differences({}, sent) == ["items", "total", "shipping name", "shipping zip"]
