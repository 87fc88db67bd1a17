"""The budget's lanes between real processes: three `qikink-graphql sync` runs and the service.

The simulator on a real port counts every request as Qikink would; the service
(`qikink-graphql serve`, its outbox worker polling every 0.2 s) and three `qikink-graphql
sync` processes share one database, SQLite file or PostgreSQL. The syncs have 30 open orders
to refresh, each a GET (the orders sit one a page among finished ones, so GETs are the cheapest
plan), far more than a minute's budget: they fill what they may and wait.

- With a reserve, the syncs together never hold more than the budget minus the reserve in any
  minute, and an admin's call and a paid order find room at once while they are as busy as
  they may be; past the whole budget, a person hears `RATE_LIMITED` in the exact words.
- With no reserve the syncs fill the whole window; a paid order that arrives then waits, and
  when the window rolls (shortened to ten seconds here) it takes one of the first slots that
  free, beside the sixty GETs waiting for them too, and leaves no waiter behind.

Which waiter reaches a freed slot first is a race between processes, and here the lone worker
tends to win it even without priority; that the syncs leave the slot to a waiting submission
whoever wakes first is shown deterministically in tests/test_budget_lanes.py.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from models import OrderMapping, OrderMappingStatus, ProductMapping, QikinkWaiter, SubmitState
from services.qikink.lanes import rate_limit_message
from simulator import QikinkSimulator, SimulatorServer
from tests.conftest import TEST_JWT_SECRET
from tests.graphql_client import make_jwt, store_order_input
from tests.live_server import LiveServer, end_process_group, tail
from tests.waiting import eventually

if TYPE_CHECKING:
    import subprocess
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

pytestmark = pytest.mark.e2e


SYNCS = 3
OPEN = 30
SPACING = 10
VARIANT = "variant_tee_white_s"
ADMIN = {"authorization": f"Bearer {make_jwt(TEST_JWT_SECRET)}"}
INTERACTIVE = "{ qikinkOrders { orderId } }"
SUBMIT = """mutation($order: StoreOrderInput!) {
  submitStoreOrder(order: $order) { mapping { id status } } }"""
# Qikink's minute, and a shorter window (APP_ENV=test allows it) for a test that waits for
# the window to roll.
MINUTE = 60.0
SHORT_WINDOW = 10.0
STATUS = "query($id: ID!) { qikinkOrderMapping(id: $id) { status } }"


@pytest.fixture
def simulator() -> Iterator[SimulatorServer]:
    with SimulatorServer(QikinkSimulator(rate_limit_per_minute=0)) as server:
        yield server


async def seed(sim: QikinkSimulator) -> None:
    """300 orders a minute apart, ours; every 10th still open, the rest delivered."""
    first = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=OPEN * SPACING)
    rows = []
    for index in range(OPEN * SPACING):
        when = first + timedelta(minutes=index)
        number = f"MD{index:05d}"
        still_open = index % SPACING == 0
        order = sim.add_order(
            number, created_on=when, status="On Hold" if still_open else "Delivered"
        )
        rows.append(
            OrderMapping(
                medusa_order_id=f"order_{index:05d}",
                qikink_order_number=number,
                qikink_order_id=str(order["order_id"]),
                status=OrderMappingStatus.SUBMITTED if still_open else OrderMappingStatus.COMPLETED,
                qikink_status="On Hold" if still_open else "Delivered",
                submit_state=SubmitState.DONE,
            )
        )
    await OrderMapping.bulk_create(rows)
    for index, row in enumerate(await OrderMapping.all().order_by("medusa_order_id")):
        await OrderMapping.filter(id=row.id).update(created_at=first + timedelta(minutes=index))
    await ProductMapping.create(qikink_sku_id="MVnHs-Wh-S", variant_id=VARIANT)


class Shop:
    """The service and the sync processes, on one database and one simulator."""

    def __init__(self, workdir: Path, database_url: str, server: SimulatorServer) -> None:
        self.sim = server.sim
        self.workdir = workdir
        self.env = {
            "DATABASE_URL": database_url,
            "JWT_SECRET": TEST_JWT_SECRET,
            "QIKINK_API_URL": server.url,
            "QIKINK_CLIENT_ID": server.sim.client_id,
            "QIKINK_CLIENT_SECRET": server.sim.client_secret,
            "WORKER_POLL_SECONDS": "0.2",
        }
        self.service: LiveServer | None = None
        self.syncs: list[subprocess.Popen[bytes]] = []

    def start(self, *, budget: int, reserve: int, window: float = MINUTE) -> None:
        self.sim.rate_limit_per_minute = budget
        self.sim.rate_window_seconds = window
        env = {
            **self.env,
            "QIKINK_RATE_WINDOW_SECONDS": str(window),
            "QIKINK_RATE_LIMIT_REQUESTS_PER_MINUTE": str(budget),
            "QIKINK_RATE_RESERVE": str(reserve),
        }
        self.service = LiveServer(self.workdir, env)
        self.service.start()
        for index in range(SYNCS):
            self.syncs.append(self.service.spawn("sync", log=self.workdir / f"sync{index}.log"))

    def stop(self) -> None:
        for process in self.syncs:
            end_process_group(process)
        if self.service is not None:
            self.service.stop()

    def logs(self) -> str:
        parts = [tail(self.workdir / f"sync{index}.log", 20) for index in range(SYNCS)]
        if self.service is not None:
            parts.append(tail(self.service.log_path, 60))
        return "\n".join(parts)

    def requests(self, endpoint: str, *, after: float = 0.0) -> list[Any]:
        return [r for r in self.sim.requests if r.endpoint == endpoint and r.at >= after]

    async def graphql(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        assert self.service is not None
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(
                self.service.graphql_url,
                json={"query": query, "variables": variables or {}},
                headers=ADMIN,
            )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
async def shop(
    connected_db: str, simulator: SimulatorServer, tmp_path: Path
) -> AsyncIterator[Shop]:
    await seed(simulator.sim)
    shop = Shop(tmp_path, connected_db, simulator)
    try:
        yield shop
    finally:
        await asyncio.to_thread(shop.stop)


def most_in_a_window(times: list[float], window: float = MINUTE) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def submitted(shop: Shop, mapping_id: str) -> bool:
    body = await shop.graphql(STATUS, {"id": mapping_id})
    return body["data"]["qikinkOrderMapping"]["status"] == "SUBMITTED"


async def submit(shop: Shop, index: int) -> str:
    order = store_order_input(f"order_01JLANES{index:018d}", str(9000 + index), VARIANT)
    body = await shop.graphql(SUBMIT, {"order": order})
    assert "errors" not in body, body
    mapping_id: str = body["data"]["submitStoreOrder"]["mapping"]["id"]
    return mapping_id


async def test_the_syncs_leave_the_reserve_to_a_paid_order_and_a_person(shop: Shop) -> None:
    budget, reserve = 10, 4
    await asyncio.to_thread(shop.start, budget=budget, reserve=reserve)
    try:
        # The syncs take what they may (after the one token they share) and wait.
        await eventually(lambda: _at_least(shop, "get", budget - reserve), within=30)
        # A person's call during the busiest sync.
        looked = await shop.graphql(INTERACTIVE)
        assert "errors" not in looked, looked
        # A paid order: Qikink has it at once.
        mapping_id = await submit(shop, 1)
        await eventually(lambda: submitted(shop, mapping_id), within=15)
        # The last slot of the minute, then a refusal a person can read.
        assert "errors" not in await shop.graphql(INTERACTIVE)
        refused = await shop.graphql(INTERACTIVE)
        assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        wait = refused["errors"][0]["extensions"]["retryAfter"]
        assert refused["errors"][0]["message"] == rate_limit_message(budget, wait)
    except BaseException:
        print(shop.logs())
        raise
    gets = [r.at for r in shop.requests("get")]
    assert most_in_a_window(gets) == budget - reserve
    assert len(shop.requests("token")) == 1
    assert len(shop.requests("create")) == 1
    assert shop.sim.max_requests_in_window() <= budget


@pytest.mark.slow
async def test_a_paid_order_waiting_beside_the_syncs_takes_the_next_free_slot(
    shop: Shop,
) -> None:
    budget = 5
    await asyncio.to_thread(shop.start, budget=budget, reserve=0, window=SHORT_WINDOW)
    try:
        # The token and four GETs: the window is full and every sync waits.
        await eventually(lambda: _at_least(shop, "get", budget - 1), within=30)
        mapping_id = await submit(shop, 2)
        # The worker found the window full and waits in the submit lane.
        await eventually(lambda: _waiter(), within=15)
        queued = time.time()
        await eventually(lambda: submitted(shop, mapping_id), within=SHORT_WINDOW + 30)
    except BaseException:
        print(shop.logs())
        raise
    after = sorted((r for r in shop.sim.requests if r.at >= queued), key=lambda request: request.at)
    endpoints = [r.endpoint for r in after]
    # When the window rolled, the order went out among the first five slots that freed,
    # though sixty GETs waited for them too.
    assert "create" in endpoints[:budget], endpoints[: budget * 2]
    assert shop.sim.max_requests_in_window() <= budget
    # Served, it no longer holds anyone back.
    assert not await _waiter()


def _at_least(shop: Shop, endpoint: str, count: int) -> bool:
    return len(shop.requests(endpoint)) >= count


async def _waiter() -> bool:
    return await QikinkWaiter.filter(lane="submit").exists()
