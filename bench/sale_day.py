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
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import re
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from common import PROJECT_ROOT, fresh_database
from tortoise.transactions import in_transaction

from config import load_settings
from models import OrderMapping, OrderMappingStatus, ProductMapping, SubmitState
from services import db
from simulator import QikinkSimulator, SimulatorServer
from tests.graphql_client import make_jwt, store_order_input
from tests.live_server import LiveServer, tail

if TYPE_CHECKING:
    from simulator import SimRequest

JWT_SECRET = "bench-sale-day-" + "x" * 40
METRICS_TOKEN = "bench-sale-day-metrics-" + "m" * 10
SKU = "MVnHs-Wh-S"
VARIANT = "variant_tee_white_s"
WAIT_BAR_SECONDS = 5.0
SLOWDOWN_BAR = 1.3
WINDOW_SECONDS = 60.0
# The budget's window is 60 s plus a second of slack, judged by when a call left; a little
# more lets the last call's own trip pass too, so run 2 finds the window truly empty.
QUIET_SECONDS = 62.0
POLL_SECONDS = 0.1
# The service refuses a document of more than 15 aliases (schema/documents.py).
ORDERS_PER_POLL = 10
# Long enough to tell an order that waited for the budget's window from one never sent.
WATCH_SECONDS = 300.0
SUBMIT = """mutation($order: StoreOrderInput!) {
  submitStoreOrder(order: $order) {
    skipped reason mapping { medusaOrderId qikinkOrderNumber status } } }"""
METRIC_LINE = re.compile(r"^qikink_calls_total\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)$", re.M)
# What the service and the syncs import. Were it edited between their starts, they ran
# different code and the two runs would not compare.
SERVICE_CODE = (
    "app.py",
    "cli.py",
    "config.py",
    "runtime.py",
    "models",
    "resolvers",
    "schema",
    "services",
    "simulator",
)


def cli_executable() -> str:
    # The console script of the virtualenv running the bench, as a merchant runs it.
    beside = Path(sys.executable).with_name("qikink-graphql")
    if beside.exists():
        return str(beside)
    found = shutil.which("qikink-graphql")
    if found is None:
        raise RuntimeError("`qikink-graphql` is not installed: run `make test` or `make run`")
    return found


def code_digest() -> str:
    """A digest of the service's source as it is on disk now."""
    digest = hashlib.sha256()
    for name in SERVICE_CODE:
        path = PROJECT_ROOT / name
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(str(file.relative_to(PROJECT_ROOT)).encode() + b"\0")
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def sync_reserve(budget: int) -> int:
    """The reserve the service and the sync will compute for `budget` (config's rule)."""
    # Explicit values win over the environment, which the processes do not inherit either.
    return load_settings(
        env_file=None, qikink_rate_limit_requests_per_minute=budget, qikink_rate_reserve=None
    ).rate_reserve


# -- the database ------------------------------------------------------------------------------


async def seed(database_url: str, sim: QikinkSimulator, count: int) -> None:
    """`count` open Qikink orders a minute apart, each with its SUBMITTED mapping; one SKU."""
    first = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=count)
    await db.connect_db(database_url)
    try:
        rows = []
        for index in range(count):
            number = f"SD{index:05d}"
            order = sim.add_order(number, created_on=first + timedelta(minutes=index))
            if index % 7 == 6:
                sim.advance(order["order_id"], "In-Transit", awb=f"AWB{index:010d}")
            elif index % 5 == 4:
                sim.advance(order["order_id"], "Printed")
            rows.append(
                OrderMapping(
                    medusa_order_id=f"order_seed_{index:05d}",
                    qikink_order_number=number,
                    qikink_order_id=str(order["order_id"]),
                    status=OrderMappingStatus.SUBMITTED,
                    qikink_status="On Hold",
                    submit_state=SubmitState.DONE,
                )
            )
        await OrderMapping.bulk_create(rows, batch_size=500)
        # Made when their orders were: auto_now_add stamped them now, and the sync's plan
        # reads how far back the oldest mapping goes.
        async with in_transaction() as conn:
            for index in range(count):
                await (
                    OrderMapping.filter(medusa_order_id=f"order_seed_{index:05d}")
                    .using_db(conn)
                    .update(created_at=first + timedelta(minutes=index))
                )
        await ProductMapping.create(qikink_sku_id=SKU, variant_id=VARIANT)
    finally:
        await db.close_db()


async def reset_mappings(database_url: str) -> int:
    """Every mapping as seeded: SUBMITTED, On Hold, never synced, no tracking."""
    await db.connect_db(database_url)
    try:
        return await OrderMapping.all().update(
            status=OrderMappingStatus.SUBMITTED,
            qikink_status="On Hold",
            last_synced_at=None,
            tracking_number=None,
            courier=None,
            tracking_url=None,
        )
    finally:
        await db.close_db()


