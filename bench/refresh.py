"""What a status refresh of 500 mappings among 600 Qikink orders costs: page walk vs GETs.

Run from the project root (a few seconds per backend):

    .venv/bin/python bench/refresh.py                       # SQLite, a temp file
    .venv/bin/python bench/refresh.py --database postgres   # a throwaway PG database

The simulator (on a real port, in a thread) holds 600 orders, one a minute, the newest just
before now; 500 of them have a SUBMITTED mapping made at the order's time, the other 100 were
made outside the service (from Qikink's dashboard). Two layouts, each on a fresh database and
simulator:

- interleaved: every 6th order is an outside one, from the oldest to the newest;
- newest: the 100 outside orders are the newest, so every mapping sits behind 10 pages of them.

Some orders move on in Qikink before the refresh (every 5th of ours Printed, every 7th
In-Transit with an AWB, every 11th Delivered). The refresh runs twice on the same state, the
rate limits off (our budget 0 and the simulator's 0) so the wall time is our own cost:

- as the service does it, `refresh_order_mappings(client, limit=500, wait=True)`, which
  chooses (a page walk is expected: at most 70 calls, the token included);
- forced to one GET per order (`strategy="get"`) on the same 500 rows.

Each strategy starts cold: no token, the mappings as they were. The calls are what the
simulator saw, the token included; the refresh's own count (`qikink_calls`) leaves the token
out. The last column is what the same calls would take at Qikink's 30 a minute (the first 30
at once, then 30 a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common import fresh_database

from models import OrderMapping, OrderMappingStatus, QikinkToken, SubmitState
from services import db
from services.qikink_client import QikinkClient, build_http_client
from services.sync import refresh_order_mappings
from simulator import QikinkSimulator, SimulatorServer

if TYPE_CHECKING:
    import httpx

ORDERS = 600
OUTSIDE = 100
LIMIT = 500
QIKINK_PER_MINUTE = 30
MAX_WALK_CALLS = 70
LAYOUTS = ("interleaved", "newest")


def is_outside(index: int, layout: str) -> bool:
    if layout == "interleaved":
        return index % (ORDERS // OUTSIDE) == ORDERS // OUTSIDE - 1
    return index >= ORDERS - OUTSIDE


async def seed(sim: QikinkSimulator, layout: str) -> None:
    """600 Qikink orders a minute apart, 500 of them with a mapping; some moved on."""
    first = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=ORDERS)
    mappings = []
    ours = 0
    for index in range(ORDERS):
        when = first + timedelta(minutes=index)
        number = f"{'QK' if is_outside(index, layout) else 'MD'}{index:05d}"
        order = sim.add_order(number, created_on=when)
        if is_outside(index, layout):
            continue
        ours += 1
        if ours % 11 == 0:
            sim.advance(order["order_id"], "Delivered", awb=f"AWB{index:010d}")
        elif ours % 7 == 0:
            sim.advance(order["order_id"], "In-Transit", awb=f"AWB{index:010d}")
        elif ours % 5 == 0:
            sim.advance(order["order_id"], "Printed")
        mappings.append(
            OrderMapping(
                medusa_order_id=f"order_{index:05d}",
                qikink_order_number=number,
                qikink_order_id=str(order["order_id"]),
                status=OrderMappingStatus.SUBMITTED,
                qikink_status="On Hold",
                submit_state=SubmitState.DONE,
            )
        )
    await OrderMapping.bulk_create(mappings)
    # Made when their orders were (auto_now_add stamped them now).
    for index in range(ORDERS):
        if not is_outside(index, layout):
            await OrderMapping.filter(medusa_order_id=f"order_{index:05d}").update(
                created_at=first + timedelta(minutes=index)
            )


async def start_cold() -> None:
    """The mappings as seeded and no token: each strategy pays for everything it needs."""
    await OrderMapping.all().update(
        status=OrderMappingStatus.SUBMITTED,
        qikink_status="On Hold",
        tracking_number=None,
        courier=None,
        tracking_url=None,
        last_synced_at=None,
    )
    await QikinkToken.all().delete()


async def snapshot() -> list[tuple[Any, ...]]:
    return list(
        await OrderMapping.all()
        .order_by("id")
        .values_list("id", "status", "qikink_status", "tracking_number", "courier")
    )


@dataclass
class Outcome:
    strategy: str
    calls: Counter[str]
    wall: float
    processed: int
    updated: int
    statuses: Counter[str]

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


def at_qikink_rate(calls: int) -> str:
    """The least time `calls` take at 30 a rolling minute: 30 at once, then 30 a minute."""
    seconds = 60 * ((calls - 1) // QIKINK_PER_MINUTE) if calls else 0
    return f"{seconds // 60} min" if seconds else "under 1 s"


async def measure(
    server: SimulatorServer, http: httpx.AsyncClient, *, postgres: bool, forced_gets: bool
) -> tuple[Outcome, list[tuple[Any, ...]]]:
    sim = server.sim
    await start_cold()
    # A new client too, so no token is cached in this process either.
    client = QikinkClient(
        http,
        api_url=server.url,
        client_id=sim.client_id,
        client_secret=sim.client_secret,
        rate_limit_per_minute=0,
        postgres=postgres,
    )
    before = len(sim.requests)
    started = time.perf_counter()
    result = await refresh_order_mappings(
        client, limit=LIMIT, wait=True, strategy="get" if forced_gets else "auto"
    )
    strategy = f"{result.strategy} (forced)" if forced_gets else result.strategy
    processed, updated = result.processed, result.updated
    wall = time.perf_counter() - started
    calls = Counter(r.endpoint for r in sim.requests[before:])
    statuses = Counter(str(s) for s in await OrderMapping.all().values_list("status", flat=True))
    return Outcome(strategy, calls, wall, processed, updated, statuses), await snapshot()


async def layout_run(backend: str, workdir: Path, layout: str) -> bool:
    sim = QikinkSimulator(rate_limit_per_minute=0)
    with SimulatorServer(sim) as server:
        async with fresh_database(backend, workdir, f"refresh_{layout}") as database_url:
            await db.connect_db(database_url)
            http = build_http_client(20)
            try:
                postgres = db.is_postgres(database_url)
                await seed(sim, layout)
                eligible = await OrderMapping.filter(status=OrderMappingStatus.SUBMITTED).count()
                walk, after_walk = await measure(server, http, postgres=postgres, forced_gets=False)
                gets, after_gets = await measure(server, http, postgres=postgres, forced_gets=True)
            finally:
                await http.aclose()
                await db.close_db()

    print(
        f"\n{layout}: {ORDERS} Qikink orders, {eligible} eligible mappings, {OUTSIDE} orders "
        f"made outside the service ({'every 6th' if layout == 'interleaved' else 'the newest'})"
    )
    header = (
        "strategy",
        "Qikink calls",
        "by endpoint",
        "wall",
        "processed",
        "updated",
        "least at 30/min",
    )
    table = [header]
    for outcome in (walk, gets):
        table.append(
            (
                outcome.strategy,
                str(outcome.total_calls),
                ", ".join(f"{k}={v}" for k, v in sorted(outcome.calls.items())),
                f"{outcome.wall:.2f} s",
                str(outcome.processed),
                str(outcome.updated),
                at_qikink_rate(outcome.total_calls),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print(("  " + "  ".join(cells)).rstrip())
    print(f"  statuses after: {dict(sorted(walk.statuses.items()))}")
    same = after_walk == after_gets
    print(f"  both strategies leave the mappings the same: {'yes' if same else 'NO'}")

    problems = []
    if walk.strategy != "pages":
        problems.append(f"the refresh chose {walk.strategy!r}, not the page walk")
    if walk.total_calls > MAX_WALK_CALLS:
        problems.append(f"the page walk took {walk.total_calls} calls (> {MAX_WALK_CALLS})")
    if walk.processed != LIMIT or gets.processed != LIMIT:
        problems.append("not every mapping was refreshed")
    if not same:
        problems.append("the strategies disagree")
    print("  verdict: " + ("; ".join(problems) if problems else "ok"))
    return not problems


async def bench(args: argparse.Namespace) -> bool:
    print(
        f"backend {args.database}: refresh {LIMIT} eligible mappings among {ORDERS} Qikink "
        "orders, rate limits off (budget 0, simulator 0)"
    )
    with tempfile.TemporaryDirectory(prefix="qkg-bench-") as tmp:
        results = [await layout_run(args.database, Path(tmp), layout) for layout in args.layout]
    return all(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--layout", choices=LAYOUTS, action="append", help="where the outside orders are"
    )
    args = parser.parse_args()
    args.layout = args.layout or list(LAYOUTS)
    logging.basicConfig(level=logging.WARNING)
    sys.exit(0 if asyncio.run(bench(args)) else 1)


if __name__ == "__main__":
    main()
