"""The Qikink client against the simulator over real HTTP: token, budget, failures."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from services.qikink.lanes import rate_limit_message
from services.qikink.token import REFRESH_MARGIN_SECONDS
from services.shared.errors import (
    QikinkRateLimited,
    QikinkRejected,
    QikinkUnavailable,
    RateLimited,
)
from simulator.orders import example_address, example_payload

if TYPE_CHECKING:
    from collections.abc import Callable

    from services.qikink.client import QikinkClient
    from simulator import ManualClock, SimulatorServer


@pytest.fixture
def make_client(
    connected_db: str, make_qikink_client: Callable[..., QikinkClient]
) -> Callable[..., QikinkClient]:
    return make_qikink_client


async def test_the_token_is_minted_once_and_reused(
    make_client: Callable[..., QikinkClient], sim_server: SimulatorServer
) -> None:
    client = make_client()
    first = await client.token()
    await client.list_orders(1)
    await client.list_orders(2)
    assert (await client.token()).access_token == first.access_token
    assert sim_server.sim.tokens_minted == 1


async def test_the_token_is_shared_through_the_database_by_other_clients(
    make_client: Callable[..., QikinkClient], sim_server: SimulatorServer
) -> None:
    # Two clients stand for two processes: neither may knock out the other's token.
    one, two = make_client(), make_client()
    await one.list_orders(1)
    await two.list_orders(1)
    await one.list_orders(1)
    assert sim_server.sim.tokens_minted == 1
    assert all(r.outcome != "unauthorized" for r in sim_server.sim.requests)


async def test_the_token_is_refreshed_thirty_seconds_before_it_expires(
    make_client: Callable[..., QikinkClient], sim_server: SimulatorServer, clock: ManualClock
) -> None:
    client = make_client()
    first = await client.token()
    clock.advance(3600 - REFRESH_MARGIN_SECONDS - 1)
    assert (await client.token()).access_token == first.access_token
    assert sim_server.sim.tokens_minted == 1
    clock.advance(2)
    second = await client.token()
    assert second.access_token != first.access_token
    assert second.generation == first.generation + 1
    assert sim_server.sim.tokens_minted == 2
    # The fresh token works: no 401 on the next call.
    await client.list_orders(1)
    assert sim_server.sim.requests[-1].outcome == "ok"


async def test_a_missing_expires_in_means_one_hour(
    make_client: Callable[..., QikinkClient], sim_server: SimulatorServer
) -> None:
    sim_server.sim.token_expires_in = None
    client = make_client()
    token = await client.token()
    lifetime = token.expires_at.timestamp() - client.tokens.clock()
    assert lifetime == pytest.approx(3600, abs=1)


async def test_a_stale_token_is_replaced_once_and_the_call_repeated_once(
    make_client: Callable[..., QikinkClient], sim_server: SimulatorServer
) -> None:
    client = make_client()
    await client.list_orders(1)
    sim_server.sim.inject("stale_token", endpoint="list")
    orders = await client.list_orders(1)
    assert orders == []
    assert sim_server.sim.tokens_minted == 2
    outcomes = [r.outcome for r in sim_server.sim.requests if r.endpoint == "list"]
    assert outcomes == ["ok", "fault:stale_token", "ok"]


async def test_a_token_refused_twice_is_not_retried_forever(
    make_client: Callable[..., QikinkClient], sim_server: SimulatorServer
) -> None:
    client = make_client()
    await client.token()
    sim_server.sim.inject("stale_token", endpoint="list", times=5)
    with pytest.raises(QikinkUnavailable):
        await client.list_orders(1)
    assert [r.endpoint for r in sim_server.sim.requests] == ["token", "list", "token", "list"]


async def test_wrong_credentials_are_rejected_without_revealing_the_secret(
    make_client: Callable[..., QikinkClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    client = make_client(secret="wrong-secret-value")
    with pytest.raises(QikinkRejected) as refused:
        await client.list_orders(1)
    assert "QIKINK_CLIENT_SECRET" in refused.value.message
    assert "wrong-secret-value" not in refused.value.message
    assert "wrong-secret-value" not in caplog.text
    assert "wrong-secret-value" not in repr(client)


@pytest.mark.parametrize(
    ("fault", "message", "error"),
    [
        ("error_200", "Pincode not serviceable", QikinkRejected),
        ("html_502", None, QikinkUnavailable),
        ("status_500", None, QikinkUnavailable),
        ("non_json", None, QikinkUnavailable),
        ("empty", None, QikinkUnavailable),
        ("rate_limit_200", None, QikinkRateLimited),
        ("rate_limit_429", None, QikinkRateLimited),
        ("drop", None, QikinkUnavailable),
    ],
)
async def test_each_kind_of_failure_becomes_its_typed_error(
    make_client: Callable[..., QikinkClient],
    sim_server: SimulatorServer,
    fault: str,
    message: str | None,
    error: type[Exception],
) -> None:
    client = make_client()
    await client.token()
    sim_server.sim.inject(fault, endpoint="list", message=message)
    with pytest.raises(error) as raised:
        await client.list_orders(1)
    if message:
        assert raised.value.message == message  # type: ignore[attr-defined]


async def test_a_qikink_rate_refusal_fills_the_shared_budget(
    make_client: Callable[..., QikinkClient], sim_server: SimulatorServer
) -> None:
    client = make_client(per_minute=30)
    await client.token()
    sim_server.sim.inject("rate_limit_200", endpoint="list")
    with pytest.raises(QikinkRateLimited):
        await client.list_orders(1)
    # Every process now backs off for the rest of the minute instead of hammering Qikink.
    seen = len(sim_server.sim.requests)
    with pytest.raises(RateLimited):
        await make_client(per_minute=30).list_orders(1)
    assert len(sim_server.sim.requests) == seen


async def test_a_timeout_is_unavailable_with_an_unknown_outcome(
    make_client: Callable[..., QikinkClient], sim_server: SimulatorServer
) -> None:
    client = make_client(timeout=0.3)
    await client.token()
    sim_server.sim.inject("timeout", endpoint="list", delay=10)
    with pytest.raises(QikinkUnavailable) as raised:
        await client.list_orders(1)
    assert raised.value.outcome_unknown is True
    assert "in time" in raised.value.message


async def test_a_refused_connection_is_unavailable_with_a_known_outcome(
    make_client: Callable[..., QikinkClient],
) -> None:
    client = make_client(url="http://127.0.0.1:1")
    with pytest.raises(QikinkUnavailable) as raised:
        await client.token()
    assert raised.value.outcome_unknown is False


async def test_the_budget_refuses_the_call_over_it_with_the_exact_message(
    make_client: Callable[..., QikinkClient], sim_server: SimulatorServer, clock: ManualClock
) -> None:
    client = make_client(per_minute=3)
    await client.list_orders(1)  # the token request and this call: two of three
    await client.list_orders(2)
    with pytest.raises(RateLimited) as refused:
        await client.list_orders(3)
    assert refused.value.message == (
        "Rate limit exceeded. Try again later. You can access api 3 times per minute. "
        "Please try again after 61 seconds."
    )
    # The wait it says is the one it carries: the window (and its second of margin) from
    # the oldest call, all three made at the same moment of the test's clock.
    assert refused.value.extensions == {"retry_after": 61}
    assert refused.value.message == rate_limit_message(3, 61)
    assert len(sim_server.sim.requests) == 3
    clock.advance(61)
    await client.list_orders(3)
    assert len(sim_server.sim.requests) == 4


async def test_a_budget_of_zero_means_no_limit(
    make_client: Callable[..., QikinkClient], sim_server: SimulatorServer
) -> None:
    sim_server.sim.rate_limit_per_minute = 0
    client = make_client(per_minute=0)
    for page in range(1, 41):
        await client.list_orders(page)
    assert len(sim_server.sim.requests) == 41


async def test_created_orders_are_read_back_by_id_and_by_page(
    make_client: Callable[..., QikinkClient], sim_server: SimulatorServer
) -> None:
    client = make_client()
    payload = example_payload(
        "SO1001", "MVnHs-Wh-S", shipping_address=example_address(last_name="")
    )
    order_id = await client.create_order(payload)
    fetched = await client.get_order(order_id)
    assert fetched is not None
    assert fetched["number"].endswith("_SO1001")
    assert [o["order_id"] for o in await client.list_orders(1)] == [int(order_id)]
    assert await client.get_order("99999999") is None
    with pytest.raises(QikinkRejected, match=r"Duplicate Order\."):
        await client.create_order(payload)
    assert len(sim_server.sim.orders_with_number("SO1001")) == 1
