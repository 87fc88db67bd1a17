"""A sale day: paid orders arriving while the status sync waits on a full Qikink budget.

Run from the project root (about six minutes per backend with the defaults: two syncs of a
little over two minutes each, and a quiet minute between them):

    .venv/bin/python bench/sale_day.py                       # SQLite, a temp file
    .venv/bin/python bench/sale_day.py --database postgres   # a throwaway PG database

Qikink is the simulator on a real port (in this process's thread), limited to `--budget`
requests a minute and taking `--latency` seconds for every reply. It holds `--orders` open
orders, one a minute, the newest just before now (every 5th Printed, every 7th In-Transit with
an AWB); each has a SUBMITTED mapping made at the order's time, and one variant is mapped to a
SKU so paid orders have an item to print. `qikink-graphql serve` (one worker, its periodic sync
off) takes the paid orders; `qikink-graphql sync`, a process of its own on the same database,
is the sync under test: it shares the budget with the service through the database and waits
for it, and may hold at most the budget minus the reserve (a fifth) of any 60 s window.

- run 1, the sync alone: its wall time. Then every mapping goes back to its seeded state and
  the bench waits until Qikink has seen nothing for over a minute, so run 2 starts the same;
- run 2, the sync with paid orders: `--arrive-after` seconds after the sync started (its share
  of the window is spent by then), `--paid` `submitStoreOrder` mutations arrive at once.

It prints each paid order's wait, from its `submitStoreOrder` answer to its create reaching
Qikink and to the mapping reading SUBMITTED (min, median, max); how full the window was when
they arrived; the sync's wall time alone and with the orders; the calls per lane (the
service's /metrics, the sync's own count, the simulator's log); the most requests Qikink saw
in any 60 s window; and one verdict per bar item. The exit code is 0 only if all are met,
and the scenario was the one described: the sync's share of the window spent when the orders
arrived, and the service and both syncs started from the same source (a digest of it on disk).

The bar (defaults: 1,200 open orders, budget 60 a minute, 200 ms latency, 10 orders arriving
20 s into the sync): every paid order SUBMITTED within 5 s of arriving; the sync takes at most
1.3 times as long as alone; Qikink never sees more than the budget in any 60 s window.

Its parts: `sale_day_setup.py` (the seed and the service's settings), `sale_day_sync.py` (the
sync's process and the source it ran), `sale_day_orders.py` (the paid orders) and
`sale_day_report.py` (the figures and the verdicts).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path

import httpx
from common import fresh_database
from sale_day_orders import WATCH_SECONDS, match_creates, paid_orders, submit, watch_until_submitted
from sale_day_report import in_window, report, service_calls
from sale_day_setup import JWT_SECRET, reset_mappings, seed, service_env, sync_reserve
from sale_day_sync import SyncRun, code_digest, run_sync, wait_for_empty_window

from simulator import QikinkSimulator, SimulatorServer
from tests.graphql_client import make_jwt
from tests.live_server import LiveServer, tail


async def bench(args: argparse.Namespace) -> bool:
    reserve = sync_reserve(args.budget)
    cap = args.budget - reserve
    print(
        f"backend {args.database}: {args.orders} open orders, budget {args.budget}/min "
        f"(the sync at most {cap} of any window, {reserve} reserved), Qikink latency "
        f"{args.latency * 1000:.0f} ms; {args.paid} paid orders {args.arrive_after:.0f} s "
        "into the second sync"
    )
    with tempfile.TemporaryDirectory(prefix="qkg-bench-sale-day-") as tmp:
        workdir = Path(tmp)
        for name in ("service", "sync"):
            (workdir / name).mkdir()
        sim = QikinkSimulator(rate_limit_per_minute=args.budget, latency_seconds=args.latency)
        async with fresh_database(args.database, workdir, "sale_day") as database_url:
            with SimulatorServer(sim) as qikink:
                seeding = time.perf_counter()
                await seed(database_url, sim, args.orders)
                print(f"  seeded in {time.perf_counter() - seeding:.1f} s")
                server = LiveServer(
                    workdir / "service", service_env(database_url, qikink, args.budget)
                )
                service_code = code_digest()
                with server:
                    try:
                        return await scenario(
                            args, server, sim, database_url, workdir, cap, service_code
                        )
                    except Exception:
                        print(f"\nthe service's log, last lines:\n{tail(server.log_path, 40)}")
                        raise


async def scenario(
    args: argparse.Namespace,
    server: LiveServer,
    sim: QikinkSimulator,
    database_url: str,
    workdir: Path,
    cap: int,
    service_code: str,
) -> bool:
    # The same scrubbed environment as the service's, so both share one budget and token.
    sync_env = {**server.env, "COLUMNS": "160"}
    admin = {"authorization": f"Bearer {make_jwt(JWT_SECRET, expires_in=6 * 3600)}"}
    async with httpx.AsyncClient(base_url=server.url, headers=admin, timeout=60) as http:
        print("\nrun 1: the sync alone")
        alone = await run_sync(SyncRun("alone"), sync_env, workdir / "sync", args.sync_timeout)
        if alone.returncode != 0:
            raise RuntimeError(f"the sync alone exited with {alone.returncode}")
        run1_requests = [r for r in list(sim.requests) if r.at >= alone.started_at]
        print(f"  reset {await reset_mappings(database_url)} mappings to their seeded state")
        await wait_for_empty_window(sim)

        print("\nrun 2: the sync with paid orders")
        service_before = await service_calls(http)
        requests_before = len(sim.requests)
        orders = paid_orders(args.paid)
        run = SyncRun("with orders")
        sync = asyncio.create_task(run_sync(run, sync_env, workdir / "sync", args.sync_timeout))
        try:
            await run.spawned.wait()
            await asyncio.sleep(max(0.0, run.started_at + args.arrive_after - time.time()))
            arrival = time.time()
            filled = in_window(list(sim.requests), arrival)
            sync_done_first = sync.done()
            await asyncio.gather(*(submit(http, order) for order in orders))
            print(f"  {len(orders)} paid orders answered; {filled} Qikink calls in the window")
            await watch_until_submitted(http, orders, WATCH_SECONDS)
            pending = sum(order.status == "PENDING" for order in orders)
            print(
                f"  {pending} paid orders still PENDING after {WATCH_SECONDS:.0f} s"
                if pending
                else "  every paid order has left PENDING"
            )
            with_orders = await sync
        finally:
            if not sync.done():
                sync.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sync
        if with_orders.returncode != 0:
            raise RuntimeError(f"the sync with orders exited with {with_orders.returncode}")
        service = await service_calls(http) - service_before
        run2_requests = list(sim.requests)[requests_before:]
    match_creates(sim, orders)
    return report(
        args,
        cap,
        sim,
        alone=alone,
        with_orders=with_orders,
        orders=orders,
        filled=filled,
        sync_done_first=sync_done_first,
        run1_requests=run1_requests,
        run2_requests=run2_requests,
        service=service,
        codes={"service": service_code, "sync alone": alone.code, "sync with orders": run.code},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--orders", type=int, default=1200, help="open orders to sync")
    parser.add_argument("--budget", type=int, default=60, help="Qikink calls a minute")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds a Qikink reply takes")
    parser.add_argument("--paid", type=int, default=10, help="paid orders arriving")
    parser.add_argument(
        "--arrive-after", type=float, default=20.0, help="seconds into the second sync"
    )
    parser.add_argument(
        "--sync-timeout", type=float, default=1800.0, help="seconds a sync may take at most"
    )
    args = parser.parse_args()
    if args.budget < 2:
        parser.error("--budget must be at least 2: the sync needs a share and a reserve")
    if args.orders < 1 or args.paid < 1:
        parser.error("--orders and --paid must be at least 1")
    # Lines as they come, also into a pipe or a file: a run takes minutes.
    sys.stdout.reconfigure(line_buffering=True)
    try:
        ok = asyncio.run(bench(args))
    except KeyboardInterrupt:
        print("\ninterrupted; everything started was stopped", file=sys.stderr)
        sys.exit(130)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
