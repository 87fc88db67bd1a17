"""What bench/sale_day.py prints: each paid order's wait, the calls per lane, the fullest 60 s
window at Qikink, and one verdict per bar item."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from typing import TYPE_CHECKING

from common import print_table
from sale_day_setup import METRICS_TOKEN

from models import OrderMappingStatus
from services.qikink.budget import WINDOW_SECONDS

if TYPE_CHECKING:
    import argparse

    import httpx
    from sale_day_orders import PaidOrder
    from sale_day_sync import SyncRun

    from simulator import QikinkSimulator, SimRequest

WAIT_BAR_SECONDS = 5.0
SLOWDOWN_BAR = 1.3
METRIC_LINE = re.compile(r"^qikink_calls_total\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)$", re.M)


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
