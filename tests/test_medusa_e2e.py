"""End to end against a real Medusa 2.21 backend: storefront checkout -> subscriber -> Qikink,
and back: Qikink's shipping and delivery become the Medusa order's fulfillment; an order
canceled in Medusa before Qikink had it is never sent.

The backend is the project in tests/medusa_backend (npm packages only, from its lock file),
with this project's plugin (medusa-plugin/) built and installed as a merchant installs it (its
subscribers report the orders) and a test-only subscriber that records the events Medusa
emits, on a throwaway database of the suite's PostgreSQL server. This service runs as
`qikink-graphql serve` in its own process against the Qikink simulator. It runs once per
`make test`: on the PostgreSQL pass.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import httpx
import jwt
import pytest

from simulator import QikinkSimulator, SimulatorServer
from tests.conftest import TEST_JWT_SECRET
from tests.markers import postgres_pass
from tests.medusa_e2e import (
    PROJECT,
    MedusaAdmin,
    MedusaBackend,
    ServiceProcess,
    Store,
    checkout,
    install_backend,
    register_customer,
)
from tests.waiting import wait_for

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

QIKINK_SKU = "MVnHs-Wh-S"
AWB = "DLV1234567890"
TRACKING_LINK = f"https://www.delhivery.com/track/package/{AWB}"
RECONCILE_INTERVAL = 2.0
# What the service logs for a sweep that looked at both orders (and found none missed).
LOOKED_AT_BOTH = re.compile(r"sweep: 2 order\(s\) placed since \S+ looked at, 0 missed")

MAPPINGS = """query($id: String!) {
  qikinkOrderMappings(filter: { medusaOrderId: $id }) {
    count nodes { id status medusaOrderId qikinkOrderId qikinkOrderNumber lastError } } }"""


MAPPING_CUSTOMER = "query($id: ID!) { qikinkOrderMapping(id: $id) { customerId email } }"

# What a merchant sees of an order's progress on both sides.
MAPPING_PROGRESS = """query($id: String!) {
  qikinkOrderMappings(filter: { medusaOrderId: $id }) {
    count nodes { id status medusaOrderId qikinkOrderId qikinkOrderNumber trackingNumber
      trackingUrl cancelRequested medusaFulfillmentId medusaSyncedState medusaSyncError
      lastError } } }"""
REFRESH = "mutation($id: ID) { refreshOrderMappings(orderId: $id) { updated processed } }"
# The order as Medusa's admin shows it: its items and every fulfillment with items and labels.
MEDUSA_ORDER_FIELDS = (
    "id,status,fulfillment_status,*items,*fulfillments,*fulfillments.items,*fulfillments.labels"
)
# What the service logs for a sweep after a restart (it runs at start-up).
SWEPT = re.compile(r"sweep: \d+ order\(s\) placed since \S+ looked at, 0 missed")


def test_the_backend_gets_its_qikink_subscribers_from_the_plugin() -> None:
    """No subscriber file is copied by hand: the backend lists the plugin, and its own
    subscribers are the test's event recorder alone."""
    own = sorted(path.name for path in (PROJECT / "src" / "subscribers").iterdir())
    assert own == ["e2e-event-recorder.ts"]
    assert 'resolve: "qikink-graphql-medusa"' in (PROJECT / "medusa-config.ts").read_text()


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorServer]:
    with SimulatorServer(QikinkSimulator()) as server:
        yield server


