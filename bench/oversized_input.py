"""The CPU one oversized `createQikinkOrder` costs the service before it is refused.

Run from the project root (a few seconds):

    .venv/bin/python bench/oversized_input.py                  # SQLite, a temp file
    .venv/bin/python bench/oversized_input.py --database postgres

The app runs in this process (ASGI transport, its lifespan running); each request is a
`createQikinkOrder` whose `$input` holds `--items` line items, as big as the 1 MiB body limit
lets it be. Non-admins may send that much here (STOREFRONT_MAX_BODY_BYTES raised to the admin's
limit; by default their 64 KiB limit refuses it with 413 before it is read), so what refuses it
is the operation's admission. It is sent `--repeat` times by each caller: anonymous, a
storefront (publishable key, proxy opened) and an admin (who passes the permission and meets
the 100-item cap). It
prints, for each, the answer's error code and the CPU time (`time.process_time`) the request
took, median and max: the cost an attacker makes the service pay per request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from common import fresh_database

from config import ADMIN_MAX_BODY_BYTES as MAX_BODY_BYTES
from tests.conftest import TEST_JWT_SECRET, make_settings, serving
from tests.graphql_client import make_jwt, qikink_order_input

PUBLISHABLE_KEY = "pk_bench_oversized"
CREATE = """mutation($input: QikinkOrderInput!) {
  createQikinkOrder(input: $input) { orderId } }"""


def oversized_body(items: int) -> bytes:
    order: dict[str, Any] = qikink_order_input()
    order["lineItems"] = [{"sku": "A", "quantity": 1, "price": "1"}] * items
    body = json.dumps({"query": CREATE, "variables": {"input": order}}).encode()
    if len(body) > MAX_BODY_BYTES:
        raise SystemExit(f"{items} items make {len(body)} bytes, over the {MAX_BODY_BYTES} limit")
    return body


async def measure(url: str, items: int, repeat: int) -> None:
    settings = make_settings(
        url,
        qikink_client_id="123456789012345",
        qikink_client_secret="bench",
        qikink_publishable_keys=[PUBLISHABLE_KEY],
        storefront_qikink_proxy=True,
        storefront_max_body_bytes=MAX_BODY_BYTES,
        log_level="WARNING",
    )
    body = oversized_body(items)
    print(f"{items} line items, a body of {len(body):,} bytes, {repeat} requests per caller")
    callers = {
        "anonymous": {},
        "storefront": {"x-publishable-api-key": PUBLISHABLE_KEY},
        "admin": {"authorization": f"Bearer {make_jwt(TEST_JWT_SECRET)}"},
    }
    async with serving(settings) as http:
        for caller, headers in callers.items():
            cpu: list[float] = []
            codes: set[str] = set()
            for _ in range(repeat):
                started = time.process_time()
                response = await http.post(
                    "/graphql",
                    content=body,
                    headers={"content-type": "application/json", **headers},
                )
                cpu.append(time.process_time() - started)
                errors = response.json().get("errors") or [{}]
                codes.add(errors[0].get("extensions", {}).get("code", "ok"))
            print(
                f"  {caller:<10} {'/'.join(sorted(codes)):<16} CPU per request: "
                f"median {statistics.median(cpu) * 1000:7.1f} ms, max {max(cpu) * 1000:7.1f} ms"
            )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--items", type=int, default=24_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        async with fresh_database(args.database, Path(workdir), "oversized") as url:
            await measure(url, args.items, args.repeat)


if __name__ == "__main__":
    asyncio.run(main())
