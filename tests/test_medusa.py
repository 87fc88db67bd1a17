"""Medusa orders by id, the sweep for missed ones, and Indian addresses made Qikink-ready."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from models import OrderMapping, OrderMappingStatus, ProductMapping, SubmitState
from services.errors import InvalidInput
from services.india import STATES, normalise_phone, state_name
from services.install_secret import install_secret
from services.medusa import MedusaClient
from services.reconcile import reconcile
from services.store_orders import StoreOrder, order_number_for
from tests.conftest import TEST_JWT_SECRET, qikink_settings, serving
from tests.graphql_client import codes, gql, make_jwt
from tests.waiting import eventually

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from simulator import AppServer, SimulatorServer
    from tests.fake_medusa import FakeMedusa

ADMIN = {"authorization": f"Bearer {make_jwt(TEST_JWT_SECRET)}"}
SUBMIT = """mutation($id: ID!) { submitMedusaOrder(orderId: $id) {
  skipped reason mapping { id medusaOrderId medusaDisplayId status qikinkOrderNumber lastError
  printedItems { variantId quantity } } } }"""
RETRY = "mutation($id: ID!) { retryOrderSubmission(id: $id) { id status lastError } }"


@pytest.mark.parametrize("code", sorted(STATES))
def test_every_state_and_union_territory_code_becomes_its_name(code: str) -> None:
    name = STATES[code]
    assert state_name(code) == name
    assert state_name(f"IN-{code}") == name
    assert state_name(code.lower()) == name
    assert state_name(name.upper()) == name


def test_there_are_28_states_and_8_union_territories() -> None:
    assert len(set(STATES.values())) == 36


@pytest.mark.parametrize(
    ("given", "name"),
    [
        ("Orissa", "Odisha"),
        ("pondicherry", "Puducherry"),
        ("New Delhi", "Delhi"),
        ("Jammu & Kashmir", "Jammu and Kashmir"),
        ("  tamil   nadu ", "Tamil Nadu"),
    ],
)
def test_common_spellings_become_the_name_qikink_knows(given: str, name: str) -> None:
    assert state_name(given) == name


@pytest.mark.parametrize("given", ["", "XX", "IN-ZZ", "Narnia", None])
def test_an_unknown_state_is_refused_with_a_message_a_merchant_understands(
    given: str | None,
) -> None:
    with pytest.raises(InvalidInput, match="state"):
        state_name(given)


@pytest.mark.parametrize(
    "given",
    [
        "+919800000000",
        "+91 98000 00000",
        "+91-98000-00000",
        "919800000000",
        "09800000000",
        "9800000000",
        "(+91) 98000 00000",
        " 98000.00000 ",
    ],
)
def test_indian_phone_numbers_become_ten_digits(given: str) -> None:
    assert normalise_phone(given) == "9800000000"


@pytest.mark.parametrize(
    "given", ["", None, "12345", "+14155550100", "5800000000", "98000000000000", "phone"]
)
def test_a_phone_that_cannot_be_an_indian_mobile_is_refused(given: str | None) -> None:
    with pytest.raises(InvalidInput, match=r"[Pp]hone"):
        normalise_phone(given)


@pytest.fixture
async def shop(
    database_url: str, sim_server: SimulatorServer, fake_medusa: tuple[FakeMedusa, AppServer]
) -> AsyncIterator[tuple[httpx.AsyncClient, FakeMedusa]]:
    fake, server = fake_medusa
    settings = qikink_settings(
        database_url,
        sim_server,
        medusa_backend_url=server.url,
        medusa_api_key=fake.api_key,
        reconcile_interval_seconds=0,
    )
    async with serving(settings) as http:
        await ProductMapping.create(qikink_sku_id="MVnHs-Wh-S", variant_id="variant_tee")
        yield http, fake


NOW = datetime.now(UTC)


async def test_an_order_placed_in_medusa_is_loaded_by_id_and_made_qikink_ready(
    shop: tuple[httpx.AsyncClient, FakeMedusa],
) -> None:
    http, fake = shop
    fake.place("order_01", created_at=NOW, display_id=7)
    body = await gql(http, SUBMIT, {"id": "order_01"}, ADMIN)
    result = body["data"]["submitMedusaOrder"]
    assert result["skipped"] is False
    # Medusa's display id, then this install's keyed suffix.
    seven = StoreOrder("order_01", "", [], None, display_id="7")  # type: ignore[arg-type]
    number = result["mapping"]["qikinkOrderNumber"]
    assert number == order_number_for(seven, "MD", await install_secret())
    assert number.startswith("MD7")
    # Kept as the merchant knows the order (#7), and what Qikink prints of it.
    assert result["mapping"]["medusaDisplayId"] == "7"
    assert result["mapping"]["printedItems"] == [{"variantId": "variant_tee", "quantity": 1}]
    row = await OrderMapping.get(medusa_order_id="order_01")
    assert row.payload is not None
    address = row.payload["shipping_address"]
    assert (address["province"], address["phone"]) == ("Karnataka", "9800000000")
    assert (address["address2"], address["country_code"]) == ("", "IN")
    assert row.payload["line_items"][0]["price"] == "499.00"

    again = await gql(http, SUBMIT, {"id": "order_01"}, ADMIN)
    assert again["data"]["submitMedusaOrder"]["mapping"]["id"] == result["mapping"]["id"]
    assert await OrderMapping.all().count() == 1


async def test_an_address_that_cannot_be_fixed_fails_visibly_and_retry_reloads_it(
    shop: tuple[httpx.AsyncClient, FakeMedusa], sim_server: SimulatorServer
) -> None:
    http, fake = shop
    fake.place("order_02", created_at=NOW, display_id=8, province="Narnia")
    result = (await gql(http, SUBMIT, {"id": "order_02"}, ADMIN))["data"]["submitMedusaOrder"]
    assert result["mapping"]["status"] == "FAILED"
    assert result["mapping"]["lastError"].startswith("Not sent to Qikink: 'Narnia' is not")
    assert sim_server.sim.requests == []

    still_wrong = await gql(http, RETRY, {"id": result["mapping"]["id"]}, ADMIN)
    assert codes(still_wrong) == ["BAD_USER_INPUT"]

    fake.orders["order_02"]["shipping_address"]["province"] = "IN-TN"  # fixed in Medusa
    retried = await gql(http, RETRY, {"id": result["mapping"]["id"]}, ADMIN)
    assert retried["data"]["retryOrderSubmission"]["status"] == "PENDING"
    row = await OrderMapping.get(id=result["mapping"]["id"])
    assert row.payload is not None
    assert row.payload["shipping_address"]["province"] == "Tamil Nadu"


async def test_an_order_with_no_mapped_item_is_skipped(
    shop: tuple[httpx.AsyncClient, FakeMedusa],
) -> None:
    http, fake = shop
    fake.place("order_03", created_at=NOW, display_id=9, variant_id="variant_other")
    result = (await gql(http, SUBMIT, {"id": "order_03"}, ADMIN))["data"]["submitMedusaOrder"]
    assert result == {
        "skipped": True,
        "reason": "None of the order's items is mapped to a Qikink SKU.",
        "mapping": None,
    }


async def test_medusa_failures_are_plain(
    database_url: str, sim_server: SimulatorServer, fake_medusa: tuple[FakeMedusa, AppServer]
) -> None:
    fake, server = fake_medusa
    for url, key, code in (
        (server.url, fake.api_key, "NOT_FOUND"),
        (server.url, "sk_wrong", "MEDUSA_REJECTED"),
        ("http://127.0.0.1:1", fake.api_key, "MEDUSA_UNAVAILABLE"),
    ):
        settings = qikink_settings(
            database_url, sim_server, medusa_backend_url=url, medusa_api_key=key
        )
        async with serving(settings) as http:
            body = await gql(http, SUBMIT, {"id": "order_missing"}, ADMIN)
        assert codes(body) == [code], (url, key)
        assert "sk_wrong" not in str(body)


@pytest.fixture
async def sweeper(
    connected_db: str, fake_medusa: tuple[FakeMedusa, AppServer]
) -> AsyncIterator[tuple[Any, FakeMedusa]]:
    fake, server = fake_medusa
    await ProductMapping.create(qikink_sku_id="MVnHs-Wh-S", variant_id="variant_tee")
    async with httpx.AsyncClient() as http:
        client = MedusaClient(http, base_url=server.url, api_key=fake.api_key)

        async def sweep(**kwargs: Any) -> Any:
            return await reconcile(
                client, prefix="MD", overlap_seconds=600, max_orders=500, **kwargs
            )

        yield sweep, fake


async def test_the_first_sweep_sends_no_history_and_later_ones_send_what_was_missed(
    sweeper: tuple[Any, FakeMedusa],
) -> None:
    sweep, fake = sweeper
    fake.place("order_old", created_at=NOW - timedelta(days=30), display_id=1)
    first = await sweep()
    assert (first.seen, first.submitted) == (0, 0)
    assert await OrderMapping.all().count() == 0

    fake.place("order_new", created_at=datetime.now(UTC), display_id=2)
    second = await sweep()
    assert second.submitted == 1
    row = await OrderMapping.get(medusa_order_id="order_new")
    assert (row.submit_state, row.medusa_display_id) == (SubmitState.QUEUED, "2")

    third = await sweep()
    assert third.submitted == 0
    assert await OrderMapping.all().count() == 1


async def test_an_order_written_just_before_the_watermark_is_still_found(
    sweeper: tuple[Any, FakeMedusa],
) -> None:
    sweep, fake = sweeper
    await sweep()  # sets the watermark to now
    later = datetime.now(UTC) + timedelta(seconds=5)
    fake.place("order_b", created_at=later, display_id=11)
    assert (await sweep()).submitted == 1
    # An order stamped before the newest one, but committed (and listed) only afterwards.
    fake.place("order_a", created_at=later - timedelta(seconds=3), display_id=10)
    edge = await sweep()
    assert edge.submitted == 1
    assert await OrderMapping.filter(medusa_order_id__in=["order_a", "order_b"]).count() == 2
    assert (await sweep()).submitted == 0


async def test_a_sweep_is_bounded_and_the_next_one_carries_on(
    sweeper: tuple[Any, FakeMedusa],
) -> None:
    sweep, fake = sweeper
    start = datetime.now(UTC) - timedelta(minutes=5)
    for i in range(7):
        fake.place(f"order_{i}", created_at=start + timedelta(seconds=i), display_id=100 + i)
    first = await sweep(since=start - timedelta(seconds=1))
    assert first.submitted == 7
    assert await OrderMapping.all().count() == 7


async def test_the_since_option_reaches_back_and_nothing_is_sent_twice(
    sweeper: tuple[Any, FakeMedusa],
) -> None:
    sweep, fake = sweeper
    fake.place("order_yesterday", created_at=NOW - timedelta(days=1), display_id=5)
    await sweep()
    assert await OrderMapping.all().count() == 0
    backfill = await sweep(since=NOW - timedelta(days=2))
    assert backfill.submitted == 1
    assert (await sweep(since=NOW - timedelta(days=2))).submitted == 0


async def test_only_one_sweep_runs_at_a_time(sweeper: tuple[Any, FakeMedusa]) -> None:
    sweep, fake = sweeper
    await sweep()  # the first sweep only sets the watermark: no list
    fake.place("order_x", created_at=datetime.now(UTC), display_id=20)
    fake.lists_open.clear()
    running = asyncio.create_task(sweep())

    # The first sweep holds the lease while Medusa keeps its list waiting: others stand back.
    await eventually(lambda: len(fake.requests) == 1)
    others = await asyncio.gather(*(sweep() for _ in range(3)))
    assert [result.ran for result in others] == [False, False, False]
    fake.lists_open.set()
    result = await running
    assert (result.ran, result.submitted) == (True, 1)
    # One sweep listed Medusa's placed orders once, and its canceled ones once.
    assert ["created_at" in r for r in fake.requests] == [True, False]
    assert await OrderMapping.filter(medusa_order_id="order_x").count() == 1


async def test_a_sweep_stops_an_order_canceled_while_its_event_was_lost(
    sweeper: tuple[Any, FakeMedusa],
) -> None:
    sweep, fake = sweeper
    await sweep()
    fake.place("order_c", created_at=datetime.now(UTC), display_id=30)
    fake.place("order_d", created_at=datetime.now(UTC), display_id=31)
    assert (await sweep()).submitted == 2
    fake.cancel("order_c", at=datetime.now(UTC))
    # Placed and canceled while the service was away: never recorded to send.
    fake.place("order_e", created_at=datetime.now(UTC), display_id=32)
    fake.cancel("order_e", at=datetime.now(UTC))
    result = await sweep()
    assert (result.submitted, result.canceled) == (0, 1)
    row = await OrderMapping.get(medusa_order_id="order_c")
    assert (row.status, row.cancel_requested) == (OrderMappingStatus.CANCELED, True)
    assert not await OrderMapping.filter(medusa_order_id="order_e").exists()
    other = await OrderMapping.get(medusa_order_id="order_d")
    assert (other.status, other.cancel_requested) == (OrderMappingStatus.PENDING, False)
    # Seen once: the next sweep has nothing to cancel.
    assert (await sweep()).canceled == 0