@pytest.fixture(scope="module")
def service(
    simulator: SimulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """This service, not started yet (the test starts and stops it), with an API key made."""
    process = ServiceProcess.against(
        tmp_path_factory.mktemp("qikink-service"),
        simulator,
        jwt_secret=TEST_JWT_SECRET,
        reconcile_seconds=RECONCILE_INTERVAL,
    )
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def medusa(
    postgres_admin_url: str, service: ServiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[MedusaBackend, Store]]:
    """A real Medusa backend whose subscriber reports to `service`, and its seeded store."""
    started = time.monotonic()
    installed = install_backend()
    backend = MedusaBackend(
        postgres_admin_url,
        tmp_path_factory.mktemp("medusa"),
        env={"QIKINK_GRAPHQL_URL": service.url, "QIKINK_GRAPHQL_API_KEY": service.api_key},
    )
    with backend:
        seeding = time.monotonic()
        admin = MedusaAdmin(backend)
        try:
            store = admin.seed()
        finally:
            admin.close()
        backend.timings["seed"] = round(time.monotonic() - seeding, 1)
        backend.timings.update(installed)
        backend.timings["backend ready"] = round(time.monotonic() - started, 1)
        yield backend, store


@pytest.fixture(scope="module")
def medusa_admin(medusa: tuple[MedusaBackend, Store]) -> Iterator[MedusaAdmin]:
    """Medusa's Admin API as the store's admin, to read orders back and to cancel one."""
    admin = MedusaAdmin(medusa[0])
    try:
        yield admin
    finally:
        admin.close()


def use_medusa(service: ServiceProcess, backend: MedusaBackend, store: Store) -> None:
    """Point the service (from its next start) at the Medusa backend, as a merchant does."""
    service.env["MEDUSA_BACKEND_URL"] = backend.url
    service.env["MEDUSA_API_KEY"] = store.secret_key
    # Medusa's secret: its customers' own tokens then work here as they are.
    service.env["JWT_SECRET"] = backend.jwt_secret


@contextmanager
def serving(
    service: ServiceProcess, backend: MedusaBackend, store: Store, *, worker: bool = True
) -> Iterator[None]:
    """The service running against `backend` for the block; `worker=False` runs it with no
    worker at all (nothing is sent to Qikink, nothing written back to Medusa, no sweep)."""
    use_medusa(service, backend, store)
    service.env["RUN_WORKER"] = "true" if worker else "false"
    # An earlier test that failed half-way may have left it running, with other settings.
    service.stop()
    service.start()
    try:
        yield
    finally:
        service.stop()


@contextmanager
def logs_on_failure(backend: MedusaBackend, service: ServiceProcess) -> Iterator[None]:
    """Medusa's and this service's logs printed when the block fails."""
    try:
        yield
    except BaseException:
        for name, log in (("Medusa", backend.log()), ("qikink-graphql", service.log())):
            print(f"\n========== {name} ==========\n{log}")
        raise


def step_done(check: Callable[[], Any], what: str) -> Any:
    """`check()`'s first truthy value, within the 30 s one step across both services may take."""
    return wait_for(check, within=30, every=0.25, what=what)


def graphql(service: ServiceProcess, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{service.url}/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {service.api_key}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body
    return body["data"]


def submitted_mapping(service: ServiceProcess, order_id: str) -> dict[str, Any] | None:
    """The order's mapping once it is SUBMITTED; None before. A FAILED one fails the test."""
    found = graphql(service, MAPPINGS, {"id": order_id})["qikinkOrderMappings"]
    assert found["count"] <= 1, found
    if not found["nodes"]:
        return None
    mapping: dict[str, Any] = found["nodes"][0]
    assert mapping["status"] in ("PENDING", "SUBMITTED"), mapping
    return mapping if mapping["status"] == "SUBMITTED" else None


def the_one_qikink_order(simulator: SimulatorServer, mapping: dict[str, Any]) -> dict[str, Any]:
    held = simulator.sim.orders_with_number(mapping["qikinkOrderNumber"])
    assert len(held) == 1, held
    assert str(held[0]["order_id"]) == mapping["qikinkOrderId"]
    return held[0]


CREATE_MAPPING = """mutation($input: ProductMappingInput!) { createProductMapping(input: $input) {
  id productId productTitle variantTitle variantSku } }"""


def map_the_tee(service: ServiceProcess, store: Store) -> None:
    """The store's T-shirt mapped to a Qikink SKU, once (each test may be the first to run),
    checked in Medusa: a mistyped variant id is refused, the real one described."""
    found = graphql(
        service,
        "query($v: [ID!]) { productMappings(filter: { variantIds: $v }) { count } }",
        {"v": [store.variant_id, store.unmapped_variant_id]},
    )
    if found["productMappings"]["count"] > 0:
        return
    typo = httpx.post(
        f"{service.url}/graphql",
        json={
            "query": CREATE_MAPPING,
            "variables": {"input": {"qikinkSkuId": QIKINK_SKU, "variantId": "variant_typo"}},
        },
        headers={"authorization": f"Bearer {service.api_key}"},
        timeout=10,
    ).json()
    assert typo["errors"][0]["message"] == "No variant variant_typo in Medusa.", typo
    made = graphql(
        service,
        CREATE_MAPPING,
        {"input": {"qikinkSkuId": QIKINK_SKU, "variantId": store.variant_id}},
    )["createProductMapping"]
    assert (made["productTitle"], made["variantTitle"], made["variantSku"]) == (
        "Qikink Tee",
        "M",
        store.variant_sku,
    ), made
    assert made["productId"].startswith("prod_"), made


def progress(service: ServiceProcess, order_id: str) -> dict[str, Any] | None:
    """The order's mapping with its Qikink and Medusa progress; None before there is one."""
    found = graphql(service, MAPPING_PROGRESS, {"id": order_id})["qikinkOrderMappings"]
    assert found["count"] <= 1, found
    return found["nodes"][0] if found["nodes"] else None


def written_back(service: ServiceProcess, order_id: str, state: str) -> dict[str, Any] | None:
    """The order's mapping once its Medusa order shows `state`; None before. A refusal Medusa
    gave (kept on the mapping in its words) fails the test at once instead of timing out."""
    mapping = progress(service, order_id)
    assert mapping is not None, f"order {order_id} has no mapping"
    assert mapping["medusaSyncError"] is None, mapping
    return mapping if mapping["medusaSyncedState"] == state else None


def qikink_moves_on(
    simulator: SimulatorServer,
    service: ServiceProcess,
    mapping: dict[str, Any],
    status: str,
    **tracking: str,
) -> None:
    """Qikink's back office moves the order to `status`; the merchant refreshes it here."""
    simulator.sim.advance(int(mapping["qikinkOrderId"]), status, **tracking)
    refreshed = graphql(service, REFRESH, {"id": mapping["qikinkOrderId"]})
    assert refreshed["refreshOrderMappings"]["updated"] == 1, refreshed


def canceled_mapping(service: ServiceProcess, order_id: str) -> dict[str, Any] | None:
    """The order's mapping once it is CANCELED; None before. One sent meanwhile fails the test."""
    mapping = progress(service, order_id)
    assert mapping is not None, f"order {order_id} has no mapping"
    assert mapping["qikinkOrderId"] is None, mapping
    return mapping if mapping["status"] == "CANCELED" else None


def medusa_order(admin: MedusaAdmin, order_id: str) -> dict[str, Any]:
    order: dict[str, Any] = admin.call(
        "GET", f"/admin/orders/{order_id}", params={"fields": MEDUSA_ORDER_FIELDS}
    )["order"]
    return order


def sent_quantities(order: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    """Per variant, how many Medusa counts fulfilled, shipped and delivered."""
    return {
        item["variant_id"]: (
            item["detail"]["fulfilled_quantity"],
            item["detail"]["shipped_quantity"],
            item["detail"]["delivered_quantity"],
        )
        for item in order["items"]
    }


def the_one_fulfillment(order: dict[str, Any]) -> dict[str, Any]:
    fulfillments: list[dict[str, Any]] = order["fulfillments"]
    assert len(fulfillments) == 1, fulfillments
    return fulfillments[0]


@postgres_pass
@pytest.mark.postgres
def test_checkouts_reach_qikink_once_even_when_the_service_was_down_at_checkout(
    simulator: SimulatorServer,
    service: ServiceProcess,
    medusa: tuple[MedusaBackend, Store],
) -> None:
    backend, store = medusa
    timings = dict(backend.timings)
    with logs_on_failure(backend, service):
        started = time.monotonic()
        use_medusa(service, backend, store)
        service.start()
        map_the_tee(service, store)

        # 1. The service is up: the subscriber reports the order and it reaches Qikink.
        first = checkout(backend.url, store)
        mapping = step_done(
            lambda: submitted_mapping(service, first["id"]),
            f"order {first['id']} SUBMITTED",
        )
        wait_for(
            lambda: f"Qikink: order {first['id']}: " in backend.log(),
            within=10,
            what="the subscriber's success line in Medusa's log",
        )
        qikink_order = the_one_qikink_order(simulator, mapping)
        assert qikink_order["line_items"][0]["sku"] == QIKINK_SKU
        assert qikink_order["shipping"]["province"] == "Karnataka"
        assert qikink_order["shipping"]["phone"] == "9800000000"
        timings["checkout 1 -> SUBMITTED"] = round(time.monotonic() - started, 1)

        # 2. The service is down at checkout: Medusa places the order, the event is lost...
        started = time.monotonic()
        service.stop()
        second = checkout(backend.url, store)
        wait_for(
            lambda: f"Qikink: order {second['id']} not recorded yet" in backend.log(),
            within=10,
            what="the subscriber's failure line in Medusa's log",
        )
        # ... and the sweep at start-up finds it.
        service.start()
        missed = step_done(
            lambda: submitted_mapping(service, second["id"]),
            f"order {second['id']} SUBMITTED after the restart",
        )
        assert f"sweep: order {second['id']} was missed" in service.log()
        the_one_qikink_order(simulator, missed)
        timings["checkout 2 (service down) -> SUBMITTED"] = round(time.monotonic() - started, 1)

        # Later sweeps see both orders again and send neither twice.
        looked_at_both = len(LOOKED_AT_BOTH.findall(service.log()))
        wait_for(
            lambda: len(LOOKED_AT_BOTH.findall(service.log())) >= looked_at_both + 2,
            within=RECONCILE_INTERVAL * 10,
            what="two more sweeps that looked at both orders",
        )
        assert submitted_mapping(service, first["id"]) == mapping
        the_one_qikink_order(simulator, mapping)
        the_one_qikink_order(simulator, missed)
        assert len(simulator.sim.orders) == 2

        # 3. A signed-in customer's order: their own Medusa token lists it, and only it.
        token = register_customer(backend.url, store, "meera@example.com")
        customer_id = jwt.decode(token, options={"verify_signature": False})["actor_id"]
        mine = checkout(backend.url, store, email="meera@example.com", customer_token=token)
        step_done(
            lambda: submitted_mapping(service, mine["id"]),
            f"order {mine['id']} SUBMITTED",
        )
        admin_view = graphql(service, MAPPING_CUSTOMER, {"id": mine["id"]})
        assert admin_view["qikinkOrderMapping"] == {
            "customerId": customer_id,
            "email": "meera@example.com",
        }
        own = httpx.post(
            f"{service.url}/graphql",
            json={"query": "{ qikinkOrderMappings { nodes { medusaOrderId } } }"},
            headers={"authorization": f"Bearer {token}"},
            timeout=10,
        ).json()
        assert own == {"data": {"qikinkOrderMappings": {"nodes": [{"medusaOrderId": mine["id"]}]}}}
        service.stop()
    print("Medusa end-to-end timings (s):", timings)


@postgres_pass
@pytest.mark.postgres
def test_qikink_shipping_and_delivery_show_on_the_medusa_order_for_the_printed_items_only(
    simulator: SimulatorServer,
    service: ServiceProcess,
    medusa: tuple[MedusaBackend, Store],
    medusa_admin: MedusaAdmin,
) -> None:
    backend, store = medusa
    with (
        logs_on_failure(backend, service),
        serving(service, backend, store),
    ):
        map_the_tee(service, store)
        # Two tees Qikink prints and a mug the merchant sends themselves, in one cart.
        order = checkout(
            backend.url, store, items=[(store.variant_id, 2), (store.unmapped_variant_id, 1)]
        )
        tee = next(item for item in order["items"] if item["variant_id"] == store.variant_id)
        mapping = step_done(
            lambda: submitted_mapping(service, order["id"]),
            f"order {order['id']} SUBMITTED",
        )
        sent = the_one_qikink_order(simulator, mapping)
        assert [(line["sku"], int(line["quantity"])) for line in sent["line_items"]] == [
            (QIKINK_SKU, 2)
        ]

        # 1. The courier has it: the tees (only) are fulfilled and shipped in Medusa, with
        # Qikink's tracking, which is what Medusa's shipment email and order page show.
        qikink_moves_on(
            simulator, service, mapping, "In-Transit", awb=AWB, tracking_link=TRACKING_LINK
        )
        shipped = step_done(
            lambda: written_back(service, order["id"], "SHIPPED"),
            f"order {order['id']} shipped in Medusa",
        )
        assert (shipped["status"], shipped["trackingNumber"]) == ("SHIPPED", AWB)
        placed = medusa_order(medusa_admin, order["id"])
        fulfillment = the_one_fulfillment(placed)
        assert fulfillment["id"] == shipped["medusaFulfillmentId"]
        assert fulfillment["location_id"] == store.stock_location_id
        assert [(item["line_item_id"], item["quantity"]) for item in fulfillment["items"]] == [
            (tee["id"], 2)
        ]
        assert fulfillment["shipped_at"] is not None
        assert fulfillment["delivered_at"] is None
        assert [
            (label["tracking_number"], label["tracking_url"]) for label in fulfillment["labels"]
        ] == [(AWB, TRACKING_LINK)]
        # Medusa's order page: the tees shipped, the mug still the merchant's to send.
        assert sent_quantities(placed) == {
            store.variant_id: (2, 2, 0),
            store.unmapped_variant_id: (0, 0, 0),
        }
        assert placed["fulfillment_status"] == "partially_shipped"

        # 2. Delivered: Medusa's fulfillment says so too.
        qikink_moves_on(simulator, service, mapping, "Delivered")
        step_done(
            lambda: written_back(service, order["id"], "DELIVERED"),
            f"order {order['id']} delivered in Medusa",
        )
        arrived = medusa_order(medusa_admin, order["id"])
        delivered = the_one_fulfillment(arrived)
        assert delivered["id"] == fulfillment["id"]
        assert delivered["delivered_at"] is not None
        assert sent_quantities(arrived) == {
            store.variant_id: (2, 2, 2),
            store.unmapped_variant_id: (0, 0, 0),
        }
        assert arrived["fulfillment_status"] == "partially_delivered"

        # Each step happened once in Medusa: one fulfillment, one shipment (one shipment
        # email to the customer), one delivery. Subscribers run after the request that emitted
        # the event, so the last one is waited for.
        wait_for(
            lambda: backend.events("delivery.created", id=fulfillment["id"]),
            within=10,
            what="Medusa's delivery.created event",
        )
        assert len(backend.events("order.fulfillment_created", order_id=order["id"])) == 1
        assert len(backend.events("shipment.created", id=fulfillment["id"])) == 1
        assert len(backend.events("delivery.created", id=fulfillment["id"])) == 1


@postgres_pass
@pytest.mark.postgres
def test_an_order_canceled_in_medusa_before_qikink_had_it_is_never_sent(
    simulator: SimulatorServer,
    service: ServiceProcess,
    medusa: tuple[MedusaBackend, Store],
    medusa_admin: MedusaAdmin,
) -> None:
    backend, store = medusa
    with logs_on_failure(backend, service):
        # No worker: the order waits in the queue, as it would behind a busy or down Qikink.
        with serving(service, backend, store, worker=False):
            map_the_tee(service, store)
            order = checkout(
                backend.url, store, items=[(store.variant_id, 1), (store.unmapped_variant_id, 1)]
            )
            queued = step_done(
                lambda: progress(service, order["id"]),
                f"order {order['id']} recorded by the subscriber",
            )
            assert queued["status"] == "PENDING", queued
            assert queued["cancelRequested"] is False

            # The merchant cancels it in Medusa; the plugin's order.canceled subscriber tells
            # the service.
            medusa_admin.call("POST", f"/admin/orders/{order['id']}/cancel")
            assert medusa_order(medusa_admin, order["id"])["status"] == "canceled"
            canceled = step_done(
                lambda: canceled_mapping(service, order["id"]),
                f"order {order['id']} CANCELED",
            )
            assert canceled["cancelRequested"] is True
            assert canceled["qikinkOrderNumber"]
            # The subscriber logs once the service has answered, a moment after the change.
            wait_for(
                lambda: (
                    f'Qikink: canceled order {order["id"]}: {{"outcome":"NEVER_SENT"'
                    in backend.log()
                ),
                within=10,
                what="the cancel subscriber's NEVER_SENT line in Medusa's log",
            )

        # A worker runs again (with the start-up sweep of Medusa's orders): it sends the next
        # order, and the canceled one is still not sent.
        with serving(service, backend, store):
            restarted = f"===== start #{service.starts} ====="
            later = checkout(backend.url, store)
            step_done(
                lambda: submitted_mapping(service, later["id"]),
                f"order {later['id']} SUBMITTED",
            )
            wait_for(
                lambda: SWEPT.search(service.log().split(restarted)[-1]),
                within=RECONCILE_INTERVAL * 10,
                what="a sweep of Medusa's orders after the restart",
            )
            assert simulator.sim.orders_with_number(canceled["qikinkOrderNumber"]) == []
            after = progress(service, order["id"])
            assert after is not None
            assert (after["status"], after["cancelRequested"]) == ("CANCELED", True)
            assert after["medusaSyncedState"] == "NONE"
        assert medusa_order(medusa_admin, order["id"])["fulfillments"] == []
        assert len(backend.events("order.canceled", id=order["id"])) == 1
        assert len(backend.events("order.placed", id=order["id"])) == 1
