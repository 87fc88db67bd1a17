"""Where a refresh stops walking Qikink's pages and starts GETting, at the fewest calls.

A page of Qikink's newest-first list (10 orders) refreshes every mapping on it for one call; a
GET refreshes one. `cheapest_cut` picks the cut-off from where each due mapping sits among this
service's own orders; once a walk meets one of ours, `PageClock` reads from the pages'
`created_on` where the rest must be (orders made elsewhere sit between ours), so the walk can
choose again after every page.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, cast

from models import OrderMapping
from services.qikink.proxy import PAGE_SIZE, created_on_of

__all__ = ["PageClock", "cheapest_cut", "positions"]


def cheapest_cut(positions: list[int]) -> int:
    """How many of the due mappings a walk should cover, the newest first.

    `positions` are the mappings' places among this service's Qikink orders, newest first
    (0-based, ascending). Covering the newest k costs the pages down to the k-th one's place,
    and each of the rest a GET: the k with the fewest calls (the fewer pages on a tie).
    """
    best, best_calls = 0, len(positions)
    for covered, position in enumerate(positions, start=1):
        calls = math.ceil((position + 1) / PAGE_SIZE) + len(positions) - covered
        if calls < best_calls:
            best, best_calls = covered, calls
    return best


class PageClock:
    """What a walk's pages say of where our remaining orders sit: the gap between Qikink's
    `created_on` (no zone) and our `created_at`, and how many orders a second of it holds."""

    # A submission takes a little while after its mapping is made: a row this much older
    # than the page (in Qikink's clock) and still unseen has been passed, not missed.
    PASSED_MARGIN = timedelta(minutes=10)

    def __init__(self) -> None:
        self.offset: timedelta | None = None
        self.newest: datetime | None = None
        self.oldest: datetime | None = None
        self.orders = 0

    def met(self, order: dict[str, Any], row: OrderMapping) -> None:
        created = created_on_of(order)
        if created is not None:
            # The smallest gap is the one least stretched by a late submission.
            gap = created - row.created_at
            self.offset = gap if self.offset is None else min(self.offset, gap)

    def read(self, orders: list[dict[str, Any]]) -> None:
        stamps = [c for order in orders if (c := created_on_of(order)) is not None]
        if stamps:
            self.newest = max(self.newest or stamps[0], *stamps)
            self.oldest = min(self.oldest or stamps[0], *stamps)
            self.orders += len(orders)

    def cut(self, rows: list[OrderMapping]) -> tuple[list[OrderMapping], list[OrderMapping]] | None:
        """The rows worth walking on for and the rest (to GET); None when the pages cannot
        tell yet."""
        if self.offset is None or self.newest is None or self.oldest is None:
            return None
        span = (self.newest - self.oldest).total_seconds()
        if span <= 0:
            return None
        per_second = self.orders / span
        ahead: list[tuple[int, OrderMapping]] = []
        passed: list[OrderMapping] = []
        for row in rows:
            expected = row.created_at + self.offset
            if expected > self.oldest + self.PASSED_MARGIN:
                passed.append(row)
            else:
                orders_between = (self.oldest - expected).total_seconds() * per_second
                ahead.append((max(0, int(orders_between)), row))
        ahead.sort(key=lambda pair: pair[0])
        covered = cheapest_cut([position for position, _ in ahead])
        return [row for _, row in ahead[:covered]], [
            *(row for _, row in ahead[covered:]),
            *passed,
        ]


async def positions(rows: list[OrderMapping]) -> list[int]:
    """Each row's place among this service's Qikink orders, newest first (ascending, with the
    rows sorted to match); rows further back than any walk would go are placed at the end."""
    # Past 10 places per due row a walk always costs more than GETting every row.
    reach = PAGE_SIZE * (len(rows) + 1)
    # Tortoise types a flat `values_list` as tuples; it is the column's values.
    newest = cast(
        "list[str]",
        await OrderMapping.filter(qikink_order_id__isnull=False)
        .order_by("-created_at", "-id")
        .limit(reach)
        .values_list("id", flat=True),
    )
    place = {row_id: index for index, row_id in enumerate(newest)}
    rows.sort(key=lambda row: (place.get(row.id, reach), -row.created_at.timestamp()))
    return [place.get(row.id, reach) for row in rows]
