"""Fifty store orders at once against a budget of 30 Qikink calls a minute: throughput and use.

Run from the project root (one to two minutes per backend, by nature: 51 calls at 30 a minute):

    .venv/bin/python bench/submission.py                       # SQLite, a temp file
    .venv/bin/python bench/submission.py --database postgres   # a throwaway PG database

A `SubmissionWorker` runs in this process, as `serve` runs it, with the settings' defaults and
a budget of 30 calls a rolling minute; the simulator (on a real port, in a thread) enforces its
own 30 a minute. `--orders` store orders are queued at once (concurrent `submit_store_order`)
and the worker is woken, as the GraphQL mutation does. The bench waits until every mapping is
done and prints:

- orders, Qikink calls by endpoint (token + creates + anything else), calls refused by the
  simulator for rate (must be 0: our budget refuses first), duplicates in the simulator (0);
- wall time from queueing to the last mapping done, and orders per minute;
- budget use while work was waiting (from queueing until the last create left), two ways:
  calls / (budget x minutes waited), which a rolling window lets exceed 100% (a full minute's
  calls may go at once at the start), and the mean share of the rolling window's slots in use
  over that time, which a worker that never idles with work waiting keeps near 100%;
- when the last call went against the earliest Qikink's rolling 60 s window allows it (our
  budget keeps `SAFETY_MARGIN_SECONDS` of slack on that window, so expect that much more),
  and the most requests the simulator saw in any 60 s window (never more than the budget);
- on a refusal for rate, how far apart the refused call and the one `budget` calls before it
  were at the simulator and in our budget.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from common import fresh_database

from config import load_settings
from models import OrderMapping, ProductMapping, QikinkCall, SubmitState
from services.orders.outbox import submit_store_order
from services.orders.worker import SubmissionWorker
from services.qikink.budget import SAFETY_MARGIN_SECONDS
from simulator import QikinkSimulator, SimulatorServer
from tests.qikink_process import connected_qikink_client
from tests.store_order import paid_store_order
from tests.waiting import eventually

# Qikink's window; ours is longer by the budget's safety margin.
WINDOW = 60.0
PREFIX = "BN"
DONE_TIMEOUT = 600.0


def window_occupancy(times: list[float], start: float, end: float, step: float = 0.001) -> float:
    """Mean number of calls in the rolling window (t - 60 s, t] for t over [start, end]."""
    if end <= start:
        return float(bisect.bisect_right(times, start) - bisect.bisect_right(times, start - WINDOW))
    total = 0
    samples = 0
    t = start
    while t <= end:
        total += bisect.bisect_right(times, t) - bisect.bisect_right(times, t - WINDOW)
        samples += 1
        t += step
    return total / samples


async def bench(args: argparse.Namespace) -> bool:
    budget, count = args.budget, args.orders
    # The worker's knobs exactly as `serve` and `qikink-graphql worker` default them.
    defaults = load_settings(env_file=None, app_env="test", database_url="sqlite:///unused.db")
    sim = QikinkSimulator(rate_limit_per_minute=budget)
    with (
        tempfile.TemporaryDirectory(prefix="qkg-bench-") as tmp,
        SimulatorServer(sim) as server,
    ):
        async with (
            fresh_database(args.database, Path(tmp), "submission") as database_url,
            connected_qikink_client(
                database_url,
                api_url=server.url,
                client_id=sim.client_id,
                client_secret=sim.client_secret,
                per_minute=budget,
                http_timeout=defaults.qikink_timeout_seconds,
            ) as client,
        ):
            worker = SubmissionWorker(
                client,
                lease_seconds=defaults.submit_lease_seconds,
                backoff_base=defaults.submit_backoff_base_seconds,
                backoff_max=defaults.submit_backoff_max_seconds,
                poll_seconds=defaults.worker_poll_seconds,
                max_attempts=defaults.submit_max_attempts,
            )
            await ProductMapping.create(
                qikink_sku_id="MVnHs-Wh-S", variant_id="variant_tee_white_s"
            )
            stop = asyncio.Event()
            running = asyncio.create_task(worker.run(stop))
            print(
                f"backend {args.database}: {count} orders queued at once, budget "
                f"{budget}/min, simulator limit {budget}/min, worker as `serve` runs it "
                f"(lease {defaults.submit_lease_seconds:.0f} s, poll "
                f"{defaults.worker_poll_seconds:.0f} s, claims {worker.batch} at a time)"
            )
            started = time.time()
            results = await asyncio.gather(
                *(
                    submit_store_order(
                        paid_store_order(f"order_bench_{i:05d}", str(i)),
                        prefix=PREFIX,
                        on_queued=worker.wake,
                    )
                    for i in range(1, count + 1)
                )
            )
            queued = time.time()
            numbers = [r.mapping.qikink_order_number for r in results if r.mapping]

            async def done_or_stopped() -> bool:
                submitted = OrderMapping.filter(submit_state=SubmitState.DONE)
                return running.done() or await submitted.count() >= count

            await eventually(done_or_stopped, within=DONE_TIMEOUT, every=0.05, fail=False)
            finished = time.time()
            stop.set()
            await running
            states = Counter(await OrderMapping.all().values_list("submit_state", flat=True))
            # When our budget let each call go, to set against when it reached Qikink.
            recorded = [
                at.timestamp()
                for at in await QikinkCall.all().order_by("at").values_list("at", flat=True)
            ]

    requests = list(sim.requests)
    by_endpoint = Counter(f"{r.endpoint}:{r.outcome}" for r in requests)
    refused_for_rate = sum(1 for r in requests if r.outcome == "rate_limited")
    duplicates = sum(1 for n in numbers if len(sim.orders_with_number(n)) > 1)
    missing = sum(1 for n in numbers if not sim.orders_with_number(n))
    duplicate_refusals = sum(1 for r in requests if r.detail and "Duplicate" in r.detail)
    times = sorted(r.at for r in requests)
    creates = sorted(r.at for r in requests if r.endpoint == "create")
    last_create = creates[-1] if creates else queued
    waited = max(last_create - started, 1e-9)
    calls_waiting = sum(1 for t in times if started <= t <= last_create)
    formula = calls_waiting / (budget * waited / 60)
    occupancy = window_occupancy(times, started, last_create) / budget
    earliest_last = WINDOW * ((len(times) - 1) // budget)
    wall = finished - started

    rows = [
        ("orders", f"{count} ({dict(states)})"),
        (
            "Qikink calls",
            f"{len(requests)}: " + ", ".join(f"{k}={v}" for k, v in sorted(by_endpoint.items())),
        ),
        ("refused for rate by the simulator", str(refused_for_rate)),
        (
            "duplicates in the simulator",
            f"{duplicates} (missing {missing}, 'Duplicate Order.' refusals {duplicate_refusals})",
        ),
        ("our budget made the worker wait", f"{client.budget.waits} times"),
        ("queueing the orders took", f"{(queued - started) * 1000:.0f} ms"),
        ("wall time, queue to last mapping done", f"{wall:.1f} s"),
        ("orders per minute", f"{count / (wall / 60):.1f} (budget {budget} calls a minute)"),
        ("work waiting (queue to last create)", f"{waited:.1f} s"),
        (
            "calls / (budget x minutes waiting)",
            f"{calls_waiting} / ({budget} x {waited / 60:.3f}) = {formula:.0%}"
            " (a rolling window lets a full minute's calls go at once)",
        ),
        ("mean rolling-window slots in use while waiting", f"{occupancy:.1%} of {budget}"),
        (
            "last call vs the earliest Qikink's window allows",
            f"{last_create - started:.2f} s vs {earliest_last:.0f} s "
            f"(+{last_create - started - earliest_last:.2f} s; our budget's slack "
            f"{SAFETY_MARGIN_SECONDS:.0f} s)",
        ),
        ("max requests in any 60 s window", str(sim.max_requests_in_window(WINDOW))),
    ]
    refused = next((i for i, r in enumerate(requests) if r.outcome == "rate_limited"), None)
    if refused is not None and refused >= budget and len(recorded) > refused:
        # Up to the first refusal our budget's rows and the simulator's log pair one to one.
        earlier = refused - budget
        rows.append(
            (
                f"first refusal: call {refused + 1} vs call {earlier + 1}",
                f"{requests[refused].at - requests[earlier].at:.4f} s apart at the simulator, "
                f"{recorded[refused] - recorded[earlier]:.4f} s apart in our budget; "
                f"budget-to-arrival {(requests[earlier].at - recorded[earlier]) * 1000:.1f} ms "
                f"vs {(requests[refused].at - recorded[refused]) * 1000:.1f} ms",
            )
        )
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")

    problems = []
    if states.get(SubmitState.DONE, 0) != count:
        problems.append("not every order was submitted")
    if refused_for_rate:
        problems.append("the simulator refused calls for rate")
    if duplicates or missing or duplicate_refusals:
        problems.append("an order reached Qikink other than exactly once")
    if occupancy < 0.9:
        problems.append("less than 90% of the budget was used while work waited")
    if sim.max_requests_in_window(WINDOW) > budget:
        problems.append("more than the budget went out in one window")
    print("  verdict: " + ("; ".join(problems) if problems else "ok"))
    return not problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--budget", type=int, default=30, help="calls a minute, ours and Qikink's")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sys.exit(0 if asyncio.run(bench(args)) else 1)


if __name__ == "__main__":
    main()
