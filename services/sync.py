"""Keep each order mapping's Qikink status and tracking fresh, spending as few calls as we can.

Qikink has no webhooks and lists 10 orders a page, newest first. Refreshing N mappings costs
either N calls (one GET per order) or about one call per 10 Qikink orders newer than the oldest
mapping (a page walk). `refresh_order_mappings` estimates both and takes the cheaper; a walk
that misses some mappings (orders made outside this service push them further back) finishes
them with GETs. Final statuses are never left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tortoise.expressions import Q

from models import FINAL_STATUSES, OrderMapping, OrderMappingStatus
from services.clock import utc_now
from services.errors import InvalidInput, NotFound, QikinkError, RateLimited
from services.leases import job_value, release_lease, set_job_value, take_lease
from services.qikink import created_on_of, tracking_link

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from services.qikink_client import QikinkClient

__all__ = [
    "MAX_CONCURRENCY",
    "MAX_LIMIT",
    "RefreshResult",
    "map_status",
    "periodic_sync",
    "refresh_order_mappings",
]

logger = logging.getLogger("qikink_graphql.sync")

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
DEFAULT_CONCURRENCY = 20
MAX_CONCURRENCY = 100
PAGE_SIZE = 10
SYNC_JOB = "status_sync"

_SUBMITTED = {"on hold", "live oos", "action required"}
_IN_PRODUCTION = {"live", "to be printed", "partially picklisted", "printed"}
_SHIPPED = {
    "manifested",
    "in-transit",
    "in transit",
    "exception",
    "rto initiated",
    "picked up",
    "shipped",
    "dispatched",
    "out for delivery",
    "delivery rescheduled",
}
_FINAL = {
    "delivered": OrderMappingStatus.COMPLETED,
    "archived": OrderMappingStatus.COMPLETED,
    "cancelled": OrderMappingStatus.CANCELED,
    "canceled": OrderMappingStatus.CANCELED,
    "lost": OrderMappingStatus.CANCELED,
    "returned": OrderMappingStatus.RETURNED,
    "partially returned": OrderMappingStatus.RETURNED,
    "rto delivered": OrderMappingStatus.RETURNED,
}


def map_status(qikink_status: str | None) -> OrderMappingStatus | None:
    """Our status for Qikink's text, compared case-insensitively; None when unknown."""
    text = " ".join((qikink_status or "").lower().split())
    if text in _FINAL:
        return _FINAL[text]
    if text in _SUBMITTED:
        return OrderMappingStatus.SUBMITTED
    if text in _IN_PRODUCTION:
        return OrderMappingStatus.IN_PRODUCTION
    if text in _SHIPPED:
        return OrderMappingStatus.SHIPPED
    return None


@dataclass(frozen=True, slots=True)
class RefreshResult:
    updated: int
    processed: int
    total_eligible: int
    limit: int
    qikink_calls: int = 0
    strategy: str = "none"


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


async def apply_qikink_order(row: OrderMapping, order: dict[str, Any], now: datetime) -> bool:
    """Store what Qikink says of `row`'s order; True when anything a person sees changed."""
    raw_status = _text(order.get("status"))
    shipping = order.get("shipping") if isinstance(order.get("shipping"), dict) else {}
    changes: dict[str, Any] = {}
    if raw_status and raw_status != row.qikink_status:
        changes["qikink_status"] = raw_status
    mapped = map_status(raw_status)
    # Unknown statuses (new courier states) are "still in progress": keep ours.
    if mapped is not None and row.status not in FINAL_STATUSES and mapped != row.status:
        changes["status"] = mapped
    awb, courier = _text(shipping.get("awb")), _text(shipping.get("courier_provider_name"))
    link = tracking_link(shipping.get("tracking_link"))
    for field, value in (("tracking_number", awb), ("courier", courier), ("tracking_url", link)):
        if value is not None and value != getattr(row, field):
            changes[field] = value
    await OrderMapping.filter(id=row.id).update(last_synced_at=now, **changes)
    return bool(changes)


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
        self.calls = 0
        self.total = 0
        self.refused: RateLimited | None = None
        self.now = utc_now(client.clock)

    def _done(self, row: OrderMapping, changed: bool) -> None:
        self.processed += 1
        self.updated += int(changed)
        if self.progress is not None:
            self.progress(self.processed, self.total)

    async def walk_pages(self, rows: list[OrderMapping], max_pages: int) -> list[OrderMapping]:
        """Read newest-first pages until every row is seen; returns the rows not seen."""
        waiting = {row.qikink_order_id: row for row in rows}
        oldest = min(row.created_at for row in rows)
        for page in range(1, max_pages + 1):
            try:
                orders = await self.client.list_orders(page, wait=self.wait)
            except RateLimited as exc:
                self.refused = exc
                break
            self.calls += 1
            for order in orders:
                row = waiting.pop(str(order.get("order_id")), None)
                if row is not None:
                    self._done(row, await apply_qikink_order(row, order, self.now))
            created = [c for order in orders if (c := created_on_of(order)) is not None]
            if not waiting or len(orders) < PAGE_SIZE:
                break
            # Qikink's created_on has no time zone (IST, most likely): allow a day of slack.
            if created and (oldest - min(created)).total_seconds() > 86_400:
                break
        return list(waiting.values())

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
                    self.calls += 1
                    return
                self.calls += 1
                if order is not None:
                    self._done(row, await apply_qikink_order(row, order, self.now))

        await asyncio.gather(*(one(row) for row in rows))


