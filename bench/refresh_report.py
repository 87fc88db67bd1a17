"""What bench/refresh.py judges and prints: the best plan knowing every order's real page,
whether the refresh left every open mapping as Qikink holds it, and the table of outcomes."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from common import print_table

from models import OrderMapping, OrderMappingStatus
from services.orders.statuses import map_status
from services.qikink.proxy import PAGE_SIZE

if TYPE_CHECKING:
    from refresh_scenarios import Scenario

    from services.orders.sync import RefreshResult
    from simulator import QikinkSimulator


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
    print_table([header, *(_row(outcome) for outcome in outcomes)], indent="  ")
    for outcome in outcomes:
        if outcome.problems:
            print(f"  {outcome.scenario.name}: " + "; ".join(outcome.problems))
