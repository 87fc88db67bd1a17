"""What the status refresh's planned cut-off costs in Qikink calls, against the best possible.

Run from the project root (a few seconds per backend):

    .venv/bin/python bench/refresh.py                          # SQLite, a temp file
    .venv/bin/python bench/refresh.py --database postgres      # a throwaway PG database
    .venv/bin/python bench/refresh.py --scenario long-tail     # one scenario (repeatable)

Each scenario runs on a fresh database and a fresh simulator (on a real port, in a thread).
Qikink holds orders one a minute apart, the newest just before now. An order of ours has a
mapping with its qikink_order_id, made at the order's time (submit_state DONE); an open one is
SUBMITTED (Qikink "On Hold"), a final one COMPLETED (Qikink "Delivered"); an outside order has
no mapping (made from Qikink's dashboard). Oldest first:

- recent: 600 orders of ours, the oldest 100 final, the newest 500 open.
  Bar: at most 52 calls.
- interleaved: 600 orders, every 6th made outside (100), the other 500 ours and open.
  Bar: at most 1.15 times the best plan.
- outside-newest: 500 open orders of ours, then 100 made outside (the newest).
  Bar: at most 1.15 times the best plan.
- long-tail: 20 open orders of ours, 2,000 final ones, then 300 open ones (2,320 orders).
  Bar: at most 55 calls.
- long-tail-outside: as long-tail, with 1,000 orders made outside mixed evenly among the
  2,000 final ones (3,320 orders). Bar: at most 1.15 times the best plan.
- outside-3to1: 2,000 orders, one in four ours and open, three made outside.
  Bar: at most 1.15 times the best plan.
- tail-behind-outside: 20 open orders of ours, 2,000 made outside, 300 open ones of ours
  (by our own orders the old ones look near; on Qikink's pages they are 200 pages back).
  Bar: at most 1.15 times the best plan.

Before the refresh some open orders of ours move on in Qikink (every 5th Printed, every 7th
In-Transit with an AWB, every 11th Delivered). The refresh runs as the service runs it,
`refresh_order_mappings(client, limit=1000, wait=True)`, with the rate limits off (our budget
0 and the simulator's 0), so the wall time is our own cost. Every count of calls is what the
simulator saw, the token included.

The best plan knows where every order really sits on Qikink's pages (the simulator's list,
outside orders included): the least, over page counts P from 0 to all pages, of P plus one GET
for each open mapping whose order is not on pages 1..P, plus the token. Each row also shows
what walking every page and GETting every open mapping would cost. A scenario passes when its
bar is met and the refresh refreshed every open mapping to what the simulator holds; the exit
code is 0 only when every scenario passes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from common import fresh_database

from models import OrderMapping, OrderMappingStatus, SubmitState
from services import db
from services.qikink import PAGE_SIZE
from services.qikink_client import QikinkClient, build_http_client
from services.statuses import map_status
from services.sync import RefreshResult, refresh_order_mappings
from simulator import QikinkSimulator, SimulatorServer

if TYPE_CHECKING:
    from collections.abc import Callable

Kind = Literal["open", "final", "outside"]

LIMIT = 1000
BATCH = 500


def _recent() -> list[Kind]:
    return ["final"] * 100 + ["open"] * 500


def _interleaved() -> list[Kind]:
    return ["outside" if index % 6 == 5 else "open" for index in range(600)]


def _outside_newest() -> list[Kind]:
    return ["open"] * 500 + ["outside"] * 100


def _long_tail() -> list[Kind]:
    return ["open"] * 20 + ["final"] * 2000 + ["open"] * 300


def _long_tail_outside() -> list[Kind]:
    # Two final ones then an outside one, over and over: 2,000 and 1,000, evenly.
    middle: list[Kind] = ["outside" if index % 3 == 2 else "final" for index in range(3000)]
    return ["open"] * 20 + middle + ["open"] * 300


def _outside_three_to_one() -> list[Kind]:
    # A merchant who sells mostly elsewhere: three outside orders for each of ours.
    return ["open" if index % 4 == 0 else "outside" for index in range(2000)]


def _long_tail_behind_outside() -> list[Kind]:
    # The old open ones sit behind 2,000 orders none of which are ours: by our own orders
    # they look near, on Qikink's pages they are 200 pages back.
    return ["open"] * 20 + ["outside"] * 2000 + ["open"] * 300


@dataclass(frozen=True)
class Scenario:
    name: str
    layout: Callable[[], list[Kind]]
    max_calls: int | None = None
    max_ratio: float | None = None

    @property
    def bar(self) -> str:
        if self.max_calls is not None:
            return f"<= {self.max_calls} calls"
        return f"<= {self.max_ratio:.2f} x best"


SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario("recent", _recent, max_calls=52),
        Scenario("interleaved", _interleaved, max_ratio=1.15),
        Scenario("outside-newest", _outside_newest, max_ratio=1.15),
        Scenario("long-tail", _long_tail, max_calls=55),
        Scenario("long-tail-outside", _long_tail_outside, max_ratio=1.15),
        Scenario("outside-3to1", _outside_three_to_one, max_ratio=1.15),
        Scenario("tail-behind-outside", _long_tail_behind_outside, max_ratio=1.15),
    )
}


@dataclass(frozen=True)
class BestPlan:
    pages: int
    gets: int

    @property
    def calls(self) -> int:
        return self.pages + self.gets + 1


@dataclass
class Outcome:
    scenario: Scenario
    orders: int
    eligible: int
    calls: Counter[str]
    result: RefreshResult
    best: BestPlan
    all_pages: int
    seed_seconds: float
    wall: float
    problems: list[str]

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def ratio(self) -> float:
        return self.total_calls / self.best.calls


def _move_on(sim: QikinkSimulator, order_id: int, nth_open: int, index: int) -> None:
    """Some open orders have moved on in Qikink since the last refresh."""
    if nth_open % 11 == 0:
        sim.advance(order_id, "Delivered", awb=f"AWB{index:010d}")
    elif nth_open % 7 == 0:
        sim.advance(order_id, "In-Transit", awb=f"AWB{index:010d}")
    elif nth_open % 5 == 0:
        sim.advance(order_id, "Printed")


async def seed(sim: QikinkSimulator, layout: list[Kind]) -> set[str]:
    """The layout's orders in Qikink, oldest first, and our mappings; the open mappings' ids."""
    first = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=len(layout))
    mappings = []
    expected: dict[str, datetime] = {}
    open_ids: set[str] = set()
    nth_open = 0
    for index, kind in enumerate(layout):
        when = first + timedelta(minutes=index)
        if kind == "outside":
            sim.add_order(f"QK{index:05d}", created_on=when)
            continue
        number = f"MD{index:05d}"
        if kind == "final":
            order = sim.add_order(number, created_on=when, status="Delivered")
        else:
            order = sim.add_order(number, created_on=when)
            nth_open += 1
            _move_on(sim, order["order_id"], nth_open, index)
        qikink_id = str(order["order_id"])
        expected[qikink_id] = when
        if kind == "open":
            open_ids.add(qikink_id)
        mappings.append(
            OrderMapping(
                medusa_order_id=f"order_{index:05d}",
                qikink_order_number=number,
                qikink_order_id=qikink_id,
                status=OrderMappingStatus.SUBMITTED
                if kind == "open"
                else OrderMappingStatus.COMPLETED,
                qikink_status="On Hold" if kind == "open" else "Delivered",
                submit_state=SubmitState.DONE,
                # auto_now_add only stamps a created_at left empty, so bulk_create keeps this
                # and no row needs an UPDATE of its own.
                created_at=when,
            )
        )
    await OrderMapping.bulk_create(mappings, batch_size=BATCH)
    # The refresh plans from created_at: a mapping stamped "now" would make the bench lie.
    stored = dict(await OrderMapping.all().values_list("qikink_order_id", "created_at"))
    wrong = [key for key, when in expected.items() if stored.get(key) != when]
    if wrong:
        raise RuntimeError(f"{len(wrong)} mapping(s) lost their created_at, e.g. {wrong[0]}")
    return open_ids


def best_plan(sim: QikinkSimulator, open_ids: set[str]) -> tuple[BestPlan, int]:
    """The cheapest P pages + GETs knowing every order's real page; and how many pages exist."""
    # The simulator's own order for its list: newest created_on first, then the higher id.
    newest_first = sorted(
        sim.orders, key=lambda order: (order["created_on"], order["order_id"]), reverse=True
    )
    pages_of = [
        index // PAGE_SIZE + 1
        for index, order in enumerate(newest_first)
        if str(order["order_id"]) in open_ids
    ]
    all_pages = math.ceil(len(newest_first) / PAGE_SIZE)
    on_page = Counter(pages_of)
    best = BestPlan(0, len(pages_of))
    left = len(pages_of)
    for pages in range(1, all_pages + 1):
        left -= on_page[pages]
        if pages + left < best.pages + best.gets:
            best = BestPlan(pages, left)
    return best, all_pages


