"""SIGTERM ends `qikink-graphql serve` within the grace an orchestrator gives, however stuck its
work is: here a Qikink that accepts connections and never answers holds the token mint of the
fields cancelled by the freeze operation, the outbox worker's submission, and a request in
flight, all at once."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.conftest import TEST_JWT_SECRET
from tests.graphql_client import codes, gql, store_order_input
from tests.live_server import LiveServer
from tests.waiting import eventually

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e


FREEZE = "{ a: qikinkOrders(page: 0) { orderId } b: qikinkOrders(page: 1) { orderId } }"
CREATE_MAPPING = """mutation($input: ProductMappingInput!) {
  createProductMapping(input: $input) { id } }"""
SUBMIT = """mutation($order: StoreOrderInput!) { submitStoreOrder(order: $order) {
  skipped mapping { status } } }"""
STUCK = "{ qikinkOrders(page: 1) { orderId } }"
# Generous: a hang is what is caught, not a slow answer.
HANG = 10.0


class SilentQikink:
    """A Qikink that takes every connection and never answers a byte."""

    def __init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # closed: the test is over
            while True:
                self.connections.append(self.listener.accept()[0])

    def close(self) -> None:
        self.listener.close()
        for connection in self.connections:
            connection.close()


@pytest.mark.slow
async def test_sigterm_ends_the_service_while_its_work_is_stuck(
    database_url: str, tmp_path: Path
) -> None:
    qikink = SilentQikink()
    server = LiveServer(
        tmp_path,
        {
            "DATABASE_URL": database_url,
            "QIKINK_API_URL": qikink.url,
            "QIKINK_CLIENT_ID": "123456789012345",
            "QIKINK_CLIENT_SECRET": "secret",
            "JWT_SECRET": TEST_JWT_SECRET,
            "QIKINK_TIMEOUT_SECONDS": "300",
            "WORKER_POLL_SECONDS": "0.2",
        },
    )
    try:
        server.start()
        admin = {"authorization": f"Bearer {server.create_api_key('ops')}"}
        async with (
            httpx.AsyncClient(base_url=server.url, timeout=HANG) as http,
            httpx.AsyncClient(base_url=server.url, timeout=None) as stuck_http,
        ):
            # A request in flight at SIGTERM: its token mint waits on the silent Qikink.
            stuck = asyncio.create_task(
                stuck_http.post("/graphql", json={"query": STUCK}, headers=admin)
            )

            await eventually(lambda: bool(qikink.connections))
            # The freeze: each `b` is cancelled while it waits for that mint.
            for _ in range(20):
                assert "BAD_USER_INPUT" in codes(await gql(http, FREEZE, {}, admin))
            # The outbox worker's submission waits for the mint too.
            mapping = {"qikinkSkuId": "MRnHs-Wh-S", "variantId": "variant_tee"}
            assert not codes(await gql(http, CREATE_MAPPING, {"input": mapping}, admin))
            order = store_order_input("order_01JSHUTDOWN000001", "4001", "variant_tee")
            queued = await gql(http, SUBMIT, {"order": order}, admin)
            assert queued["data"]["submitStoreOrder"]["mapping"]["status"] == "PENDING"
            assert (await http.get("/ready")).status_code == 200
            assert not stuck.done()
            code = await asyncio.to_thread(server.stop)
            with contextlib.suppress(httpx.HTTPError):
                await stuck
    finally:
        server.stop()
        qikink.close()
    # Within STOP_GRACE of the SIGTERM, or it is killed and the code is -9.
    assert code == 0, f"serve exited {code} on SIGTERM:\n{server.log()[-3000:]}"
    assert "Application shutdown complete" in server.log()
