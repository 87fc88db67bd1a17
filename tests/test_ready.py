"""/ready answers, and says 503, when the database does not: it never hangs with it."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from tortoise import connections
from tortoise.transactions import in_transaction

from tests.conftest import serving

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from config import Settings

# Generous: a hang is what is caught, not a slow answer.
HANG = 10.0


@contextlib.asynccontextmanager
async def every_connection_held() -> AsyncIterator[None]:
    """Every connection the app has, each held by an open transaction: SQLite's one, or each
    of PostgreSQL's pool (as transactions a cancelled caller leaked used to)."""
    count = getattr(connections.get("default"), "pool_maxsize", 1)
    holding = asyncio.Barrier(count + 1)
    release = asyncio.Event()

    async def hold() -> None:
        async with in_transaction() as conn:
            await conn.execute_query("SELECT 1")
            await holding.wait()
            await release.wait()

    holders = [asyncio.create_task(hold()) for _ in range(count)]
    try:
        await asyncio.wait_for(holding.wait(), HANG)
        yield
    finally:
        release.set()
        await asyncio.gather(*holders)


async def test_ready_is_503_while_the_database_does_not_answer_and_200_after(
    settings: Settings,
) -> None:
    async with serving(settings) as http:
        async with every_connection_held():
            held = await asyncio.wait_for(http.get("/ready"), HANG)
            assert held.status_code == 503
            assert held.json() == {"status": "unavailable", "database": "no answer within 2 s"}
            # The liveness probe still answers: the process is alive, its database is not.
            assert (await http.get("/health")).status_code == 200
        again = await asyncio.wait_for(http.get("/ready"), HANG)
        assert (again.status_code, again.json()) == (200, {"status": "ready", "database": "ok"})