async def check_refreshed(sim: QikinkSimulator, open_ids: set[str]) -> list[str]:
    """What the refresh left wrong: every open mapping must now say what Qikink says."""
    problems = []
    rows = await OrderMapping.all().values_list(
        "qikink_order_id", "status", "qikink_status", "tracking_number", "last_synced_at"
    )
    stale = wrong = finals_touched = 0
    for qikink_id, status, qikink_status, tracking, synced in rows:
        if qikink_id not in open_ids:
            finals_touched += int(status != OrderMappingStatus.COMPLETED or synced is not None)
            continue
        order = sim.order(int(qikink_id))
        assert order is not None
        if synced is None:
            stale += 1
        elif (
            status != map_status(order["status"])
            or qikink_status != order["status"]
            or tracking != order["shipping"]["awb"]
        ):
            wrong += 1
    if stale:
        problems.append(f"{stale} open mapping(s) never refreshed")
    if wrong:
        problems.append(f"{wrong} open mapping(s) disagree with the simulator")
    if finals_touched:
        problems.append(f"{finals_touched} final mapping(s) touched")
    return problems


async def run(backend: str, workdir: Path, scenario: Scenario) -> Outcome:
    layout = scenario.layout()
    sim = QikinkSimulator(rate_limit_per_minute=0)
    with SimulatorServer(sim) as server:
        async with fresh_database(backend, workdir, f"refresh_{scenario.name}") as database_url:
            await db.connect_db(database_url)
            http = build_http_client(20)
            try:
                started = time.perf_counter()
                open_ids = await seed(sim, layout)
                seed_seconds = time.perf_counter() - started
                best, all_pages = best_plan(sim, open_ids)
                client = QikinkClient(
                    http,
                    api_url=server.url,
                    client_id=sim.client_id,
                    client_secret=sim.client_secret,
                    rate_limit_per_minute=0,
                    postgres=db.is_postgres(database_url),
                )
                before = len(sim.requests)
                started = time.perf_counter()
                result = await refresh_order_mappings(client, limit=LIMIT, wait=True)
                wall = time.perf_counter() - started
                requests = sim.requests[before:]
                problems = await check_refreshed(sim, open_ids)
            finally:
                await http.aclose()
                await db.close_db()

    calls = Counter(request.endpoint for request in requests)
    failed = sum(request.outcome != "ok" for request in requests)
    if failed:
        problems.append(f"{failed} Qikink call(s) did not succeed")
    if result.processed != len(open_ids) or result.total_eligible != len(open_ids):
        problems.append(
            f"processed {result.processed} of {result.total_eligible} eligible, "
            f"expected {len(open_ids)} of {len(open_ids)}"
        )
    if result.qikink_calls + calls["token"] != sum(calls.values()):
        problems.append(
            f"the refresh counted {result.qikink_calls} call(s) besides the token, "
            f"the simulator saw {sum(calls.values()) - calls['token']}"
        )
    outcome = Outcome(
        scenario,
        len(layout),
        len(open_ids),
        calls,
        result,
        best,
        all_pages,
        seed_seconds,
        wall,
        problems,
    )
    if scenario.max_calls is not None and outcome.total_calls > scenario.max_calls:
        problems.append(f"{outcome.total_calls} calls (bar {scenario.max_calls})")
    if scenario.max_ratio is not None and outcome.ratio > scenario.max_ratio:
        problems.append(f"{outcome.ratio:.2f} x the best plan (bar {scenario.max_ratio:.2f})")
    return outcome


