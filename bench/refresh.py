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

Its parts: `refresh_scenarios.py` (the layouts, their bars and the seed) and
`refresh_report.py` (the best plan, the check of every open mapping, the table).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from common import fresh_database
from refresh_report import Outcome, best_plan, check_refreshed, report
from refresh_scenarios import SCENARIOS, Scenario, seed

from services.orders.sync import refresh_order_mappings
from simulator import QikinkSimulator, SimulatorServer
from tests.qikink_process import connected_qikink_client

LIMIT = 1000


async def run(backend: str, workdir: Path, scenario: Scenario) -> Outcome:
    layout = scenario.layout()
    sim = QikinkSimulator(rate_limit_per_minute=0)
    with SimulatorServer(sim) as server:
        async with (
            fresh_database(backend, workdir, f"refresh_{scenario.name}") as database_url,
            connected_qikink_client(
                database_url,
                api_url=server.url,
                client_id=sim.client_id,
                client_secret=sim.client_secret,
                per_minute=0,
            ) as client,
        ):
            started = time.perf_counter()
            open_ids = await seed(sim, layout)
            seed_seconds = time.perf_counter() - started
            best, all_pages = best_plan(sim, open_ids)
            before = len(sim.requests)
            started = time.perf_counter()
            result = await refresh_order_mappings(client, limit=LIMIT, wait=True)
            wall = time.perf_counter() - started
            requests = sim.requests[before:]
            problems = await check_refreshed(sim, open_ids)

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