# -- the sync process --------------------------------------------------------------------------


@dataclass
class SyncRun:
    label: str
    started_at: float = 0.0
    seconds: float = 0.0
    returncode: int | None = None
    code: str = ""
    lines: list[str] = field(default_factory=list)
    spawned: asyncio.Event = field(default_factory=asyncio.Event)

    def reported_calls(self) -> int | None:
        """The Qikink calls the sync says it made (its own count, the token left out)."""
        # Joined first: the terminal width may have wrapped the line anywhere.
        found = re.findall(r"(\d+)\s+Qikink\s+calls", " ".join(self.lines))
        return int(found[-1]) if found else None


async def end_group(process: asyncio.subprocess.Process) -> None:
    """SIGTERM the process group `process` leads, then SIGKILL after a grace."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=10)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


async def run_sync(run: SyncRun, env: dict[str, str], cwd: Path, at_most: float) -> SyncRun:
    """`qikink-graphql sync` to its end, its lines printed as they come."""
    run.code = code_digest()
    started = time.perf_counter()
    run.started_at = time.time()
    process = await asyncio.create_subprocess_exec(
        cli_executable(),
        "sync",
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        # Its own group: a Ctrl-C meant for the bench reaches it only through end_group.
        start_new_session=True,
    )
    run.spawned.set()
    try:
        async with asyncio.timeout(at_most):
            assert process.stdout is not None
            async for raw in process.stdout:
                for line in raw.decode(errors="replace").replace("\r", "\n").splitlines():
                    if line.strip():
                        run.lines.append(line.rstrip())
                        elapsed = time.time() - run.started_at
                        print(f"    sync ({run.label}, {elapsed:5.1f} s) | {line.rstrip()}")
            run.returncode = await process.wait()
        run.seconds = time.perf_counter() - started
    finally:
        await end_group(process)
    return run


# -- the paid orders ---------------------------------------------------------------------------


@dataclass
class PaidOrder:
    medusa_id: str
    display_id: str
    sent_at: float = 0.0
    answered_at: float = 0.0
    number: str | None = None
    error: str | None = None
    status: str = "PENDING"
    submitted_at: float | None = None
    reached_at: float | None = None
    copies_at_qikink: int = 0

    @property
    def to_qikink(self) -> float | None:
        return None if self.reached_at is None else self.reached_at - self.answered_at

    @property
    def to_submitted(self) -> float | None:
        return None if self.submitted_at is None else self.submitted_at - self.answered_at


def paid_orders(count: int) -> list[PaidOrder]:
    run = secrets.token_hex(4).upper()
    return [
        PaidOrder(f"order_01SALEDAY{run}{index:04d}", f"{10001 + index}") for index in range(count)
    ]


async def submit(http: httpx.AsyncClient, order: PaidOrder) -> None:
    variables = {"order": store_order_input(order.medusa_id, order.display_id, VARIANT)}
    order.sent_at = time.time()
    response = await http.post("/graphql", json={"query": SUBMIT, "variables": variables})
    order.answered_at = time.time()
    try:
        body = response.json()
    except ValueError:
        order.error = f"HTTP {response.status_code}: {response.text[:200]}"
        return
    payload = (body.get("data") or {}).get("submitStoreOrder") or {}
    mapping = payload.get("mapping")
    if body.get("errors") or not mapping:
        order.error = str(body.get("errors") or payload)
        return
    order.number = mapping["qikinkOrderNumber"]
    order.status = mapping["status"]
    if order.status == OrderMappingStatus.SUBMITTED:
        order.submitted_at = order.answered_at


def status_query(count: int) -> str:
    """One document reading `count` mappings' status by their store order ids ($o0, $o1...)."""
    names = [f"o{index}" for index in range(count)]
    return (
        "query("
        + ", ".join(f"${name}: ID!" for name in names)
        + ") { "
        + " ".join(f"{name}: qikinkOrderMapping(id: ${name}) {{ status }}" for name in names)
        + " }"
    )


async def poll_statuses(http: httpx.AsyncClient, batch: list[PaidOrder]) -> None:
    variables = {f"o{index}": order.medusa_id for index, order in enumerate(batch)}
    response = await http.post(
        "/graphql", json={"query": status_query(len(batch)), "variables": variables}
    )
    seen_at = time.time()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"reading the paid orders' status failed: {body['errors']}")
    data = body.get("data") or {}
    for index, order in enumerate(batch):
        status = (data.get(f"o{index}") or {}).get("status") or order.status
        if status != "PENDING" and order.status == "PENDING":
            order.status = status
            if status == OrderMappingStatus.SUBMITTED:
                order.submitted_at = seen_at


