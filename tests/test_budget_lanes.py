"""Lanes of the one Qikink budget: the sync leaves a reserve, waiting submissions go first.

Two clients on one database stand for two processes; the clock is the test's, so windows roll
when the test says. What a person would notice: a paid order or an admin's page finds room
while the status sync is as busy as it may be, and a submission that must wait is served before
the sync takes the slot it waits for.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from models import QikinkWaiter
from services.qikink.budget import WINDOW_SECONDS
from services.qikink.lanes import Lane, rate_limit_message
from services.shared.clock import utc_now
from services.shared.errors import RateLimited
from tests.conftest import (
    METRICS_HEADERS,
    TEST_JWT_SECRET,
    qikink_settings,
    series,
    serving,
)
from tests.graphql_client import codes, gql, make_jwt
from tests.test_sync import place
from tests.waiting import eventually

if TYPE_CHECKING:
    from collections.abc import Callable

    from services.qikink.client import QikinkClient
    from simulator import ManualClock, SimulatorServer

ADMIN = {"authorization": f"Bearer {make_jwt(TEST_JWT_SECRET)}"}


async def take(client: QikinkClient, lane: Lane, count: int) -> None:
    for _ in range(count):
        await client.budget.acquire(wait=False, lane=lane)


async def test_the_sync_holds_at_most_the_budget_minus_the_reserve_across_processes(
    connected_db: str, make_qikink_client: Callable[..., QikinkClient], clock: ManualClock
) -> None:
    first, second = (make_qikink_client(per_minute=10, reserve=2) for _ in range(2))
    await take(first, Lane.SYNC, 5)
    await take(second, Lane.SYNC, 3)
    for client in (first, second):
        with pytest.raises(RateLimited) as refused:
            await client.budget.acquire(wait=False, lane=Lane.SYNC)
        assert refused.value.message == rate_limit_message(8, 61)
    # The reserve is there for a paid order and a person, in either process.
    await take(first, Lane.SUBMIT, 1)
    await take(second, Lane.INTERACTIVE, 1)
    with pytest.raises(RateLimited) as refused:
        await second.budget.acquire(wait=False, lane=Lane.INTERACTIVE)
    # A person hears the budget's own limit, in the exact words.
    assert refused.value.message == rate_limit_message(10, 61)
    clock.advance(WINDOW_SECONDS + 2)
    await take(second, Lane.SYNC, 8)


async def test_the_sync_may_use_what_others_leave_when_the_reserve_is_off(
    connected_db: str, make_qikink_client: Callable[..., QikinkClient]
) -> None:
    client = make_qikink_client(per_minute=10, reserve=0)
    await take(client, Lane.SYNC, 10)
    with pytest.raises(RateLimited) as refused:
        await client.budget.acquire(wait=False, lane=Lane.INTERACTIVE)
    assert refused.value.message == rate_limit_message(10, 61)


async def waiters() -> int:
    return await QikinkWaiter.all().count()


async def waiting(count: int) -> bool:
    return await waiters() == count


async def test_a_waiting_submission_keeps_the_next_free_slot_from_the_sync(
    connected_db: str, make_qikink_client: Callable[..., QikinkClient], clock: ManualClock
) -> None:
    worker, syncer = (make_qikink_client(per_minute=3, reserve=0) for _ in range(2))
    await take(syncer, Lane.SYNC, 3)
    # The window is full: the submission waits (a minute, on the real clock) and says so.
    submitting = asyncio.create_task(worker.budget.acquire(wait=True, lane=Lane.SUBMIT))
    await eventually(lambda: waiting(1))
    clock.advance(WINDOW_SECONDS + 2)
    # Three slots are free; the sync may take two, the third is the submission's.
    await take(syncer, Lane.SYNC, 2)
    with pytest.raises(RateLimited):
        await syncer.budget.acquire(wait=False, lane=Lane.SYNC)
    # A person's call does not jump the paid order either.
    with pytest.raises(RateLimited):
        await syncer.budget.acquire(wait=False, lane=Lane.INTERACTIVE)
    # Gone (its process stopped waiting): the slot is anyone's again, and no row is left.
    submitting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await submitting
    assert await waiters() == 0
    await take(syncer, Lane.SYNC, 1)


async def submission_waiting(budget_key: str, *, until: datetime) -> None:
    """The row a waiting submission leaves, as if its process had written it."""
    await QikinkWaiter.create(
        id=f"waiter-{budget_key[:8]}",
        budget_key=budget_key,
        lane=Lane.SUBMIT,
        priority=Lane.SUBMIT.priority,
        expires_at=until,
    )


async def test_a_waiter_whose_process_died_stops_holding_the_sync_back(
    connected_db: str, make_qikink_client: Callable[..., QikinkClient], clock: ManualClock
) -> None:
    client = make_qikink_client(per_minute=3, reserve=0)
    await submission_waiting(client.budget.key, until=utc_now(clock) + timedelta(seconds=30))
    await take(client, Lane.SYNC, 2)
    with pytest.raises(RateLimited):
        await client.budget.acquire(wait=False, lane=Lane.SYNC)
    clock.advance(31)
    await take(client, Lane.SYNC, 1)


async def test_waiters_of_another_account_change_nothing(
    connected_db: str, make_qikink_client: Callable[..., QikinkClient], clock: ManualClock
) -> None:
    client = make_qikink_client(per_minute=2, reserve=0)
    await submission_waiting("another-client-id", until=utc_now(clock) + timedelta(seconds=30))
    await take(client, Lane.SYNC, 2)


async def test_metrics_count_calls_and_refusals_by_lane(
    database_url: str, sim_server: SimulatorServer, clock: ManualClock
) -> None:
    sim_server.sim.rate_limit_per_minute = 10
    settings = qikink_settings(
        database_url,
        sim_server,
        qikink_rate_limit_requests_per_minute=10,
        qikink_rate_reserve=2,
        sync_interval_seconds=0,
        run_worker=False,
    )
    calls = 'qikink_calls_total{endpoint="%s",lane="%s",outcome="ok"}'
    refusals = 'qikink_rate_limit_refusals_total{lane="%s"}'
    refresh = "mutation { refreshOrderMappings { processed qikinkCalls } }"
    async with serving(settings, clock=clock) as http:
        await place(sim_server, 100)
        before = (await http.get("/metrics", headers=METRICS_HEADERS)).text
        # The token, then the sync's 8 of the 10 pages it planned: the rest is the reserve's.
        first = await gql(http, refresh, {}, ADMIN)
        assert first["data"]["refreshOrderMappings"] == {"processed": 80, "qikinkCalls": 8}
        again = await gql(http, refresh, {}, ADMIN)
        assert codes(again) == ["RATE_LIMITED"]
        # The clock stands still: the window frees a whole minute (and our second) from now.
        assert again["errors"][0]["extensions"]["retryAfter"] == 61
        assert again["errors"][0]["message"] == rate_limit_message(8, 61)
        # A person's call finds the reserve.
        looked = await gql(http, "{ qikinkOrders { orderId } }", {}, ADMIN)
        assert "errors" not in looked, looked
        after = (await http.get("/metrics", headers=METRICS_HEADERS)).text

    def grew(name: str) -> float:
        return series(after, name) - series(before, name)

    assert grew(calls % ("token", "token")) == 1
    assert grew(calls % ("list", "sync")) == 8
    assert grew(calls % ("list", "interactive")) == 1
    # The first refresh's ninth page, and the second refresh.
    assert grew(refusals % "sync") == 2
    assert grew(refusals % "interactive") == 0
