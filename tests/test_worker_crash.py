"""A worker process killed with SIGKILL mid-submission loses no order and sends none twice.

Five store orders are queued; a real `qikink-graphql worker` process starts sending them to the
simulator (on a real port, its rate limit off) and is killed with SIGKILL at one of ten moments
decided from what the simulator has seen: just as the k-th create arrived, while Qikink holds
the reply to a k-th create it has already accepted (`accept_then_timeout`: the order exists but
the worker never hears of it), or twice in a row, the second worker dying in the lookup it makes
for the first one's orphan. Then a fresh worker runs until every mapping is done. Leases are
1 s, so abandoned claims are taken over quickly.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from models import OrderMapping, OrderMappingStatus, ProductMapping, SubmitState
from services.orders.outbox import submit_store_order
from simulator import QikinkSimulator, SimulatorServer
from simulator.state import classify
from tests.conftest import TEST_JWT_SECRET
from tests.live_server import environ_without_settings, spawn_async
from tests.store_order import paid_store_order
from tests.waiting import eventually

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

    from simulator.state import Admission, Call

pytestmark = pytest.mark.e2e


ORDERS = 5
PREFIX = "MD"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Generous for a loaded machine; a run normally takes about 2 s.
MOMENT_TIMEOUT = 20.0
FINISH_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class Moment:
    """When the first worker dies (see MOMENTS); `then_in_lookup` kills the next one too."""

    creates: int
    held: bool = False
    then_in_lookup: bool = False


MOMENTS = {
    "as the 1st create arrives": Moment(1),
    "as the 2nd create arrives": Moment(2),
    "as the 3rd create arrives": Moment(3),
    "as the 4th create arrives": Moment(4),
    "as the 5th create arrives": Moment(5),
    "while the accepted 1st create's reply is held": Moment(1, held=True),
    "while the accepted 2nd create's reply is held": Moment(2, held=True),
    "while the accepted 3rd create's reply is held": Moment(3, held=True),
    "while the accepted 5th create's reply is held": Moment(5, held=True),
    "while the 2nd create's reply is held, then in the next worker's lookup": Moment(
        2, held=True, then_in_lookup=True
    ),
}


class HoldingSimulator(QikinkSimulator):
    """The simulator, holding back the reply to the `hold_at`-th create it accepts."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hold_at: int | None = None
        self._creates = 0

    def admit(self, call: Call) -> Admission:
        # Armed exactly when the k-th create arrives: injecting from the test after the
        # (k-1)-th would race the worker, which sends the next create within milliseconds.
        if classify(call.method, call.path, call.query) == "create":
            self._creates += 1
            if self._creates == self.hold_at:
                self.inject("accept_then_timeout", endpoint="create", delay=60)
        return super().admit(call)

    def reset(self) -> None:
        super().reset()
        self.hold_at = None
        self._creates = 0


@pytest.fixture(scope="module")
def holding_server() -> Iterator[SimulatorServer]:
    with SimulatorServer(HoldingSimulator(rate_limit_per_minute=0)) as server:
        yield server


@pytest.fixture
def server(holding_server: SimulatorServer) -> SimulatorServer:
    holding_server.sim.reset()
    return holding_server


class Worker:
    """One `qikink-graphql worker` OS process, its output kept in files for failure messages."""

    def __init__(self, name: str, tmp_path: Path, env: dict[str, str]) -> None:
        self.name = name
        self.tmp_path = tmp_path
        self.env = env
        self.log = tmp_path / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> Worker:
        self.proc = await spawn_async(
            [sys.executable, "-m", "cli", "worker"],
            # Its own directory: no developer's `.env` is read and no ./data is made.
            cwd=self.tmp_path,
            env=self.env,
            log=self.log,
        )
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def output(self) -> str:
        text = self.log.read_text(errors="replace").strip() if self.log.exists() else ""
        return f"--- {self.name} (exit {self.returncode}) ---\n{text or '(nothing)'}"

    def running(self) -> bool:
        """The worker said it runs: its signal handlers are in place."""
        return self.log.exists() and b" running." in self.log.read_bytes()

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode if self.proc is not None else None

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        """SIGTERM, as a supervisor would; SIGKILL only if it will not go."""
        assert self.proc is not None
        if self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                await self.proc.wait()
        except TimeoutError:
            await self.kill()