def _row(outcome: Outcome) -> tuple[str, ...]:
    plan = outcome.result.plan
    return (
        outcome.scenario.name,
        str(outcome.orders),
        str(outcome.eligible),
        str(outcome.result.updated),
        str(outcome.total_calls),
        ", ".join(f"{name}={count}" for name, count in sorted(outcome.calls.items())),
        f"{plan.pages} + {plan.gets}",
        f"{plan.pages_walked} + {plan.gets_made}",
        f"{outcome.best.calls} ({outcome.best.pages} + {outcome.best.gets})",
        f"{outcome.ratio:.2f}",
        str(outcome.all_pages + 1),
        str(outcome.eligible + 1),
        f"{outcome.seed_seconds:.2f} s",
        f"{outcome.wall:.2f} s",
        outcome.scenario.bar,
        "ok" if not outcome.problems else "FAILED",
    )


def report(outcomes: list[Outcome]) -> None:
    header = (
        "scenario",
        "orders",
        "eligible",
        "updated",
        "calls",
        "by endpoint",
        "planned p + GETs",
        "made p + GETs",
        "best (p + GETs)",
        "ratio",
        "walk all",
        "GET all",
        "seed",
        "wall",
        "bar",
        "verdict",
    )
    table = [header, *(_row(outcome) for outcome in outcomes)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print(("  " + "  ".join(cells)).rstrip())
    for outcome in outcomes:
        if outcome.problems:
            print(f"  {outcome.scenario.name}: " + "; ".join(outcome.problems))


async def bench(args: argparse.Namespace) -> bool:
    print(
        f"backend {args.database}: refresh_order_mappings(limit={LIMIT}, wait=True), rate "
        "limits off (budget 0, simulator 0); every call count includes the token, "
        "p = list pages"
    )
    with tempfile.TemporaryDirectory(prefix="qkg-bench-") as tmp:
        outcomes = [await run(args.database, Path(tmp), SCENARIOS[name]) for name in args.scenario]
    report(outcomes)
    passed = sum(not outcome.problems for outcome in outcomes)
    print(f"  {passed} of {len(outcomes)} scenario(s) passed")
    return passed == len(outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--scenario",
        choices=list(SCENARIOS),
        action="append",
        help="run only this scenario (repeatable; default: all)",
    )
    args = parser.parse_args()
    args.scenario = args.scenario or list(SCENARIOS)
    logging.basicConfig(level=logging.WARNING)
    sys.exit(0 if asyncio.run(bench(args)) else 1)


if __name__ == "__main__":
    main()