async def watch_until_submitted(
    http: httpx.AsyncClient, orders: list[PaidOrder], within: float
) -> None:
    """Poll the service (one request per batch of orders) until none reads PENDING."""
    live = [order for order in orders if order.error is None]
    batches = [
        live[start : start + ORDERS_PER_POLL] for start in range(0, len(live), ORDERS_PER_POLL)
    ]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        waiting = [batch for batch in batches if any(o.status == "PENDING" for o in batch)]
        if not waiting:
            return
        await asyncio.gather(*(poll_statuses(http, batch) for batch in waiting))
        await asyncio.sleep(POLL_SECONDS)


def match_creates(sim: QikinkSimulator, orders: list[PaidOrder]) -> None:
    """When each order's create reached Qikink, by the Qikink order made of it."""
    creates = [r for r in list(sim.requests) if r.endpoint == "create" and r.order_id]
    for order in orders:
        if order.number is None:
            continue
        made = sim.orders_with_number(order.number)
        order.copies_at_qikink = len(made)
        ids = {found["order_id"] for found in made}
        arrivals = [r.at for r in creates if r.order_id in ids]
        order.reached_at = min(arrivals) if arrivals else None


# -- what is printed ---------------------------------------------------------------------------


def spread(values: list[float | None]) -> str:
    known = [value for value in values if value is not None]
    missing = len(values) - len(known)
    if not known:
        return f"none of {len(values)}"
    text = (
        f"min {min(known):.2f} s, median {statistics.median(known):.2f} s, max {max(known):.2f} s"
    )
    return text + (f" ({missing} of {len(values)} never)" if missing else "")


def in_window(requests: list[SimRequest], end: float) -> int:
    """Requests Qikink counts in the 60 s before `end` (its limiter's half-open window)."""
    return sum(1 for r in requests if end - WINDOW_SECONDS < r.at <= end)


async def service_calls(http: httpx.AsyncClient) -> Counter[tuple[str, str, str]]:
    """The service's `qikink_calls_total` from /metrics, by (lane, endpoint, outcome)."""
    metrics = {"authorization": f"Bearer {METRICS_TOKEN}"}
    text = (await http.get("/metrics", headers=metrics)).text
    calls: Counter[tuple[str, str, str]] = Counter()
    for match in METRIC_LINE.finditer(text):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        key = (labels.get("lane", "?"), labels.get("endpoint", "?"), labels.get("outcome", "?"))
        calls[key] += round(float(match["value"]))
    return calls


def print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print(("    " + "  ".join(cells)).rstrip())


def lane_table(
    sim_requests: list[SimRequest],
    service: Counter[tuple[str, str, str]],
    sync: SyncRun,
) -> None:
    rows: list[tuple[str, ...]] = [("source", "lane", "endpoint", "outcome", "calls")]
    for (lane, endpoint, outcome), count in sorted(service.items()):
        if count:
            rows.append(("service /metrics", lane, endpoint, outcome, str(count)))
    reported = sync.reported_calls()
    rows.append(("sync (its output)", "sync", "-", "-", "?" if reported is None else str(reported)))
    at_sim = Counter((r.endpoint, r.outcome) for r in sim_requests)
    for (endpoint, outcome), count in sorted(at_sim.items()):
        rows.append(("simulator log", "-", endpoint, outcome, str(count)))
    print_table(rows)
    ours = sum(service.values()) + (reported or 0)
    left = len(sim_requests) - ours
    print(
        f"    simulator total {len(sim_requests)} = service {sum(service.values())} + "
        f"sync {reported if reported is not None else '?'} + {left} more "
        "(the sync leaves its own token mint out of its count)"
    )


# -- the bench ---------------------------------------------------------------------------------


def service_env(database_url: str, qikink: SimulatorServer, budget: int) -> dict[str, str]:
    sim = qikink.sim
    return {
        "DATABASE_URL": database_url,
        "JWT_SECRET": JWT_SECRET,
        "METRICS_TOKEN": METRICS_TOKEN,
        "QIKINK_API_URL": qikink.url,
        "QIKINK_CLIENT_ID": sim.client_id,
        "QIKINK_CLIENT_SECRET": sim.client_secret,
        "QIKINK_RATE_LIMIT_REQUESTS_PER_MINUTE": str(budget),
        # The CLI's sync is the sync under test: the service's own periodic one stays off.
        "SYNC_INTERVAL_SECONDS": "0",
        "WORKER_POLL_SECONDS": "0.2",
    }