class Run:
    """One crash run: the database, the simulator, and every worker started so far."""

    def __init__(self, database_url: str, server: SimulatorServer, tmp_path: Path) -> None:
        self.sim = server.sim
        self.tmp_path = tmp_path
        self.workers: list[Worker] = []
        # Every setting the worker reads, and nothing inherited from the developer's shell.
        self.env = environ_without_settings()
        self.env.update(
            PYTHONPATH=str(PROJECT_ROOT),
            APP_ENV="test",
            DATABASE_URL=database_url,
            JWT_SECRET=TEST_JWT_SECRET,
            QIKINK_API_URL=server.url,
            QIKINK_CLIENT_ID=server.sim.client_id,
            QIKINK_CLIENT_SECRET=server.sim.client_secret,
            QIKINK_RATE_LIMIT_REQUESTS_PER_MINUTE="0",
            QIKINK_ORDER_NUMBER_PREFIX=PREFIX,
            # Longer than it takes this test to notice a held reply and kill the worker.
            QIKINK_TIMEOUT_SECONDS="5",
            SUBMIT_LEASE_SECONDS="1",
            SUBMIT_BACKOFF_BASE_SECONDS="0.1",
            SUBMIT_BACKOFF_MAX_SECONDS="1",
            WORKER_POLL_SECONDS="0.05",
            SYNC_INTERVAL_SECONDS="0",
            LOG_LEVEL="INFO",
        )

    async def start_worker(self) -> Worker:
        worker = Worker(f"worker-{len(self.workers) + 1}", self.tmp_path, self.env)
        self.workers.append(worker)
        return await worker.start()

    def requests(self, endpoint: str) -> list[Any]:
        return [r for r in list(self.sim.requests) if r.endpoint == endpoint]

    async def mappings(self) -> list[dict[str, Any]]:
        return (
            await OrderMapping.all()
            .order_by("qikink_order_number")
            .values(
                "qikink_order_number", "qikink_order_id", "status", "submit_state", "lease_owner"
            )
        )

    async def why(self) -> str:
        seen = Counter(f"{r.endpoint}:{r.outcome}" for r in list(self.sim.requests))
        orders = [(o["order_id"], o["number"]) for o in self.sim.orders]
        lines = [
            f"simulator requests: {dict(seen)}",
            f"simulator orders: {orders}",
            f"mappings: {await self.mappings()}",
            *(worker.output() for worker in self.workers),
        ]
        return "\n".join(lines)

    async def until(
        self, check: Callable[[], Awaitable[bool]], *, within: float, what: str, every: float
    ) -> None:
        """Poll `check` until it holds; fail with every worker's output when it does not."""
        await eventually(check, within=within, every=every, what=what, explain=self.why)

    async def kill_when(
        self,
        worker: Worker,
        reached: Callable[[], bool],
        what: str,
        *,
        still: Callable[[], bool] | None = None,
    ) -> None:
        """SIGKILL `worker` once `reached()`; `still()` must hold at that instant too."""

        async def check() -> bool:
            if reached():
                return True
            if not worker.alive:
                pytest.fail(f"{worker.name} exited before {what}\n{await self.why()}")
            return False

        # Tight polling: the moment is measured in milliseconds of the worker's progress.
        await self.until(check, within=MOMENT_TIMEOUT, what=what, every=0.001)
        if still is not None:
            assert still(), f"not so when {what}\n{await self.why()}"
        await worker.kill()
        assert worker.returncode == -signal.SIGKILL, await self.why()

    async def cleanup(self) -> None:
        for worker in self.workers:
            if worker.alive:
                await worker.kill()