async def _estimate_pages(rows: list[OrderMapping]) -> int:
    """Pages back to the oldest row: our own Qikink orders since then, 10 a page."""
    oldest = min(row.created_at for row in rows)
    ours = await OrderMapping.filter(created_at__gte=oldest, qikink_order_id__isnull=False).count()
    return max(1, math.ceil(ours / PAGE_SIZE))


async def refresh_order_mappings(
    client: QikinkClient,
    *,
    order_id: str | None = None,
    limit: int = DEFAULT_LIMIT,
    concurrency: int = DEFAULT_CONCURRENCY,
    wait: bool = False,
    progress: Callable[[int, int], None] | None = None,
    strategy: str = "auto",
) -> RefreshResult:
    """Refresh one Qikink order's mapping, or up to `limit` mappings not in a final status.

    With `wait` (background work) calls wait for the rate budget; without it the refresh
    stops when the budget is spent and reports what it did (RATE_LIMITED if nothing).
    `strategy` "auto" picks the cheaper of "pages" and "get"; naming one forces it.
    """
    if strategy not in {"auto", "pages", "get"}:
        raise InvalidInput("strategy must be auto, pages or get.", field="strategy")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InvalidInput(
            f"concurrency must be between 1 and {MAX_CONCURRENCY}.", field="concurrency"
        )
    job = _Refresh(client, concurrency=concurrency, wait=wait, progress=progress)
    if order_id is not None:
        order_id = order_id.strip()
        if not re.fullmatch(r"[0-9]{1,20}", order_id):
            raise InvalidInput("orderId must be a Qikink order id (digits).", field="orderId")
        row = await OrderMapping.get_or_none(qikink_order_id=order_id)
        if row is None:
            raise NotFound(f"No order mapping has Qikink order id {order_id!r}.")
        job.total = 1
        await job.get_each([row])
        if job.refused is not None and not job.processed:
            raise job.refused
        return RefreshResult(job.updated, job.processed, 1, limit, job.calls, "get")

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
    chosen = "none"
    if rows:
        pages = await _estimate_pages(rows)
        if strategy == "pages" or (strategy == "auto" and pages < len(rows)):
            chosen = "pages"
            missed = await job.walk_pages(rows, max_pages=pages * 2 + 5)
            if missed and job.refused is None:
                chosen = "pages+get"
                await job.get_each(missed)
        else:
            chosen = "get"
            await job.get_each(rows)
    if job.refused is not None and not job.processed:
        raise job.refused
    return RefreshResult(job.updated, job.processed, total, limit, job.calls, chosen)


async def periodic_sync(
    client: QikinkClient,
    *,
    owner: str,
    interval: float,
    stop: asyncio.Event,
    limit: int = MAX_LIMIT,
) -> None:
    """Every `interval` seconds, one process (whichever holds the lease) refreshes statuses."""
    while not stop.is_set():
        try:
            await _sync_if_due(client, owner=owner, interval=interval, limit=limit)
        except Exception:
            logger.exception("background status sync failed; trying again next interval")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=min(interval, 60.0))


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
            result.strategy,
        )
    finally:
        await release_lease(SYNC_JOB, owner)
