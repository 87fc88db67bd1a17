"""One Qikink rate budget per client id, shared by every process that uses the database.

Qikink allows 30 requests a rolling minute per account, token requests included. Each request
is recorded in `qikink_calls` before it is sent; a request that would make the last minute hold
more than the budget is refused (a GraphQL caller hears `RATE_LIMITED` at once) or waits for the
oldest call to leave the window (background work).

Counting and recording happen in one short transaction that other processes cannot interleave
with: on PostgreSQL behind a transaction-scoped advisory lock; on SQLite by writing first, which
takes the database's single write lock before the count is read.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tortoise.transactions import in_transaction

from models import QikinkCall
from services.errors import RateLimited
from services.metrics import RATE_LIMIT_REFUSALS, RATE_LIMIT_WAITS

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["WINDOW_SECONDS", "RateBudget", "budget_key", "rate_limit_message"]

WINDOW_SECONDS = 60.0
# We count a call when it leaves, Qikink when it arrives; a call that took longer to arrive
# than a later one would let Qikink see one too many. A second of slack absorbs that, and
# small clock differences between hosts, for a budget about 2% lower.
SAFETY_MARGIN_SECONDS = 1.0
# Rows older than this are no longer needed by any window and are deleted as we go.
_KEEP_SECONDS = 2 * WINDOW_SECONDS


def rate_limit_message(per_minute: int) -> str:
    return (
        f"Rate limit exceeded. Try again later. You can access api {per_minute} times per "
        "minute. Please try again after 60 seconds."
    )


def budget_key(client_id: str) -> str:
    return hashlib.sha256(f"rate:{client_id}".encode()).hexdigest()


class _WindowFull(Exception):
    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after


class RateBudget:
    """At most `per_minute` calls in any rolling minute for one key, across processes."""

    def __init__(
        self,
        key: str,
        per_minute: int,
        *,
        postgres: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key = key
        self.per_minute = per_minute
        self.postgres = postgres
        self.clock = clock
        self._lock_id = int(key[:15], 16)
        self.waits = 0
        self.refusals = 0

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    async def try_acquire(self) -> float | None:
        """Record one call if the window has room: None; else the seconds until it will."""
        if not self.enabled:
            return None
        try:
            await self._record()
        except _WindowFull as full:
            return full.retry_after
        return None

    async def _record(self) -> None:
        async with in_transaction() as conn:
            if self.postgres:
                await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [self._lock_id])
            # Read the clock once the lock is ours: time spent queueing for it must not make
            # a call look older than it is.
            now = self._now()
            window_start = now - timedelta(seconds=WINDOW_SECONDS + SAFETY_MARGIN_SECONDS)
            if not self.postgres:
                # The write takes SQLite's write lock, so the count below cannot go stale.
                await QikinkCall.create(budget_key=self.key, at=now, using_db=conn)
            recent = await (
                QikinkCall.filter(budget_key=self.key, at__gt=window_start)
                .using_db(conn)
                .order_by("at")
                .values_list("at", flat=True)
            )
            in_window = len(recent) if self.postgres else len(recent) - 1
            if in_window >= self.per_minute:
                # The slot frees when the call that made the window full leaves it. Raising
                # rolls the transaction back, and with it SQLite's tentative row.
                oldest = recent[in_window - self.per_minute]
                raise _WindowFull(max((oldest - window_start).total_seconds(), 0.001))
            if self.postgres:
                await QikinkCall.create(budget_key=self.key, at=now, using_db=conn)
            await (
                QikinkCall.filter(
                    budget_key=self.key, at__lt=now - timedelta(seconds=_KEEP_SECONDS)
                )
                .using_db(conn)
                .delete()
            )

    async def acquire(
        self, *, wait: bool, on_wait: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Take a slot; with `wait` sleep until one frees, else raise `RateLimited` at once.

        `on_wait` runs before each sleep (a token minter renews its lease there).
        """
        while (retry_after := await self.try_acquire()) is not None:
            if not wait:
                self.refusals += 1
                RATE_LIMIT_REFUSALS.inc()
                raise RateLimited(rate_limit_message(self.per_minute), retryAfter=retry_after)
            self.waits += 1
            RATE_LIMIT_WAITS.inc()
            if on_wait is not None:
                await on_wait()
            # Jitter spreads waiting processes so they do not all retry in the same instant.
            await asyncio.sleep(retry_after + random.uniform(0, 0.05))

    async def saturate(self) -> None:
        """Qikink said we are over its limit: fill the window so every process backs off."""
        if not self.enabled:
            return
        now = self._now()
        async with in_transaction() as conn:
            if self.postgres:
                await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [self._lock_id])
            count = (
                await QikinkCall.filter(
                    budget_key=self.key, at__gt=now - timedelta(seconds=WINDOW_SECONDS)
                )
                .using_db(conn)
                .count()
            )
            missing = self.per_minute - count
            if missing > 0:
                await QikinkCall.bulk_create(
                    [QikinkCall(budget_key=self.key, at=now) for _ in range(missing)],
                    using_db=conn,
                )
