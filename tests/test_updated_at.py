"""`updatedAt` moves whenever the service changes a mapping, as a client polling for changes
expects: the worker's submission, the sync's status and tracking, a cancellation."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from tests.graphql_client import gql
from tests.test_orders import ADMIN, Shop, order, shop

if TYPE_CHECKING:
    import httpx

__all__ = ["shop"]  # the fixture, shared with tests/test_orders.py

MAPPING = """query($id: ID!) { qikinkOrderMapping(id: $id) {
  id qikinkOrderId status trackingNumber createdAt updatedAt lastSyncedAt } }"""
LIST = """{ qikinkOrderMappings(order: UPDATED_AT, orderDirection: DESC) {
  nodes { id medusaOrderId updatedAt } } }"""
REFRESH = "mutation { refreshOrderMappings { updated } }"
REFRESH_ONE = "mutation($id: ID!) { refreshOrderMappings(orderId: $id) { updated } }"


async def mapping(http: httpx.AsyncClient, mapping_id: str) -> dict[str, Any]:
    body = await gql(http, MAPPING, {"id": mapping_id}, ADMIN)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["qikinkOrderMapping"]
    for name in ("createdAt", "updatedAt", "lastSyncedAt"):
        found[name] = found[name] and datetime.fromisoformat(found[name])
    return found


async def test_updated_at_moves_with_every_change_the_service_writes(shop: Shop) -> None:
    submitted = (await shop.submit())["mapping"]
    queued = await mapping(shop.http, submitted["id"])

    await shop.work()
    sent = await mapping(shop.http, submitted["id"])
    assert sent["status"] == "SUBMITTED"
    assert sent["updatedAt"] > queued["updatedAt"]

    shop.sim.advance(int(sent["qikinkOrderId"]), "In-Transit", awb="1234567890123")
    refreshed = await gql(shop.http, REFRESH, headers=ADMIN)
    assert refreshed["data"]["refreshOrderMappings"]["updated"] == 1
    shipped = await mapping(shop.http, submitted["id"])
    assert (shipped["status"], shipped["trackingNumber"]) == ("SHIPPED", "1234567890123")
    assert shipped["updatedAt"] > sent["updatedAt"]


async def test_the_order_changed_last_comes_first_by_updated_at(shop: Shop) -> None:
    ids = ["order_first", "order_middle", "order_last"]
    for number, order_id in enumerate(ids, start=1):
        await shop.submit(order(id=order_id, displayId=str(number)))
    await shop.work()
    await gql(shop.http, REFRESH, headers=ADMIN)
    before = {n["medusaOrderId"]: n for n in await listed(shop.http)}

    # Qikink moves the middle order alone, and only that order is refreshed.
    middle = await mapping(shop.http, before["order_middle"]["id"])
    shop.sim.advance(int(middle["qikinkOrderId"]), "Printed")
    one = await gql(shop.http, REFRESH_ONE, {"id": middle["qikinkOrderId"]}, ADMIN)
    assert one["data"]["refreshOrderMappings"] == {"updated": 1}
    after = await listed(shop.http)

    assert after[0]["medusaOrderId"] == "order_middle"
    assert after[0]["updatedAt"] > before["order_middle"]["updatedAt"]
    # The others were not written: their updatedAt stands.
    assert {n["medusaOrderId"]: n["updatedAt"] for n in after[1:]} == {
        order_id: before[order_id]["updatedAt"] for order_id in ("order_first", "order_last")
    }


async def listed(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    body = await gql(http, LIST, headers=ADMIN)
    assert "errors" not in body, body
    nodes: list[dict[str, Any]] = body["data"]["qikinkOrderMappings"]["nodes"]
    return nodes
