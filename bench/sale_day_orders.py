"""The paid orders of bench/sale_day.py: sent as `submitStoreOrder`, watched until they leave
PENDING, and matched to the Qikink order each was made into."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sale_day_setup import VARIANT

from models import OrderMappingStatus
from tests.graphql_client import store_order_input
from tests.waiting import eventually

if TYPE_CHECKING:
    import httpx

    from simulator import QikinkSimulator

POLL_SECONDS = 0.1
# The service refuses a document of more than 15 aliases (schema/documents.py).
ORDERS_PER_POLL = 10
# Long enough to tell an order that waited for the budget's window from one never sent.
WATCH_SECONDS = 300.0
SUBMIT = """mutation($order: StoreOrderInput!) {
  submitStoreOrder(order: $order) {
    skipped reason mapping { medusaOrderId qikinkOrderNumber status } } }"""


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

    async def none_pending() -> bool:
        waiting = [batch for batch in batches if any(o.status == "PENDING" for o in batch)]
        if not waiting:
            return True
        await asyncio.gather(*(poll_statuses(http, batch) for batch in waiting))
        return False

    await eventually(none_pending, within=within, every=POLL_SECONDS, fail=False)


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
