"""The storefront's share of the Qikink budget: outsiders can never starve paid orders.

With the proxy opened, anyone holding the public publishable key can cause Qikink calls. Those
calls take at most `QIKINK_STOREFRONT_CALLS_PER_MINUTE` of the shared budget, counted in the
same rows as every other call, so the share holds however many processes answer them.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from models import OrderMapping, OrderMappingStatus
from services.qikink.budget import WINDOW_SECONDS
from services.qikink.lanes import Lane, rate_limit_message
from services.shared.errors import RateLimited
from tests.conftest import TEST_JWT_SECRET, qikink_settings, serving
from tests.graphql_client import codes, gql, make_jwt, store_order_input
from tests.waiting import eventually

if TYPE_CHECKING:
    from collections.abc import Callable

    from services.qikink.client import QikinkClient
    from simulator import ManualClock, SimulatorServer

LANE = Lane.STOREFRONT


async def test_the_share_is_one_across_processes_and_leaves_the_rest_to_paid_orders(
    connected_db: str,
    make_qikink_client: Callable[..., QikinkClient],
    clock: ManualClock,
) -> None:
    # Two clients on one database stand for two processes.
    first, second = (make_qikink_client(per_minute=10, storefront=2) for _ in range(2))
    await first.budget.acquire(wait=False, lane=LANE)
    await second.budget.acquire(wait=False, lane=LANE)
    for budget in (first.budget, second.budget):
        with pytest.raises(RateLimited) as refused:
            await budget.acquire(wait=False, lane=LANE)
        assert refused.value.message == rate_limit_message(2, 61)
        # The share's refusal says its wait as the budget's does, the same number twice.
        assert refused.value.extensions == {"retry_after": 61}
    # The rest of the budget is still there for calls outside the lane.
    for _ in range(8):
        await first.budget.acquire(wait=False)
    with pytest.raises(RateLimited) as refused:
        await second.budget.acquire(wait=False)
    assert refused.value.message == rate_limit_message(10, 61)
    # A minute on, the share is back.
    clock.advance(WINDOW_SECONDS + 2)
    await second.budget.acquire(wait=False, lane=LANE)


async def test_the_share_holds_even_with_the_whole_budget_switched_off(
    connected_db: str, make_qikink_client: Callable[..., QikinkClient]
) -> None:
    unlimited = make_qikink_client(per_minute=0, storefront=2)
    await unlimited.budget.acquire(wait=False, lane=LANE)
    await unlimited.budget.acquire(wait=False, lane=LANE)
    with pytest.raises(RateLimited):
        await unlimited.budget.acquire(wait=False, lane=LANE)
    for _ in range(50):
        await unlimited.budget.acquire(wait=False)


LIST = "{ qikinkOrders { orderId } }"
STOREFRONT_CALLS = 1000
IN_FLIGHT = 20


async def test_a_thousand_storefront_calls_reach_qikink_five_times_and_a_paid_order_goes_through(
    database_url: str, sim_server: SimulatorServer
) -> None:
    settings = qikink_settings(
        database_url,
        sim_server,
        storefront_qikink_proxy=True,
        qikink_publishable_keys=["pk_store"],
        run_worker=True,
    )
    admin = {"authorization": f"Bearer {make_jwt(TEST_JWT_SECRET)}"}
    storefront = {"x-publishable-api-key": "pk_store"}
    async with serving(settings) as http:
        mapped = await gql(
            http,
            """mutation { createProductMapping(input: {
              qikinkSkuId: "MVnHs-Wh-S", variantId: "variant_tee" }) { id } }""",
            headers=admin,
        )
        assert "errors" not in mapped
        outcomes: list[str] = []

        async def storefront_caller(calls: int) -> None:
            for _ in range(calls):
                body = await gql(http, LIST, headers=storefront)
                outcomes.append((codes(body) or ["ok"])[0])

        callers = [
            asyncio.create_task(storefront_caller(STOREFRONT_CALLS // IN_FLIGHT))
            for _ in range(IN_FLIGHT)
        ]
        # The paid order arrives while the storefront calls are under way.
        await eventually(lambda: _at_least(outcomes, 100), within=60)
        submitted = await gql(
            http,
            """mutation($order: StoreOrderInput!) {
              submitStoreOrder(order: $order) { mapping { id qikinkOrderNumber } } }""",
            {"order": store_order_input("order_01PAID", "7001", "variant_tee")},
            headers=admin,
        )
        number = submitted["data"]["submitStoreOrder"]["mapping"]["qikinkOrderNumber"]

        async def accepted() -> bool:
            row = await OrderMapping.get(medusa_order_id="order_01PAID")
            return row.status is OrderMappingStatus.SUBMITTED

        await eventually(accepted, within=30)
        await asyncio.gather(*callers)

    assert len(outcomes) == STOREFRONT_CALLS
    assert outcomes.count("ok") == 5
    assert outcomes.count("RATE_LIMITED") == STOREFRONT_CALLS - 5
    lists = [r for r in sim_server.sim.requests if r.endpoint == "list"]
    assert len(lists) == 5
    assert len(sim_server.sim.orders_with_number(number)) == 1


def _at_least(outcomes: list[str], count: int) -> bool:
    return len(outcomes) >= count
