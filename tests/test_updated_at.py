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
  nodes { medusaOrderId updatedAt } } }"""
REFRESH = "mutation { refreshOrderMappings { updated } }"


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
    first = (await shop.submit(order(id="order_first", displayId="1")))["mapping"]
    await shop.submit(order(id="order_second", displayId="2"))
    await shop.work()
    sent = await mapping(shop.http, first["id"])

    # Qikink moves the older order: after the refresh it is the one changed last.
    shop.sim.advance(int(sent["qikinkOrderId"]), "Printed")
    await gql(shop.http, REFRESH, headers=ADMIN)
    listed = (await gql(shop.http, LIST, headers=ADMIN))["data"]["qikinkOrderMappings"]["nodes"]

    assert [node["medusaOrderId"] for node in listed] == ["order_first", "order_second"]
