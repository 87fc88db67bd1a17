"""Qikink's progress written back to the Medusa order: one fulfillment, its shipment, delivery.

Against a fake Medusa that keeps Medusa's rules (no more items fulfilled than ordered, one
shipment a fulfillment, its refusal texts) and can lose a reply after doing the work. The
order holds a tee Qikink prints and a cap it does not; Qikink is the simulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from models import MedusaSyncedState, OrderMapping, OrderMappingStatus, ProductMapping
from services.medusa.client import MedusaClient, submit_medusa_order
from services.medusa.write_back import FulfillmentWriter
from services.orders.outbox import cancel_store_order
from services.orders.sync import refresh_order_mappings
from services.orders.worker import SubmissionWorker
from tests.test_medusa import NOW

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from services.qikink.client import QikinkClient
    from simulator import AppServer, ManualClock, SimulatorServer
    from tests.fake_medusa import FakeMedusa

CAP = {
    "id": "item_cap",
    "variant_id": "variant_cap",
    "variant_sku": "CAP",
    "title": "Cap",
    "quantity": 1,
    "unit_price": 299,
}
LINK = "https://courierupdates.com/?awb=AWB0001"


class Store:
    """Medusa (fake), Qikink (simulator), a submission worker and the write-back, step by step."""

    def __init__(
        self,
        fake: FakeMedusa,
        medusa: MedusaClient,
        qikink: QikinkClient,
        sim: Any,
        clock: ManualClock,
        **writer: Any,
    ) -> None:
        self.fake = fake
        self.medusa = medusa
        self.qikink = qikink
        self.sim = sim
        self.clock = clock
        self.worker = SubmissionWorker(qikink, clock=clock, canceled_in_store=medusa.is_canceled)
        self.writer = FulfillmentWriter(
            medusa, backoff_base=1, backoff_max=2, clock=clock, **writer
        )

    async def place(self, order_id: str, display_id: int, *, send: bool = True) -> OrderMapping:
        self.fake.place(order_id, created_at=NOW, display_id=display_id, extra_items=(CAP,))
        result = await submit_medusa_order(self.medusa, order_id, prefix="MD", clock=self.clock)
        assert result.mapping is not None
        if not send:
            return result.mapping
        await self.worker.run_once()
        await result.mapping.refresh_from_db()
        assert result.mapping.qikink_order_id is not None
        return result.mapping

    async def qikink_moves(self, row: OrderMapping, status: str, **shipping: Any) -> None:
        self.sim.advance(int(row.qikink_order_id or 0), status, **shipping)
        await refresh_order_mappings(self.qikink)

    async def write(self) -> None:
        """A write-back pass, then one more once any retry is due."""
        await self.writer.run_once()
        self.clock.advance(3)
        await self.writer.run_once()

    def fulfillments(self, order_id: str) -> list[dict[str, Any]]:
        fulfillments: list[dict[str, Any]] = self.fake.orders[order_id]["fulfillments"]
        return fulfillments

    def events(self, name: str) -> int:
        return sum(1 for event, _ in self.fake.events if event == name)


@pytest.fixture
async def store_factory(
    connected_db: str,
    sim_server: SimulatorServer,
    fake_medusa: tuple[FakeMedusa, AppServer],
    make_qikink_client: Callable[..., QikinkClient],
    clock: ManualClock,
) -> AsyncIterator[Callable[..., Store]]:
    fake, server = fake_medusa
    sim_server.sim.rate_limit_per_minute = 0
    await ProductMapping.create(qikink_sku_id="MVnHs-Wh-S", variant_id="variant_tee")
    async with httpx.AsyncClient(timeout=5) as http:
        client = MedusaClient(http, base_url=server.url, api_key=fake.api_key)

        def make(**writer: Any) -> Store:
            qikink = make_qikink_client(per_minute=0)
            return Store(fake, client, qikink, sim_server.sim, clock, **writer)

        yield make


@pytest.fixture
def store(store_factory: Callable[..., Store]) -> Store:
    return store_factory()


async def test_a_shipped_order_becomes_one_shipped_fulfillment_of_the_printed_items(
    store: Store,
) -> None:
    row = await store.place("order_01", 11)
    await store.write()
    assert store.fulfillments("order_01") == []  # SUBMITTED: nothing to show yet
    await store.qikink_moves(row, "In-Transit", awb="AWB0001", tracking_link=LINK)
    await store.write()
    [fulfillment] = store.fulfillments("order_01")
    assert [(i["line_item_id"], i["quantity"]) for i in fulfillment["items"]] == [
        ("item_order_01", 1)
    ]
    assert fulfillment["shipped_at"] is not None
    assert fulfillment["labels"] == [
        {"tracking_number": "AWB0001", "tracking_url": LINK, "label_url": LINK}
    ]
    await row.refresh_from_db()
    assert (row.medusa_synced_state, row.medusa_fulfillment_id) == (
        MedusaSyncedState.SHIPPED,
        fulfillment["id"],
    )
    assert row.medusa_sync_due_at is None
    await store.qikink_moves(row, "Delivered")
    await store.write()
    assert store.fulfillments("order_01")[0]["delivered_at"] is not None
    await row.refresh_from_db()
    assert row.medusa_synced_state is MedusaSyncedState.DELIVERED
    assert (store.events("shipment.created"), store.events("delivery.created")) == (1, 1)


async def test_every_step_retried_after_a_lost_reply_adopts_instead_of_repeating(
    store: Store,
) -> None:
    row = await store.place("order_02", 12)
    await store.qikink_moves(row, "In-Transit", awb="AWB0001", tracking_link=LINK)
    # The fulfillment is made but its reply lost: the retry finds it and ships it; that
    # reply is lost too: the next pass finds it shipped.
    store.fake.lose_next_reply = True
    await store.writer.run_once()
    await row.refresh_from_db()
    assert row.medusa_synced_state is MedusaSyncedState.NONE
    assert row.medusa_sync_attempts == 1
    assert len(store.fulfillments("order_02")) == 1
    store.fake.lose_next_reply = True
    store.clock.advance(3)
    await store.writer.run_once()
    store.clock.advance(3)
    await store.writer.run_once()
    await row.refresh_from_db()
    assert row.medusa_synced_state is MedusaSyncedState.SHIPPED
    await store.qikink_moves(row, "Delivered")
    store.fake.lose_next_reply = True
    await store.write()
    await row.refresh_from_db()
    assert row.medusa_synced_state is MedusaSyncedState.DELIVERED
    assert len(store.fulfillments("order_02")) == 1
    assert (store.events("shipment.created"), store.events("delivery.created")) == (1, 1)
    # A mapping that forgot what it wrote (a crash before it was stored) asks again: the
    # order as Medusa has it answers, and nothing is written twice.
    await OrderMapping.filter(id=row.id).update(
        medusa_synced_state=MedusaSyncedState.NONE, medusa_fulfillment_id=None
    )
    await OrderMapping.filter(id=row.id).update(medusa_sync_due_at=row.created_at)
    await store.write()
    await row.refresh_from_db()
    assert row.medusa_synced_state is MedusaSyncedState.DELIVERED
    assert len(store.fulfillments("order_02")) == 1
    assert store.events("shipment.created") == 1


async def test_a_refusal_is_kept_in_medusas_words_and_other_orders_go_on(store: Store) -> None:
    refused = await store.place("order_03", 13)
    other = await store.place("order_04", 14)
    for row in (refused, other):
        await store.qikink_moves(row, "In-Transit", awb="AWB0001", tracking_link=LINK)
    store.fake.refuse_next = "Shipping profile mismatch: the item cannot ship from here"
    await store.write()
    await refused.refresh_from_db()
    await other.refresh_from_db()
    assert refused.medusa_sync_error == "Shipping profile mismatch: the item cannot ship from here"
    assert refused.medusa_synced_state is MedusaSyncedState.NONE
    assert refused.medusa_sync_due_at is None  # not retried until something changes
    assert other.medusa_synced_state is MedusaSyncedState.SHIPPED
    assert other.medusa_sync_error is None
    # The next change Qikink reports tries again, and a success clears the error.
    await store.qikink_moves(refused, "Delivered")
    await store.write()
    await refused.refresh_from_db()
    assert refused.medusa_synced_state is MedusaSyncedState.DELIVERED
    assert refused.medusa_sync_error is None


async def test_an_order_canceled_in_the_store_is_not_fulfilled(store: Store) -> None:
    row = await store.place("order_05", 15)
    await cancel_store_order("order_05")
    await store.qikink_moves(row, "In-Transit", awb="AWB0001", tracking_link=LINK)
    await store.write()
    assert store.fulfillments("order_05") == []
    assert not [r for r in store.fake.requests if r.startswith("POST")]


async def test_the_merchant_can_fulfill_when_qikink_starts_printing(
    store_factory: Callable[..., Store],
) -> None:
    store = store_factory(fulfill_at="IN_PRODUCTION", location_id="sloc_qikink")
    row = await store.place("order_06", 16)
    await store.qikink_moves(row, "Printed")
    await store.write()
    [fulfillment] = store.fulfillments("order_06")
    assert fulfillment["location_id"] == "sloc_qikink"
    assert fulfillment["shipped_at"] is None
    await row.refresh_from_db()
    assert row.medusa_synced_state is MedusaSyncedState.FULFILLED


async def test_an_order_canceled_while_its_event_was_lost_is_not_sent(store: Store) -> None:
    row = await store.place("order_07", 17, send=False)
    # Canceled in Medusa while this service was down: no cancelMedusaOrder ever came.
    store.fake.cancel("order_07", at=NOW)
    await store.worker.run_once()
    await row.refresh_from_db()
    assert (row.status, row.cancel_requested) == (OrderMappingStatus.CANCELED, True)
    assert row.qikink_order_id is None
    assert store.sim.orders == []


async def test_a_tracking_link_that_is_no_web_address_never_reaches_the_medusa_shipment(
    store: Store,
) -> None:
    row = await store.place("order_01", 11)
    # Stored before links were checked; Qikink now sends none.
    await OrderMapping.filter(id=row.id).update(tracking_url="javascript:alert(1)")
    await store.qikink_moves(row, "In-Transit", awb="AWB0001", tracking_link="javascript:void(0)")
    await store.write()
    [fulfillment] = store.fulfillments("order_01")
    assert fulfillment["labels"] == [
        {"tracking_number": "AWB0001", "tracking_url": "", "label_url": ""}
    ]
