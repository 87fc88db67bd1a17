"""End to end against a real Medusa 2.21 backend: storefront checkout -> subscriber -> Qikink.

The backend is the project in tests/medusa_backend (npm packages only, from its lock file),
with the README's subscriber installed verbatim, on a throwaway database of the suite's
PostgreSQL server. This service runs as `qikink-graphql serve` in its own process against the
Qikink simulator. It runs once per `make test`: on the PostgreSQL pass.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import jwt
import pytest

from simulator import QikinkSimulator, SimulatorServer
from tests.markers import postgres_pass
from tests.medusa_e2e import (
    PROJECT,
    MedusaAdmin,
    MedusaBackend,
    ServiceProcess,
    Store,
    checkout,
    npm_ci,
    register_customer,
)
from tests.waiting import wait_for

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
SUBSCRIBER = PROJECT / "src" / "subscribers" / "qikink-order-placed.ts"
QIKINK_SKU = "MVnHs-Wh-S"
RECONCILE_INTERVAL = 2.0
# What the service logs for a sweep that looked at both orders (and found none missed).
LOOKED_AT_BOTH = re.compile(r"sweep: 2 order\(s\) placed since \S+ looked at, 0 missed")

MAPPINGS = """query($id: String!) {
  qikinkOrderMappings(filter: { medusaOrderId: $id }) {
    count nodes { id status medusaOrderId qikinkOrderId qikinkOrderNumber lastError } } }"""


MAPPING_CUSTOMER = "query($id: ID!) { qikinkOrderMapping(id: $id) { customerId email } }"


def test_the_backend_runs_the_readme_subscriber_verbatim() -> None:
    """The subscriber under test is exactly the file the README tells a merchant to copy."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```ts\n(.*?)```", readme, re.S)
    assert len(blocks) == 1, "the README should show one TypeScript block: the subscriber"
    assert SUBSCRIBER.read_text() == blocks[0]


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorServer]:
    with SimulatorServer(QikinkSimulator()) as server:
        yield server


@pytest.fixture(scope="module")
def service(
    simulator: SimulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """This service, not started yet (the test starts and stops it), with an API key made."""
    process = ServiceProcess(
        tmp_path_factory.mktemp("qikink-service"),
        {
            "QIKINK_API_URL": simulator.url,
            "QIKINK_CLIENT_ID": simulator.sim.client_id,
            "QIKINK_CLIENT_SECRET": simulator.sim.client_secret,
            "WORKER_POLL_SECONDS": "0.2",
            "SYNC_INTERVAL_SECONDS": "0",
            "RECONCILE_INTERVAL_SECONDS": str(RECONCILE_INTERVAL),
            "LOG_LEVEL": "INFO",
        },
    )
    process.api_key = process.create_api_key("medusa-backend")
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
    installed = npm_ci()
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
        backend.timings["npm ci"] = round(installed, 1)
        backend.timings["backend ready"] = round(time.monotonic() - started, 1)
        yield backend, store


@contextmanager
def logs_on_failure(*sources: tuple[str, Callable[[], str]]) -> Iterator[None]:
    try:
        yield
    except BaseException:
        for name, read in sources:
            print(f"\n========== {name} ==========\n{read()}")
        raise


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


@postgres_pass
@pytest.mark.postgres
def test_checkouts_reach_qikink_once_even_when_the_service_was_down_at_checkout(
    simulator: SimulatorServer,
    service: ServiceProcess,
    medusa: tuple[MedusaBackend, Store],
) -> None:
    backend, store = medusa
    timings = dict(backend.timings)
    with logs_on_failure(("Medusa", backend.log), ("qikink-graphql", service.log)):
        started = time.monotonic()
        service.env["MEDUSA_BACKEND_URL"] = backend.url
        service.env["MEDUSA_API_KEY"] = store.secret_key
        # Medusa's secret: its customers' own tokens then work here as they are.
        service.env["JWT_SECRET"] = backend.jwt_secret
        service.start()
        graphql(
            service,
            "mutation($input: ProductMappingInput!) { createProductMapping(input: $input) { id } }",
            {"input": {"qikinkSkuId": QIKINK_SKU, "variantId": store.variant_id}},
        )

        # 1. The service is up: the subscriber reports the order and it reaches Qikink.
        first = checkout(backend.url, store)
        mapping = wait_for(
            lambda: submitted_mapping(service, first["id"]),
            within=30,
            every=0.25,
            what=f"order {first['id']} SUBMITTED",
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
        missed = wait_for(
            lambda: submitted_mapping(service, second["id"]),
            within=30,
            every=0.25,
            what=f"order {second['id']} SUBMITTED after the restart",
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
        wait_for(
            lambda: submitted_mapping(service, mine["id"]),
            within=30,
            every=0.25,
            what=f"order {mine['id']} SUBMITTED",
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
