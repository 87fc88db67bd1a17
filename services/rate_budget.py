"""One Qikink rate budget per client id, shared by every process that uses the database.

Qikink allows 30 requests a rolling minute per account, token requests included. Each request
is recorded in `qikink_calls` before it is sent; a request that would make the last minute hold
more than the budget is refused (a GraphQL caller hears `RATE_LIMITED` at once) or waits for the
oldest call to leave the window (background work).

A `Lane` is a smaller share of the same budget for one kind of caller: a call in the
storefront lane needs room in the whole budget and in its lane
(`QIKINK_STOREFRONT_CALLS_PER_MINUTE`), so outsiders can never take more than that share from
the paid orders. Lanes are counted in the same rows, so the share holds across processes too.

Counting and recording happen in one short transaction that other processes cannot interleave
with: on PostgreSQL behind a transaction-scoped advisory lock; on SQLite by writing first, which
takes the database's single write lock before the count is read.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tortoise.transactions import in_transaction

from models import QikinkCall
from services.clock import SYSTEM, Clock, utc_now
from services.errors import RateLimited
from services.metrics import RATE_LIMIT_REFUSALS, RATE_LIMIT_WAITS

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["STOREFRONT", "WINDOW_SECONDS", "Lane", "RateBudget", "budget_key", "rate_limit_message"]

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


@dataclass(frozen=True, slots=True)
class Lane:
    """A share of the budget for one kind of caller: at most `per_minute` of its calls in any
    rolling minute, within the budget as a whole."""

    name: str
    per_minute: int


# Calls made for storefronts, which anyone holding the public publishable key can cause.
STOREFRONT = "storefront"


class _WindowFull(Exception):
    def __init__(self, retry_after: float, per_minute: int) -> None:
        self.retry_after = retry_after
        # The limit that was reached: the whole budget's or the lane's.
        self.per_minute = per_minute


class RateBudget:
    """At most `per_minute` calls in any rolling minute for one key, across processes."""

    def __init__(
        self,
        key: str,
        per_minute: int,
        *,
        postgres: bool,
        clock: Clock = SYSTEM,
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
        return utc_now(self.clock)

    async def try_acquire(self, lane: Lane | None = None) -> float | None:
        """Record one call if the window has room: None; else the seconds until it will."""
        try:
            await self._record(lane)
        except _WindowFull as full:
            return full.retry_after
        return None

    async def _record(self, lane: Lane | None) -> None:
        if not self.enabled and lane is None:
            return  # no limit to keep
        lane_name = lane.name if lane is not None else None
        async with in_transaction() as conn:
            if self.postgres:
                await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [self._lock_id])
            # Read the clock once the lock is ours: time spent queueing for it must not make
            # a call look older than it is.
            now = self._now()
            window_start = now - timedelta(seconds=WINDOW_SECONDS + SAFETY_MARGIN_SECONDS)
            if not self.postgres:
                # The write takes SQLite's write lock, so the count below cannot go stale.
                await QikinkCall.create(budget_key=self.key, at=now, lane=lane_name, using_db=conn)
            recent = await (
                QikinkCall.filter(budget_key=self.key, at__gt=window_start)
                .using_db(conn)
                .order_by("at")
                .values_list("at", "lane")
            )
            # SQLite's tentative row is among `recent`; it is no earlier call.
            tentative = 0 if self.postgres else 1
            limits = [(self.per_minute, [at for at, _ in recent])] if self.enabled else []
            if lane is not None:
                limits.append((lane.per_minute, [at for at, name in recent if name == lane.name]))
            for per_minute, calls in limits:
                in_window = len(calls) - tentative
                if in_window >= per_minute:
                    # The slot frees when the call that made the window full leaves it. Raising
                    # rolls the transaction back, and with it SQLite's tentative row.
                    oldest = calls[in_window - per_minute]
                    retry_after = max((oldest - window_start).total_seconds(), 0.001)
                    raise _WindowFull(retry_after, per_minute)
            if self.postgres:
                await QikinkCall.create(budget_key=self.key, at=now, lane=lane_name, using_db=conn)
            await (
                QikinkCall.filter(
                    budget_key=self.key, at__lt=now - timedelta(seconds=_KEEP_SECONDS)
                )
                .using_db(conn)
                .delete()
            )

    async def acquire(
        self,
        *,
        wait: bool,
        on_wait: Callable[[], Awaitable[None]] | None = None,
        lane: Lane | None = None,
    ) -> None:
        """Take a slot (in `lane`, when given); with `wait` sleep until one frees, else raise
        `RateLimited` at once, naming the limit that was reached.

        `on_wait` runs before each sleep (a token minter renews its lease there).
        """
        while True:
            try:
                await self._record(lane)
                return
            except _WindowFull as full:
                if not wait:
                    self.refusals += 1
                    RATE_LIMIT_REFUSALS.inc()
                    raise RateLimited(
                        rate_limit_message(full.per_minute), retry_after=full.retry_after
                    ) from None
                retry_after = full.retry_after
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