async def wait_for_empty_window(sim: QikinkSimulator) -> None:
    announced = False
    while True:
        last = max((r.at for r in list(sim.requests)), default=0.0)
        remaining = last + QUIET_SECONDS - time.time()
        if remaining <= 0:
            return
        if not announced:
            print(f"  waiting {remaining:.0f} s for the budget's window to empty")
            announced = True
        await asyncio.sleep(min(remaining, 5.0))


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


def report(
    args: argparse.Namespace,
    cap: int,
    sim: QikinkSimulator,
    *,
    alone: SyncRun,
    with_orders: SyncRun,
    orders: list[PaidOrder],
    filled: int,
    sync_done_first: bool,
    run1_requests: list[SimRequest],
    run2_requests: list[SimRequest],
    service: Counter[tuple[str, str, str]],
    codes: dict[str, str],
) -> bool:
    print(f"\nresults ({args.database})")
    same_code = len(set(codes.values())) == 1
    print(
        "  the service's source when each process started: "
        + ", ".join(f"{name} {digest}" for name, digest in codes.items())
    )
    failed = [order for order in orders if order.error is not None]
    for order in failed:
        print(f"  {order.medusa_id}: submitStoreOrder failed: {order.error}")
    answer = [order.answered_at - order.sent_at for order in orders]
    print(f"  submitStoreOrder answered: {spread(list(answer))}")
    print(f"  paid order's create reached Qikink after: {spread([o.to_qikink for o in orders])}")
    print(f"  paid order SUBMITTED (service) after:     {spread([o.to_submitted for o in orders])}")
    not_submitted = Counter(o.status for o in orders if o.status != OrderMappingStatus.SUBMITTED)
    if not_submitted:
        print(f"  paid orders not SUBMITTED: {dict(not_submitted)}")
    copies = Counter(order.copies_at_qikink for order in orders)
    print(f"  Qikink orders made per paid order: {dict(sorted(copies.items()))}")
    print(
        f"  Qikink calls in the 60 s before the orders arrived: {filled} "
        f"(the sync's share {cap}, budget {args.budget})"
        + ("; the sync had already ended" if sync_done_first else "")
    )
    ratio = with_orders.seconds / alone.seconds
    print(
        f"  sync alone {alone.seconds:.1f} s, with the orders {with_orders.seconds:.1f} s: "
        f"x{ratio:.2f}"
    )
    print("  run 1, the sync alone:")
    lane_table(run1_requests, Counter(), alone)
    print("  run 2, the sync with paid orders:")
    lane_table(run2_requests, service, with_orders)
    requests = list(sim.requests)
    refused = sum(1 for r in requests if r.outcome == "rate_limited")
    most = sim.max_requests_in_window(WINDOW_SECONDS)
    print(
        f"  most Qikink requests in any 60 s window: {most} (budget {args.budget}); "
        f"refused by Qikink's limiter: {refused}"
    )

    waits = [o.to_submitted for o in orders] + [o.to_qikink for o in orders]
    slowest = max((w for w in waits if w is not None), default=float("nan"))
    all_in = bool(orders) and all(w is not None and w <= WAIT_BAR_SECONDS for w in waits)
    verdicts = [
        (
            "the service and both syncs started from the same source (precondition)",
            same_code,
            "same" if same_code else "edited while the bench ran: the runs do not compare",
        ),
        (
            "the window had filled when the orders arrived (precondition)",
            filled >= cap and not sync_done_first,
            f"{filled} calls in the 60 s before, the sync's share is {cap}",
        ),
        (
            f"every paid order SUBMITTED within {WAIT_BAR_SECONDS:.0f} s",
            all_in and not failed,
            f"slowest {slowest:.2f} s, {sum(o.status == 'SUBMITTED' for o in orders)} of "
            f"{len(orders)} SUBMITTED",
        ),
        (
            "each paid order reached Qikink exactly once",
            all(order.copies_at_qikink == 1 for order in orders),
            f"copies per order {dict(sorted(copies.items()))}",
        ),
        (
            f"the sync at most x{SLOWDOWN_BAR} as long as alone",
            ratio <= SLOWDOWN_BAR,
            f"x{ratio:.2f} ({with_orders.seconds:.1f} s / {alone.seconds:.1f} s)",
        ),
        (
            f"Qikink never saw more than {args.budget} in any 60 s window",
            most <= args.budget and refused == 0,
            f"at most {most}, {refused} refused",
        ),
    ]
    print("\nverdict")
    for label, ok, detail in verdicts:
        print(f"  {label}: {'ok' if ok else 'NOT MET'} ({detail})")
    return all(ok for _, ok, _ in verdicts)


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
