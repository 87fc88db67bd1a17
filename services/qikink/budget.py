"""One Qikink rate budget per client id, shared by every process that uses the database.

Qikink allows 30 requests a rolling minute per account, token requests included. Each request
is recorded in `qikink_calls` before it is sent; a request that would make the last minute hold
more than the budget is refused (a GraphQL caller hears `RATE_LIMITED` at once) or waits for the
oldest call to leave the window (background work).

Every call names its `Lane`, what it is for. Lanes share the one window and differ in two ways:

- a cap: the status sync may hold at most the budget minus `QIKINK_RATE_RESERVE` calls of any
  window, so paid orders and people waiting on a page always find room; storefronts at most
  `QIKINK_STOREFRONT_CALLS_PER_MINUTE`, so outsiders can never take more than that share;
- a priority: a caller that waits registers in `qikink_waiters`, and a call of a lower lane
  takes a slot only when the window has room for every higher waiter and for itself, so when
  a submission and the sync both wait, the submission gets the next free slot.

Lanes (`services.qikink.lanes`) are counted in the same rows, so caps and priorities hold
across processes too.
Counting and recording happen in one short transaction that other processes cannot interleave
with: on PostgreSQL behind a transaction-scoped advisory lock; on SQLite by writing first, which
takes the database's single write lock before the count is read.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from config import QIKINK_RATE_WINDOW_SECONDS
from models import QikinkCall, QikinkWaiter
from services.qikink.lanes import LOWEST_PRIORITY, Lane, rate_limit_message, whole_seconds
from services.shared.clock import SYSTEM, Clock, utc_now
from services.shared.db import atomically, to_the_end
from services.shared.errors import RateLimited
from services.shared.metrics import RATE_LIMIT_REFUSALS, RATE_LIMIT_WAITS

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tortoise.backends.base.client import BaseDBAsyncClient

__all__ = ["WINDOW_SECONDS", "RateBudget", "budget_key"]

# Qikink's window, a minute (QIKINK_RATE_WINDOW_SECONDS may shorten it, in tests only).
WINDOW_SECONDS = QIKINK_RATE_WINDOW_SECONDS
# We count a call when it leaves, Qikink when it arrives; a call that took longer to arrive
# than a later one would let Qikink see one too many. A second of slack absorbs that, and
# small clock differences between hosts, for a budget about 2% lower.
SAFETY_MARGIN_SECONDS = 1.0
# A waiter counts this long past its next try; one whose process died stops counting then.
_WAITER_GRACE_SECONDS = 5.0
# How often a lower lane looks again while higher waiters hold every slot that will free.
_YIELD_POLL_SECONDS = 0.5


def budget_key(client_id: str) -> str:
    return hashlib.sha256(f"rate:{client_id}".encode()).hexdigest()


class _WindowFull(Exception):
    def __init__(self, retry_after: float, per_minute: int, *, lane_cap: bool) -> None:
        self.retry_after = retry_after
        # The limit that was reached: the whole budget's or the lane's.
        self.per_minute = per_minute
        # The lane's own cap said no: the slot that frees is not one to claim ahead of others.
        self.lane_cap = lane_cap


class RateBudget:
    """At most `per_minute` calls in any rolling minute for one key, across processes."""

    def __init__(
        self,
        key: str,
        per_minute: int,
        *,
        postgres: bool,
        reserve: int = 0,
        storefront_per_minute: int | None = None,
        clock: Clock = SYSTEM,
        window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        if per_minute and not 0 <= reserve < per_minute:
            raise ValueError("the reserve must leave the sync at least one call a minute")
        self.key = key
        self.per_minute = per_minute
        self.postgres = postgres
        self.reserve = reserve if per_minute else 0
        self.storefront_per_minute = storefront_per_minute
        self.clock = clock
        self.window_seconds = window_seconds
        # Rows older than this are no longer needed by any window and are deleted as we go.
        self._keep_seconds = 2 * window_seconds
        self._lock_id = int(key[:15], 16)
        self.waits = 0
        self.refusals = 0
        self._queues: dict[Lane, asyncio.Lock] = {}

    @property
    def saturated_wait_seconds(self) -> int:
        """How long a window filled by `saturate` stays full: its calls leave it all at once."""
        return math.ceil(self.window_seconds + SAFETY_MARGIN_SECONDS)

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def cap(self, lane: Lane) -> int | None:
        """The most calls of `lane` any window may hold, besides the budget itself."""
        if lane is Lane.SYNC and self.reserve:
            return self.per_minute - self.reserve
        if lane is Lane.STOREFRONT:
            return self.storefront_per_minute
        return None

    def _now(self) -> datetime:
        return utc_now(self.clock)

    async def try_acquire(self, lane: Lane = Lane.INTERACTIVE) -> float | None:
        """Record one call if the window has room: None; else the seconds until it will."""
        try:
            await self._record(lane, waiter=None)
        except _WindowFull as full:
            return full.retry_after
        return None

    async def _record(self, lane: Lane, waiter: str | None) -> None:
        if not self.enabled and self.cap(lane) is None:
            return  # no limit to keep
        await atomically(lambda conn: self._record_in_window(lane, waiter, conn))

    async def _record_in_window(
        self, lane: Lane, waiter: str | None, conn: BaseDBAsyncClient
    ) -> None:
        cap = self.cap(lane)
        if self.postgres:
            await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [self._lock_id])
        # Read the clock once the lock is ours: time spent queueing for it must not make
        # a call look older than it is.
        now = self._now()
        window_start = now - timedelta(seconds=self.window_seconds + SAFETY_MARGIN_SECONDS)
        if not self.postgres:
            # The write takes SQLite's write lock, so the count below cannot go stale.
            await QikinkCall.create(budget_key=self.key, at=now, lane=lane, using_db=conn)
        recent = await (
            QikinkCall.filter(budget_key=self.key, at__gt=window_start)
            .using_db(conn)
            .order_by("at")
            .values_list("at", "lane")
        )
        # SQLite's tentative row is among `recent`; it is no earlier call.
        tentative = 0 if self.postgres else 1
        if cap is not None:
            calls = [at for at, name in recent if name == lane]
            if len(calls) - tentative >= cap:
                # Raising rolls the transaction back, and with it SQLite's tentative row.
                retry_after = _retry_after(calls, len(calls) - tentative, cap, window_start)
                raise _WindowFull(retry_after, cap, lane_cap=True)
        if self.enabled:
            calls = [at for at, _ in recent]
            room = self.per_minute - await self._waiters_ahead(lane, now, conn)
            if len(calls) - tentative >= room:
                retry_after = _retry_after(calls, len(calls) - tentative, room, window_start)
                raise _WindowFull(retry_after, self.per_minute, lane_cap=False)
        if self.postgres:
            await QikinkCall.create(budget_key=self.key, at=now, lane=lane, using_db=conn)
        if waiter is not None:
            await QikinkWaiter.filter(id=waiter).using_db(conn).delete()
        await (
            QikinkCall.filter(
                budget_key=self.key, at__lt=now - timedelta(seconds=self._keep_seconds)
            )
            .using_db(conn)
            .delete()
        )

    async def _waiters_ahead(self, lane: Lane, now: datetime, conn: BaseDBAsyncClient) -> int:
        """Callers of higher lanes that are waiting for a slot right now."""
        if lane.priority == 0:
            return 0
        return (
            await QikinkWaiter.filter(
                budget_key=self.key, priority__lt=lane.priority, expires_at__gt=now
            )
            .using_db(conn)
            .count()
        )

    async def _mark_waiting(self, waiter: str | None, lane: Lane, retry_after: float) -> str:
        """Register (or renew) this caller as waiting in `lane` until just past its next try."""
        expires_at = self._now() + timedelta(seconds=retry_after + _WAITER_GRACE_SECONDS)
        # A row left behind by a caller gone would hold lower lanes back until it expires.
        return await to_the_end(self._upsert_waiter(waiter, lane, expires_at), undo=_forget_waiter)

    async def _upsert_waiter(self, waiter: str | None, lane: Lane, expires_at: datetime) -> str:
        if waiter is not None and await QikinkWaiter.filter(id=waiter).update(
            expires_at=expires_at
        ):
            return waiter
        waiter = secrets.token_hex(16)
        await QikinkWaiter.create(
            id=waiter,
            budget_key=self.key,
            lane=lane,
            priority=lane.priority,
            expires_at=expires_at,
        )
        return waiter

    async def acquire(
        self,
        *,
        wait: bool,
        on_wait: Callable[[], Awaitable[None]] | None = None,
        lane: Lane = Lane.INTERACTIVE,
    ) -> None:
        """Take a slot in `lane`; with `wait` sleep until one frees (ahead of lower lanes),
        else raise `RateLimited` at once, naming the limit that was reached.

        `on_wait` runs before each sleep (a token minter renews its lease there).
        """
        try:
            await self._record(lane, None)
            return
        except _WindowFull as full:
            if not wait:
                self.refusals += 1
                RATE_LIMIT_REFUSALS.labels(lane=lane).inc()
                seconds = whole_seconds(full.retry_after)
                raise RateLimited(
                    rate_limit_message(full.per_minute, seconds), retry_after=seconds
                ) from None
        # This process's waiters of a lane line up here, first come first served: one at a
        # time watches the window, rather than twenty GETs of a sync waking for every slot.
        async with self._queues.setdefault(lane, asyncio.Lock()):
            await self._wait_for_slot(lane, on_wait)

    async def _wait_for_slot(
        self, lane: Lane, on_wait: Callable[[], Awaitable[None]] | None
    ) -> None:
        waiter: str | None = None
        try:
            while True:
                try:
                    await self._record(lane, waiter)
                    waiter = None  # deleted with the call's row
                    return
                except _WindowFull as full:
                    retry_after, lane_cap = full.retry_after, full.lane_cap
                self.waits += 1
                RATE_LIMIT_WAITS.labels(lane=lane).inc()
                if not lane_cap and lane.priority < LOWEST_PRIORITY:
                    waiter = await self._mark_waiting(waiter, lane, retry_after)
                if on_wait is not None:
                    await on_wait()
                # Jitter spreads waiting processes so they do not all retry in the same instant.
                await asyncio.sleep(retry_after + random.uniform(0, 0.05))
        finally:
            if waiter is not None:
                # Given up (cancelled, or on_wait failed): stop holding lower lanes back.
                await to_the_end(_forget_waiter(waiter))

    async def saturate(self) -> None:
        """Qikink said we are over its limit: fill the window so every process backs off."""
        if self.enabled:
            await atomically(self._fill_window)

    async def _fill_window(self, conn: BaseDBAsyncClient) -> None:
        now = self._now()
        if self.postgres:
            await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [self._lock_id])
        count = (
            await QikinkCall.filter(
                budget_key=self.key, at__gt=now - timedelta(seconds=self.window_seconds)
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


async def _forget_waiter(waiter: str) -> None:
    await QikinkWaiter.filter(id=waiter).delete()


def _retry_after(calls: list[datetime], in_window: int, room: int, window_start: datetime) -> float:
    """Seconds until the window (sorted `calls`, `in_window` of them earlier calls) has room
    for one more beside `room` - 1 others."""
    if room <= 0:
        # Higher waiters will take every slot that frees, and their calls are not made yet.
        return _YIELD_POLL_SECONDS
    # The slot frees when the call that made the window full leaves it.
    oldest = calls[in_window - room]
    return max((oldest - window_start).total_seconds(), 0.001)
