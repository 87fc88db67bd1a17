"""bench/refresh.py's scenarios: the layouts of open, final and outside orders with their bars,
and how one is seeded into the simulator and the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from models import OrderMapping, OrderMappingStatus, SubmitState

if TYPE_CHECKING:
    from collections.abc import Callable

    from simulator import QikinkSimulator

Kind = Literal["open", "final", "outside"]

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
