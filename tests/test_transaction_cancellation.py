"""A caller cancelled at any await of a short transaction leaves the database answering.

Each operation that writes the shared state (the rate budget's window and waiters, the token's
mint, a job's lease) is run once per await it makes of the database driver: run k cancels the
caller as the k-th command goes out, for k = 1, 2, ... until the operation makes fewer than k.
After each, the database must answer a new transaction and a query, hold no connection idle
in transaction (PostgreSQL), and keep no lease or waiter row for the caller that is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite
import asyncpg
import pytest
from tortoise import connections
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import JobState, OrderMapping, QikinkCall, QikinkToken, QikinkWaiter, SubmitState
from services.orders.worker import CLAIM
from services.qikink.budget import RateBudget, budget_key
from services.qikink.lanes import Lane
from services.qikink.token import TokenGrant, TokenStore
from services.shared import db
from services.shared.clock import SYSTEM, utc_now
from services.shared.leases import take_lease

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

# Generous: a hang is what is caught, not a slow answer.
HANG = 10.0
_NAMES = itertools.count()


class CancelAtCommand:
    """Counts the commands sent to the database; cancels `caller` as the `k`-th goes out."""

    def __init__(self) -> None:
        self.k = 0
        self.sent = 0
        self.caller: asyncio.Task[Any] | None = None

    def arm(self, k: int, caller: asyncio.Task[Any]) -> None:
        self.k, self.sent, self.caller = k, 0, caller

    def disarm(self) -> None:
        self.caller = None

    def counted(self, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def command(*args: Any, **kwargs: Any) -> Any:
            if self.caller is not None:
                self.sent += 1
                if self.sent == self.k:
                    # When the work runs in the caller's own task, this lands at the very
                    # await below, as graphql-core's cancellation of a sibling field would.
                    self.caller.cancel()
            return await method(*args, **kwargs)

        return command


@pytest.fixture
def commands(monkeypatch: pytest.MonkeyPatch) -> Iterator[CancelAtCommand]:
    """Every await of the drivers' round trips: aiosqlite funnels them all through one
    method; asyncpg's transactions and Tortoise's queries use these."""
    hook = CancelAtCommand()
    monkeypatch.setattr(
        aiosqlite.Connection, "_execute", hook.counted(aiosqlite.Connection._execute)
    )
    for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
        monkeypatch.setattr(
            asyncpg.Connection, name, hook.counted(getattr(asyncpg.Connection, name))
        )
    yield hook
    hook.disarm()


class Scenario:
    """One operation on fresh rows of its own, and what must hold once its caller is gone."""

    async def prepare(self) -> None:
        """Whatever must exist before the operation, done before counting starts."""

    async def operation(self, parked: asyncio.Event) -> None:
        raise NotImplementedError

    async def nothing_left_behind(self) -> None:
        """Fails when the operation left something held for its caller, which is gone."""


class BudgetRecord(Scenario):
    def __init__(self, postgres: bool) -> None:
        self.budget = RateBudget(budget_key(f"c{next(_NAMES)}"), 30, postgres=postgres)

    async def operation(self, parked: asyncio.Event) -> None:
        assert await self.budget.try_acquire(Lane.SYNC) is None


class BudgetSaturate(BudgetRecord):
    async def operation(self, parked: asyncio.Event) -> None:
        await self.budget.saturate()


class BudgetWaiter(BudgetRecord):
    """A submission waiting for a slot of a full window registers as a waiter."""

    async def prepare(self) -> None:
        await self.budget.saturate()

    async def operation(self, parked: asyncio.Event) -> None:
        async def asleep() -> None:
            parked.set()

        await self.budget.acquire(wait=True, lane=Lane.SUBMIT, on_wait=asleep)

    async def nothing_left_behind(self) -> None:
        waiters = await QikinkWaiter.filter(budget_key=self.budget.key).count()
        assert waiters == 0, "a waiter row outlived its caller, holding lower lanes back"


class TokenMint(Scenario):
    def __init__(self, postgres: bool) -> None:
        self.key = f"t{next(_NAMES)}"
        self.minted: list[str] = []

        async def mint(wait: bool, renew: Callable[[], Awaitable[None]]) -> TokenGrant:
            await renew()
            self.minted.append(self.key)
            return TokenGrant(f"token-{self.key}", 3600)

        self.store = TokenStore(self.key, mint)

    async def operation(self, parked: asyncio.Event) -> None:
        await self.store.get()

    async def nothing_left_behind(self) -> None:
        row = await QikinkToken.get_or_none(key=self.key)
        if row is None:
            return
        assert row.mint_owner is None, "the mint lease is held for a caller that is gone"
        if self.minted:
            # Qikink killed the previous token when it minted this one.
            assert row.access_token == f"token-{self.key}", "a minted token was lost"


class JobLease(Scenario):
    def __init__(self, postgres: bool) -> None:
        self.name = f"job{next(_NAMES)}"

    async def operation(self, parked: asyncio.Event) -> None:
        await take_lease(self.name, "owner", 60)

    async def nothing_left_behind(self) -> None:
        row = await JobState.get_or_none(name=self.name)
        assert row is None or row.lease_owner is None, "the job's lease is held for no one"


class SubmissionClaim(Scenario):
    """A worker claims a queued submission, as `SubmissionWorker` does: the claim marks it in
    flight in the same UPDATE."""

    state = SubmitState.QUEUED

    def __init__(self, postgres: bool) -> None:
        self.order_id = f"order_claim{next(_NAMES)}"
        self.now = utc_now(SYSTEM)

    async def prepare(self) -> None:
        await OrderMapping.create(
            medusa_order_id=self.order_id,
            submit_state=self.state,
            lease_owner="worker-dead" if self.state is SubmitState.IN_FLIGHT else None,
            lease_expires_at=self.now - timedelta(minutes=5)
            if self.state is SubmitState.IN_FLIGHT
            else None,
        )

    async def operation(self, parked: asyncio.Event) -> None:
        row = await OrderMapping.get(medusa_order_id=self.order_id)
        await CLAIM.take(
            Q(id=row.id),
            "worker-gone",
            now=self.now,
            until=self.now + timedelta(minutes=2),
            when=Q(submit_state=self.state),
            submit_state=SubmitState.IN_FLIGHT,
        )

    async def nothing_left_behind(self) -> None:
        # Another worker, a moment later, finds it: queued, or in flight and abandoned.
        later = self.now + timedelta(seconds=1)
        row = await OrderMapping.get(medusa_order_id=self.order_id)
        due = row.submit_state is SubmitState.QUEUED and row.lease_owner is None
        abandoned = (
            row.submit_state is SubmitState.IN_FLIGHT
            and row.lease_expires_at is not None
            and row.lease_expires_at < later
        )
        assert due or abandoned, f"no worker can claim the submission again: {row.lease_owner}"


class AbandonedClaim(SubmissionClaim):
    """A worker claims a submission whose worker died mid-send (in flight, lease lapsed)."""

    state = SubmitState.IN_FLIGHT


SCENARIOS = [
    BudgetRecord,
    BudgetSaturate,
    BudgetWaiter,
    TokenMint,
    JobLease,
    SubmissionClaim,
    AbandonedClaim,
]


async def run_cancelled_at(
    k: int, scenario: Scenario, commands: CancelAtCommand
) -> tuple[bool, bool, int]:
    """Run the operation, its caller cancelled at the `k`-th command: whether the k-th came,
    whether the caller ended cancelled, and how many commands were sent in all."""
    await scenario.prepare()
    parked = asyncio.Event()
    caller = asyncio.create_task(scenario.operation(parked))
    commands.arm(k, caller)
    parked_wait = asyncio.ensure_future(parked.wait())
    try:
        await asyncio.wait({caller, parked_wait}, timeout=HANG, return_when="FIRST_COMPLETED")
        assert caller.done() or parked.is_set(), f"the operation hung (cancelled at {k})"
        cancelled_here = commands.sent >= k
        # A caller waiting for a rate slot sleeps with no command under way: cancelled there.
        caller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(caller, HANG)
        # What to_the_end runs for a caller gone ends on its own; only then is it all counted.
        assert await db.unfinished_work(HANG), f"work of a cancelled caller hung (at {k})"
        return cancelled_here, caller.cancelled(), commands.sent
    finally:
        commands.disarm()
        parked_wait.cancel()


async def database_answers(k: int) -> None:
    async def new_transaction() -> int:
        async with in_transaction() as conn:
            await conn.execute_query("SELECT 1")
        return await QikinkCall.all().count()

    try:
        await asyncio.wait_for(new_transaction(), HANG)
    except TimeoutError:
        pytest.fail(f"the database stopped answering after a cancellation at command {k}")


async def idle_in_transaction() -> int:
    rows = await connections.get("default").execute_query_dict(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
        "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
    )
    return int(rows[0]["n"])


@pytest.mark.parametrize("scenario_type", SCENARIOS, ids=lambda s: s.__name__)
async def test_a_caller_cancelled_at_any_await_leaves_nothing_held(
    connected_db: str, commands: CancelAtCommand, scenario_type: type[Scenario]
) -> None:
    postgres = db.is_postgres(connected_db)
    for k in itertools.count(1):
        scenario = scenario_type(postgres)
        reached, gone, sent = await run_cancelled_at(k, scenario, commands)
        await database_answers(k)
        if gone:
            await scenario.nothing_left_behind()
        if postgres:
            assert await idle_in_transaction() == 0, f"left idle in transaction at command {k}"
        if not reached:
            break
    # Sanity of the hook itself: every one of these makes several round trips.
    assert sent >= 2, f"only {sent} command(s) counted: the hook saw nothing"


def test_services_open_transactions_only_through_atomically() -> None:
    """The cancellation safety holds by construction: no other way in for a service."""
    services = Path(__file__).resolve().parent.parent / "services"
    opening = re.compile(r"in_transaction\(|select_for_update\(|\.transaction\(")
    others = [
        path.name
        for path in sorted(services.glob("*.py"))
        if path.name != "db.py" and opening.search(path.read_text())
    ]
    assert others == [], f"open transactions with services.shared.db.atomically instead: {others}"
