"""An order the store canceled: never sent when Qikink does not have it yet, flagged when it does.

Qikink has no cancel API (its dashboard cancels while an order is On Hold, Live or Live OOS), so
the one thing this service can guarantee is that a canceled order it has not sent yet is never
sent, even while a worker holds its claim; the database decides the race.
"""

from __future__ import annotations

import asyncio
from typing import Any

from models import OrderMapping, OrderMappingStatus, SubmitState
from services.orders.outbox import NEVER_SENT, CancelOutcome, cancel_store_order
from services.orders.sync import refresh_order_mappings
from tests.graphql_client import codes, gql
from tests.test_orders import ADMIN, RETRY, Shop, order, shop

# The fixture, shared with the submission tests.
__all__ = ["shop"]

CANCEL = """mutation($id: ID!) { cancelMedusaOrder(orderId: $id) {
  outcome mapping { id status cancelRequested qikinkOrderId lastError } } }"""


async def cancel(shop: Shop, order_id: str) -> dict[str, Any]:
    body = await gql(shop.http, CANCEL, {"id": order_id}, ADMIN)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["cancelMedusaOrder"]
    return result


async def test_a_queued_order_canceled_in_the_store_is_never_sent(shop: Shop) -> None:
    submitted = await shop.submit()
    result = await cancel(shop, submitted["mapping"]["medusaOrderId"])
    assert result["outcome"] == "NEVER_SENT"
    assert result["mapping"]["status"] == "CANCELED"
    assert result["mapping"]["cancelRequested"] is True
    assert result["mapping"]["lastError"] == NEVER_SENT
    await shop.work()
    assert shop.sim.orders == []
    # Nor can it be retried by mistake.
    retried = await gql(shop.http, RETRY, {"id": submitted["mapping"]["id"]}, ADMIN)
    assert codes(retried) == ["CONFLICT"]
    assert "canceled in the store" in retried["errors"][0]["message"]
    # The store's placed event coming late changes nothing either.
    again = await shop.submit()
    assert again["mapping"]["status"] == "CANCELED"
    await shop.work()
    assert shop.sim.orders == []


async def test_a_sent_order_is_flagged_to_cancel_on_qikinks_dashboard(shop: Shop) -> None:
    submitted = await shop.submit()
    await shop.work()
    result = await cancel(shop, submitted["mapping"]["medusaOrderId"])
    assert result["outcome"] == "CANCEL_ON_QIKINK"
    assert (result["mapping"]["status"], result["mapping"]["cancelRequested"]) == (
        "SUBMITTED",
        True,
    )
    # The merchant cancels it on Qikink's dashboard; the next sync sees it.
    [qikink_order] = shop.sim.orders
    shop.sim.advance(qikink_order["order_id"], "Cancelled")
    await refresh_order_mappings(shop.worker.client)
    row = await OrderMapping.get(id=submitted["mapping"]["id"])
    assert (row.status, row.cancel_requested) == (OrderMappingStatus.CANCELED, True)
    again = await cancel(shop, submitted["mapping"]["medusaOrderId"])
    assert again["outcome"] == "ALREADY_FINAL"


async def test_an_order_that_was_never_ours_is_said_so(shop: Shop) -> None:
    result = await cancel(shop, "order_01JNOTOURS00000000000000")
    assert result == {"outcome": "NOT_OURS", "mapping": None}
    anonymous = await gql(shop.http, CANCEL, {"id": "order_01"})
    assert codes(anonymous) == ["UNAUTHENTICATED"]
    empty = await gql(shop.http, CANCEL, {"id": " "}, ADMIN)
    assert codes(empty) == ["BAD_USER_INPUT"]


async def test_a_cancel_after_the_claim_but_before_the_send_stops_the_worker(shop: Shop) -> None:
    submitted = await shop.submit()
    [(row, needs_lookup)] = await shop.worker._claim_some()
    assert row.submit_state is SubmitState.IN_FLIGHT
    outcome, _ = await cancel_store_order(row.medusa_order_id)
    assert outcome is CancelOutcome.DECIDING
    await shop.worker._process(row, needs_lookup)
    await row.refresh_from_db()
    assert (row.status, row.submit_state) == (OrderMappingStatus.CANCELED, SubmitState.FAILED)
    assert shop.sim.orders == []
    assert submitted["mapping"]["id"] == row.id


async def test_a_cancel_racing_the_worker_leaves_exactly_one_outcome_for_each_order(
    shop: Shop,
) -> None:
    ids = []
    for index in range(12):
        placed = await shop.submit(order(id=f"order_01JRACE{index:019d}", displayId=str(index)))
        ids.append(placed["mapping"]["medusaOrderId"])
    # Cancel every order while the worker sends them, interleaved as the event loop decides.
    await asyncio.gather(shop.worker.run_once(), *(cancel_store_order(i) for i in ids))
    await shop.work()
    sent = {o["number"].split("_", 1)[1] for o in shop.sim.orders}
    for row in await OrderMapping.filter(medusa_order_id__in=ids):
        assert row.cancel_requested
        if row.status is OrderMappingStatus.CANCELED:
            assert row.qikink_order_number not in sent
            assert row.qikink_order_id is None
        else:
            assert row.status is OrderMappingStatus.SUBMITTED
            assert row.qikink_order_number in sent
    # Each order number went to Qikink at most once.
    assert len(sent) == len(shop.sim.orders)
