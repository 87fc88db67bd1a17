"""Keep each order mapping's Qikink status and tracking fresh, spending as few calls as we can.

Qikink has no webhooks and lists 10 orders a page, newest first. A page refreshes every mapping
on it for one call; a GET refreshes one. The refresh plans a cut-off: walk the newest pages down
to it, then GET each mapping older than it. From where each due mapping sits among this
service's own orders (newest first) it picks the cut-off that costs the fewest calls, so a few
old orders still open (an `On Hold` from last month) cost a GET each instead of a walk through
everything since. Orders made outside this service (a merchant's other channels) push ours to
later pages, which our own orders cannot show: once the walk meets one of ours, the pages'
`created_on` say where the rest must be, and the cut-off is chosen again after every page. The
walk ends when it has met every mapping above the cut-off, and what it did not meet is GETted.
Final statuses are never left (`services.statuses`); the cut-off is `services.refresh_plan`'s.
"""

from __future__ import annotations

import asyncio
import logging
import math
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tortoise.expressions import Q

from models import FINAL_STATUSES, OrderMapping, OrderMappingStatus
from services.background import repeat
from services.clock import utc_now
from services.errors import InvalidInput, NotFound, QikinkError, RateLimited
from services.leases import job_value, release_lease, set_job_value, take_lease
from services.qikink import PAGE_SIZE, check_order_id, walk_pages
from services.refresh_plan import PageClock, cheapest_cut, positions
from services.statuses import apply_qikink_order

if TYPE_CHECKING:
    from collections.abc import Callable

    from services.qikink_client import QikinkClient

__all__ = [
    "MAX_CONCURRENCY",
    "MAX_LIMIT",
    "RefreshPlan",
    "RefreshResult",
    "StatusChange",
    "periodic_sync",
    "refresh_order_mappings",
]

logger = logging.getLogger("qikink_graphql.sync")

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
DEFAULT_CONCURRENCY = 20
MAX_CONCURRENCY = 100
SYNC_JOB = "status_sync"


@dataclass(frozen=True, slots=True)
class RefreshPlan:
    """The cut-off a refresh chose (pages to walk, GETs after) and what it took."""

    pages: int = 0
    gets: int = 0
    pages_walked: int = 0
    gets_made: int = 0

    def __str__(self) -> str:
        return (
            f"planned {self.pages} page(s) and {self.gets} GET(s); "
            f"walked {self.pages_walked} page(s), made {self.gets_made} GET(s)"
        )


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A mapping whose status a refresh changed, as it is now, and the status it had."""

    mapping: OrderMapping
    previous_status: OrderMappingStatus


@dataclass(frozen=True, slots=True)
class RefreshResult:
    updated: int
    processed: int
    total_eligible: int
    limit: int
    qikink_calls: int = 0
    plan: RefreshPlan = RefreshPlan()
    changes: tuple[StatusChange, ...] = ()


def _eligible() -> Any:
    return OrderMapping.filter(~Q(status__in=list(FINAL_STATUSES)), qikink_order_id__isnull=False)


class _Refresh:
    def __init__(
        self,
        client: QikinkClient,
        *,
        concurrency: int,
        wait: bool,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.client = client
        self.concurrency = concurrency
        self.wait = wait
        self.progress = progress
        self.updated = 0
        self.processed = 0
        self.pages = 0
        self.gets = 0
        self.total = 0
        self.refused: RateLimited | None = None
        self.changes: list[StatusChange] = []
        self.now = utc_now(client.clock)

    async def _apply(self, row: OrderMapping, order: dict[str, Any]) -> None:
        """Store what Qikink says of `row`'s order, and count it."""
        before = row.status
        changed = await apply_qikink_order(row, order, self.now)
        self.processed += 1
        self.updated += int(changed)
        if row.status != before:
            self.changes.append(StatusChange(row, before))
        if self.progress is not None:
            self.progress(self.processed, self.total)

    async def walk(
        self, above: list[OrderMapping], below: list[OrderMapping], planned: int
    ) -> list[OrderMapping]:
        """Walk newest-first pages while that is the cheaper way to meet the rows `above` the
        cut-off (rows `below` it are refreshed too when met); returns the rows still to GET.

        Once a page holds one of ours, the pages' `created_on` tell where the rest must be:
        how far Qikink's clock is from ours, and how many orders (ours or not) a minute of it
        holds. After each page the cut-off is chosen again from those estimates, so orders made
        elsewhere (a stretch of them, or three for each of ours) neither stop the walk too soon
        nor keep it going where GETs cost less; a row the pages have passed is left to a GET.
        """
        waiting = {row.qikink_order_id: row for row in above}
        later = {row.qikink_order_id: row for row in below}
        back_to = min(row.created_at for row in above)
        # Without created_on to plan by, as planned and then some: orders made elsewhere can
        # push ours to later pages.
        blind_limit = 2 * planned + 5
        clocks = PageClock()
        # Never more pages than the plan and a page for every row: GETs would cost less.
        most = planned + len(above) + len(below)
        pages = walk_pages(self.client, back_to=back_to, max_pages=most, wait=self.wait)
        try:
            async with aclosing(pages):
                async for orders in pages:
                    self.pages += 1
                    for order in orders:
                        key = str(order.get("order_id"))
                        row = waiting.pop(key, None) or later.pop(key, None)
                        if row is not None:
                            clocks.met(order, row)
                            await self._apply(row, order)
                    clocks.read(orders)
                    replanned = clocks.cut([*waiting.values(), *later.values()])
                    if replanned is not None:
                        walk_for, get_later = replanned
                        waiting = {row.qikink_order_id: row for row in walk_for}
                        later = {row.qikink_order_id: row for row in get_later}
                    elif self.pages >= blind_limit:
                        break
                    if not waiting:
                        break
        except RateLimited as exc:
            self.refused = exc
        return [*waiting.values(), *later.values()]

    async def get_each(self, rows: list[OrderMapping]) -> None:
        semaphore = asyncio.Semaphore(self.concurrency)

        async def one(row: OrderMapping) -> None:
            if self.refused is not None:
                return
            async with semaphore:
                if self.refused is not None:
                    return
                try:
                    order = await self.client.get_order(str(row.qikink_order_id), wait=self.wait)
                except RateLimited as exc:
                    self.refused = exc
                    return
                except QikinkError as exc:
                    logger.warning("refresh of %s failed: %s", row.qikink_order_id, exc.message)
                    self.gets += 1
                    return
                self.gets += 1
                if order is not None:
                    await self._apply(row, order)

        await asyncio.gather(*(one(row) for row in rows))

    def result(self, total: int, limit: int, planned: tuple[int, int]) -> RefreshResult:
        if self.refused is not None and not self.processed:
            raise self.refused
        plan = RefreshPlan(*planned, pages_walked=self.pages, gets_made=self.gets)
        return RefreshResult(
            self.updated,
            self.processed,
            total,
            limit,
            self.pages + self.gets,
            plan,
            tuple(self.changes),
        )