@pytest.fixture
async def run(connected_db: str, server: SimulatorServer, tmp_path: Path) -> AsyncIterator[Run]:
    crash_run = Run(connected_db, server, tmp_path)
    try:
        yield crash_run
    finally:
        await crash_run.cleanup()


async def queue_orders(count: int) -> list[str]:
    """`count` paid store orders queued for Qikink; returns their Qikink order numbers."""
    await ProductMapping.create(qikink_sku_id="MVnHs-Wh-S", variant_id="variant_tee_white_s")
    numbers = []
    for index in range(1, count + 1):
        order = paid_store_order(f"order_crash_{index:04d}", str(index))
        result = await submit_store_order(order, prefix=PREFIX)
        assert result.mapping is not None
        numbers.append(result.mapping.qikink_order_number)
    return numbers


@pytest.mark.parametrize("moment", MOMENTS.values(), ids=MOMENTS.keys())
async def test_a_worker_killed_mid_submission_leaves_one_qikink_order_per_store_order(
    run: Run, moment: Moment
) -> None:
    numbers = await queue_orders(ORDERS)
    sim = run.sim
    assert isinstance(sim, HoldingSimulator)
    sim.hold_at = moment.creates if moment.held else None

    first = await run.start_worker()
    k = moment.creates
    if moment.held:
        # The k-th create is accepted (its order exists) and its reply is still held.
        await run.kill_when(
            first,
            lambda: len(run.requests("create")) >= k and len(sim.orders) >= k,
            f"Qikink accepted create {k}",
            still=lambda: run.requests("create")[k - 1].outcome == "pending",
        )
    else:
        await run.kill_when(
            first, lambda: len(run.requests("create")) >= k, f"create {k} reached Qikink"
        )

    if moment.then_in_lookup:
        # The next worker takes the orphans over once their 1 s leases lapse, and looks the
        # first one up in Qikink's pages before it may send it again: it dies right there.
        second = await run.start_worker()
        await run.kill_when(
            second, lambda: len(run.requests("list")) >= 1, "the next worker began a lookup"
        )

    last = await run.start_worker()

    async def all_done() -> bool:
        rows = await run.mappings()
        if not last.alive:
            pytest.fail(f"{last.name} exited while work was left\n{await run.why()}")
        # Judged only once it runs, so the SIGTERM below tests a graceful stop, not start-up.
        return (
            last.running()
            and len(rows) == ORDERS
            and all(r["submit_state"] == SubmitState.DONE for r in rows)
        )

    await run.until(all_done, within=FINISH_TIMEOUT, what="every mapping done", every=0.05)
    await last.stop()
    why = await run.why()
    assert last.returncode == 0, why

    rows = {r["qikink_order_number"]: r for r in await run.mappings()}
    assert sorted(rows) == sorted(numbers), why
    for number in numbers:
        sent = sim.orders_with_number(number)
        assert len(sent) == 1, f"{number}: {len(sent)} Qikink orders\n{why}"
        row = rows[number]
        assert row["qikink_order_id"] == str(sent[0]["order_id"]), why
        assert (row["status"], row["submit_state"], row["lease_owner"]) == (
            OrderMappingStatus.SUBMITTED,
            SubmitState.DONE,
            None,
        ), why
    assert len(sim.orders) == ORDERS, why
    # What was accepted was looked up and adopted, never sent again to be refused as a duplicate.
    creates = run.requests("create")
    assert len(creates) == ORDERS, why
    assert not [r for r in creates if r.detail and "Duplicate" in r.detail], why
    if moment.held:
        # The held reply went to a dead socket: Qikink had the order, the worker never heard.
        held = creates[k - 1]
        assert held.outcome == "fault:accept_then_timeout", why
        assert held.detail == "ok; client_gone", why
