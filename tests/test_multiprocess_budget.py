"""One token and one rate budget across OS processes that share a database.

Four real processes (`tests.budget_worker`) on one database, SQLite file or PostgreSQL, fire
their calls at one simulator at once. Qikink kills a ClientId's previous token whenever a new
one is minted and allows 30 requests a rolling minute, so exactly one process may mint and the
processes together may send no more than the budget.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from tortoise import connections

from services.qikink.budget import RateBudget, budget_key
from services.qikink.lanes import rate_limit_message
from services.shared import db
from simulator import QikinkSimulator, SimulatorServer
from tests.live_server import spawn_async
from tests.markers import postgres_pass

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e


PROCESSES = 4
CALLS_PER_PROCESS = 20
BUDGET = 30
# Generous: a worker needs about a second, but a loaded CI machine starts Python slowly.
READY_TIMEOUT = 60.0
RUN_TIMEOUT = 60.0
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def limited_server() -> Iterator[SimulatorServer]:
    with SimulatorServer(QikinkSimulator(rate_limit_per_minute=BUDGET)) as server:
        yield server


@pytest.fixture
def unlimited_server() -> Iterator[SimulatorServer]:
    with SimulatorServer(QikinkSimulator(rate_limit_per_minute=0)) as server:
        yield server


class Workers:
    """The worker processes of one test, with their stderr kept for failure messages."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: list[asyncio.subprocess.Process] = []
        self.stderr_paths: list[Path] = []

    def stderr(self) -> str:
        parts = []
        for index, path in enumerate(self.stderr_paths):
            text = path.read_text(errors="replace").strip() if path.exists() else ""
            parts.append(f"--- worker {index} stderr ---\n{text or '(empty)'}")
        return "\n".join(parts)

    async def start(self, count: int, *args: str) -> None:
        for index in range(count):
            path = self.tmp_path / f"worker-{index}.stderr"
            self.stderr_paths.append(path)
            proc = await spawn_async(
                [sys.executable, "-m", "tests.budget_worker", *args],
                cwd=PROJECT_ROOT,
                log=path,
                talk=True,
            )
            self.procs.append(proc)

    async def _ready(self, index: int, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        assert line.strip() == b"ready", (
            f"worker {index} said {line!r} instead of 'ready'\n{self.stderr()}"
        )

    async def release(self) -> None:
        """The start barrier: wait until every worker is ready, then tell them all to go."""
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await asyncio.gather(*(self._ready(i, p) for i, p in enumerate(self.procs)))
        except TimeoutError:
            pytest.fail(f"workers not ready within {READY_TIMEOUT} s\n{self.stderr()}")
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
        for proc in self.procs:
            assert proc.stdin is not None
            await proc.stdin.drain()
            proc.stdin.close()

    async def results(self) -> list[dict[str, Any]]:
        try:
            async with asyncio.timeout(RUN_TIMEOUT):
                outputs = await asyncio.gather(*(proc.communicate() for proc in self.procs))
        except TimeoutError:
            pytest.fail(f"workers did not finish within {RUN_TIMEOUT} s\n{self.stderr()}")
        results = []
        for index, (proc, (stdout, _)) in enumerate(zip(self.procs, outputs, strict=True)):
            lines = stdout.decode(errors="replace").strip().splitlines()
            if proc.returncode != 0 or not lines:
                pytest.fail(
                    f"worker {index} exited with {proc.returncode}, stdout {stdout!r}\n"
                    f"{self.stderr()}"
                )
            results.append(json.loads(lines[-1]))
        return results

    async def kill_leftovers(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def run_workers(
    tmp_path: Path, database_url: str, server: SimulatorServer, *, budget: int
) -> tuple[list[dict[str, Any]], str]:
    """Run the workers through the barrier; their JSON results and their stderr."""
    workers = Workers(tmp_path)
    try:
        await workers.start(
            PROCESSES,
            "--database-url",
            database_url,
            "--api-url",
            server.url,
            "--client-id",
            server.sim.client_id,
            "--client-secret",
            server.sim.client_secret,
            "--budget",
            str(budget),
            "--calls",
            str(CALLS_PER_PROCESS),
        )
        await workers.release()
        return await workers.results(), workers.stderr()
    finally:
        await workers.kill_leftovers()


def summary(sim: QikinkSimulator, results: list[dict[str, Any]], stderr: str) -> str:
    outcomes = Counter(f"{r.endpoint}:{r.outcome}" for r in sim.requests)
    return (
        f"simulator: tokens_minted={sim.tokens_minted} requests={dict(outcomes)} "
        f"max_in_60s={sim.max_requests_in_window(60)}\nworkers: {results}\n{stderr}"
    )


async def test_four_processes_share_one_token_and_one_budget_of_thirty_a_minute(
    database_url: str, limited_server: SimulatorServer, tmp_path: Path
) -> None:
    sim = limited_server.sim
    results, stderr = await run_workers(tmp_path, database_url, limited_server, budget=BUDGET)
    why = summary(sim, results, stderr)

    assert sim.tokens_minted == 1, why
    assert sum(r["mints"] for r in results) == 1, why
    assert not [r for r in sim.requests if r.outcome == "unauthorized"], why
    assert all(r["errors"] == {} for r in results), why
    assert sim.max_requests_in_window(60) <= BUDGET, why

    ok = sum(r["ok"] for r in results)
    refused = sum(r["rate_limited"] for r in results)
    assert ok + refused == PROCESSES * CALLS_PER_PROCESS, why
    # Every call waits for the token before it asks the budget for its own slot, so the mint
    # takes the first of the 30 slots and exactly 29 of the 80 calls find one; the rest are
    # refused by our budget before they leave the process, never by the simulator.
    assert ok == BUDGET - 1, why
    assert len(sim.requests) == BUDGET, why
    assert all(r.outcome == "ok" for r in sim.requests), why

    refusals: Counter[str] = Counter()
    for result in results:
        refusals.update(result["rate_limited_messages"])
    # Each refusal names its own wait: until the window's oldest call leaves it.
    said = {f"RateLimited: {rate_limit_message(BUDGET, s)}" for s in range(1, 62)}
    assert set(refusals) <= said, why
    assert sum(refusals.values()) == refused, why
    assert rate_limit_message(BUDGET, 59) == (
        "Rate limit exceeded. Try again later. You can access api 30 times per minute. "
        "Please try again after 59 seconds."
    )


async def test_four_processes_without_a_budget_all_succeed_on_one_token(
    database_url: str, unlimited_server: SimulatorServer, tmp_path: Path
) -> None:
    sim = unlimited_server.sim
    results, stderr = await run_workers(tmp_path, database_url, unlimited_server, budget=0)
    why = summary(sim, results, stderr)

    assert sim.tokens_minted == 1, why
    assert sum(r["mints"] for r in results) == 1, why
    assert sum(r["ok"] for r in results) == PROCESSES * CALLS_PER_PROCESS, why
    assert all(r["rate_limited"] == 0 and r["errors"] == {} for r in results), why
    assert len(sim.requests) == 1 + PROCESSES * CALLS_PER_PROCESS, why
    assert all(r.outcome == "ok" for r in sim.requests), why


@postgres_pass
async def test_the_budgets_lock_ends_with_its_transaction_granted_or_refused(
    database_url: str,
) -> None:
    """Pooled connections go back to the pool as they are (services.shared.db._release_as_is: no
    reset query), so no lock may outlive its transaction: after the budget grants a call and
    refuses the next, the pool's one connection holds no advisory lock."""
    await db.connect_db(f"{database_url}?maxsize=1")
    try:
        budget = RateBudget(budget_key("one-connection"), 1, postgres=True)
        assert await budget.try_acquire() is None
        assert await budget.try_acquire() is not None  # the window is full: refused
        _, rows = await connections.get("default").execute_query(
            "SELECT count(*) AS locks FROM pg_locks"
            " WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        )
        assert rows[0]["locks"] == 0
    finally:
        await db.close_db()