async def refresh_order_mappings(
    client: QikinkClient,
    *,
    order_id: str | None = None,
    limit: int = DEFAULT_LIMIT,
    concurrency: int = DEFAULT_CONCURRENCY,
    wait: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> RefreshResult:
    """Refresh one Qikink order's mapping, or up to `limit` mappings not in a final status.

    With `wait` (background work) calls wait for the rate budget; without it the refresh
    stops when the budget is spent and reports what it did (RATE_LIMITED if nothing).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InvalidInput(
            f"concurrency must be between 1 and {MAX_CONCURRENCY}.", field="concurrency"
        )
    job = _Refresh(client, concurrency=concurrency, wait=wait, progress=progress)
    if order_id is not None:
        order_id = check_order_id(order_id, field="order_id", label="The order id")
        row = await OrderMapping.get_or_none(qikink_order_id=order_id)
        if row is None:
            raise NotFound(f"No order mapping has Qikink order id {order_id!r}.")
        job.total = 1
        await job.get_each([row])
        return job.result(1, limit, (0, 1))

    eligible = _eligible()
    total = await eligible.count()
    # Never-synced first, then the longest unsynced (the databases order NULLs differently).
    rows = list(
        await eligible.filter(last_synced_at__isnull=True).order_by("created_at", "id").limit(limit)
    )
    if len(rows) < limit:
        rows += (
            await eligible.filter(last_synced_at__isnull=False)
            .order_by("last_synced_at", "id")
            .limit(limit - len(rows))
        )
    job.total = len(rows)
    if not rows:
        return job.result(total, limit, (0, 0))
    places = await positions(rows)
    covered = cheapest_cut(places)
    above, below = rows[:covered], rows[covered:]
    pages = math.ceil((places[covered - 1] + 1) / PAGE_SIZE) if covered else 0
    missed = below
    if above:
        # Orders made outside this service can push ours to later pages than planned.
        missed = await job.walk(above, below, planned=pages)
    if job.refused is None:
        await job.get_each(missed)
    return job.result(total, limit, (pages, len(below)))


async def periodic_sync(
    client: QikinkClient,
    *,
    owner: str,
    interval: float,
    stop: asyncio.Event,
    limit: int = MAX_LIMIT,
) -> None:
    """Every `interval` seconds, one process (whichever holds the lease) refreshes statuses."""
    await repeat(
        lambda: _sync_if_due(client, owner=owner, interval=interval, limit=limit),
        pause=min(interval, 60.0),
        stop=stop,
        logger=logger,
        failed="background status sync failed; trying again next interval",
    )


async def _sync_if_due(client: QikinkClient, *, owner: str, interval: float, limit: int) -> None:
    last = (await job_value(SYNC_JOB)).get("finished_at")
    if last is not None and client.clock() - float(last) < interval:
        return
    # The lease outlives a long sync (budget waits): at 30 calls a minute, 1000 GETs ~ 34 min.
    if not await take_lease(SYNC_JOB, owner, seconds=max(interval, 3600), clock=client.clock):
        return
    try:
        result = await refresh_order_mappings(client, limit=limit, wait=True)
        await set_job_value(
            SYNC_JOB,
            {
                "finished_at": client.clock(),
                "updated": result.updated,
                "processed": result.processed,
                "calls": result.qikink_calls,
            },
        )
        logger.info(
            "status sync: %d of %d mappings updated with %d Qikink calls (%s)",
            result.updated,
            result.processed,
            result.qikink_calls,
            result.plan,
        )
    finally:
        await release_lease(SYNC_JOB, owner)
