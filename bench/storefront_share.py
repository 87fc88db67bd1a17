"""Outsiders hammering an opened Qikink proxy, and a paid order arriving meanwhile.

Run from the project root (about a minute per backend):

    .venv/bin/python bench/storefront_share.py                       # SQLite, a temp file
    .venv/bin/python bench/storefront_share.py --database postgres   # a throwaway PG database

`qikink-graphql serve` runs as a merchant would run it with `STOREFRONT_QIKINK_PROXY=true`:
production settings, a publishable key, the budget of 30 Qikink calls a minute and the default
storefront share of 5; Qikink is the simulator on a real port (in this process's thread).
The load sends `--calls` storefront
`qikinkOrders` calls (with the public publishable key, `--in-flight` at once) spread over
`--seconds`; a third of the way in, the store backend submits one paid order with its API key.

It prints:

- the storefront calls answered, refused `RATE_LIMITED`, and otherwise;
- what reached Qikink: list calls (the storefront's), creates (the paid order), token mints,
  and the most requests in any 60 s window;
- the paid order's wait: from `submitStoreOrder` to its create reaching Qikink, and to the
  mapping reading SUBMITTED.

The bar: at most 5 storefront calls reach Qikink, and the paid order reaches it
within 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from common import fresh_database

from simulator import QikinkSimulator, SimulatorServer
from tests.graphql_client import store_order_input
from tests.live_server import LiveServer

PUBLISHABLE_KEY = "pk_bench_storefront"
JWT_SECRET = "bench-storefront-share-" + "x" * 40
VARIANT = "variant_bench_tee"
SUBMIT = """mutation($order: StoreOrderInput!) {
  submitStoreOrder(order: $order) { mapping { qikinkOrderNumber } } }"""
STATUS = "query($id: ID!) { qikinkOrderMapping(id: $id) { status } }"
ORDER_ID = "order_01BENCHPAID000000000000001"


def paid_order() -> dict[str, object]:
    return {**store_order_input(ORDER_ID, "9001", VARIANT), "customerId": "cus_bench"}


async def storefront_load(
    url: str, calls: int, in_flight: int, seconds: float, outcomes: Counter[str]
) -> None:
    headers = {"x-publishable-api-key": PUBLISHABLE_KEY}
    gap = seconds * in_flight / calls
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as http:

        async def caller(count: int) -> None:
            for _ in range(count):
                started = time.monotonic()
                body = (
                    await http.post("/graphql", json={"query": "{ qikinkOrders { orderId } }"})
                ).json()
                errors = body.get("errors") or []
                outcomes[errors[0]["extensions"]["code"] if errors else "ok"] += 1
                await asyncio.sleep(max(0.0, gap - (time.monotonic() - started)))

        await asyncio.gather(*(caller(calls // in_flight) for _ in range(in_flight)))


async def run(args: argparse.Namespace, database_url: str, workdir: Path) -> None:
    sim = QikinkSimulator(rate_limit_per_minute=30)
    with SimulatorServer(sim) as qikink:
        server = LiveServer(
            workdir,
            {
                "APP_ENV": "production",
                "DATABASE_URL": database_url,
                "JWT_SECRET": JWT_SECRET,
                "QIKINK_API_URL": qikink.url,
                "QIKINK_CLIENT_ID": sim.client_id,
                "QIKINK_CLIENT_SECRET": sim.client_secret,
                "QIKINK_PUBLISHABLE_KEYS": PUBLISHABLE_KEY,
                "STOREFRONT_QIKINK_PROXY": "true",
                "WORKER_POLL_SECONDS": "2",
                "LOG_LEVEL": "WARNING",
            },
        )
        with server:
            key = server.create_api_key("store-backend")
            admin = {"authorization": f"Bearer {key}"}
            async with httpx.AsyncClient(base_url=server.url, timeout=30, headers=admin) as http:
                mapped = await http.post(
                    "/graphql",
                    json={
                        "query": """mutation($input: ProductMappingInput!) {
                          createProductMapping(input: $input) { id } }""",
                        "variables": {"input": {"qikinkSkuId": "MVnHs-Wh-S", "variantId": VARIANT}},
                    },
                )
                assert "errors" not in mapped.json(), mapped.text
                outcomes: Counter[str] = Counter()
                load = asyncio.create_task(
                    storefront_load(server.url, args.calls, args.in_flight, args.seconds, outcomes)
                )
                await asyncio.sleep(args.seconds / 3)
                submitted_at = time.time()
                body = (
                    await http.post(
                        "/graphql", json={"query": SUBMIT, "variables": {"order": paid_order()}}
                    )
                ).json()
                number = body["data"]["submitStoreOrder"]["mapping"]["qikinkOrderNumber"]
                accepted_after = None
                while accepted_after is None:
                    status = (
                        await http.post(
                            "/graphql", json={"query": STATUS, "variables": {"id": ORDER_ID}}
                        )
                    ).json()["data"]["qikinkOrderMapping"]["status"]
                    if status != "PENDING":
                        accepted_after = time.time() - submitted_at
                        print(f"paid order: {status} after {accepted_after:.2f} s")
                    await asyncio.sleep(0.05)
                await load
        creates = [r for r in sim.requests if r.endpoint == "create"]
        reached_after = creates[0].at - submitted_at if creates else float("nan")
        at_qikink = Counter(r.endpoint for r in sim.requests)
        held = len(sim.orders_with_number(number))
        print(f"storefront calls: {sum(outcomes.values())} {dict(outcomes)}")
        print(f"reached Qikink: {dict(at_qikink)}; Qikink holds the paid order {held} time(s)")
        print(f"max requests in any 60 s window at Qikink: {sim.max_requests_in_window(60)}")
        print(f"paid order's create reached Qikink {reached_after:.2f} s after it was submitted")
        print(
            f"bar: storefront calls at Qikink {at_qikink['list']} <= 5: "
            f"{at_qikink['list'] <= 5}; paid order within 5 s: {reached_after <= 5}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=50.0)
    args = parser.parse_args()
    print(f"database: {args.database}")
    with tempfile.TemporaryDirectory(prefix="qkg-bench-share-") as tmp:
        workdir = Path(tmp)
        async with fresh_database(args.database, workdir, "share") as database_url:
            await run(args, database_url, workdir)


if __name__ == "__main__":
    asyncio.run(main())
