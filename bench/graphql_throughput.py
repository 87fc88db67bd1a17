"""What a GraphQL read costs against the bare stack under it: uvicorn + Starlette + Tortoise.

Run from the project root (about three minutes per database with the defaults, two more
for `--compare-workers`; `wrk` must be installed: `apt-get install wrk`):

    .venv/bin/python bench/graphql_throughput.py                        # SQLite and PostgreSQL
    .venv/bin/python bench/graphql_throughput.py --database postgres --compare-workers 3

Per database, a fresh migrated database (a SQLite file, or a throwaway PostgreSQL database)
gets 10,000 product mappings and 10,000 order mappings (mixed statuses, 1 in 6 SHIPPED, each
with its stored Qikink payload, as the outbox leaves it). Two servers run on it, each in its
own process, one uvicorn worker each:

- the service itself, `qikink-graphql serve --workers N` (RUN_WORKER=false, LOG_LEVEL=WARNING;
  Qikink is a simulator on its own port, which `--workers N` requires; the reads measured here
  never call it), answering GraphQL at /graphql. `serve` writes uvicorn's
  access log only at LOG_LEVEL INFO or DEBUG, so neither server logs a line per request;
- a bare Starlette app (this file's `bare` command) whose three routes call the same service
  functions (the same Tortoise queries: a page and its count through `fetch_page`, or one row
  by id) and answer the same JSON, `{"data": {...}}`, with no GraphQL, no auth, no middleware.

`wrk` (`--concurrency` connections, 2 threads, `--latency`) drives each from its own process,
for `--seconds` at a time: per operation the service then the bare app, for `--rounds` rounds
(a 2 s warm-up before each server's first). The speed of this VM drifts by up to a third over
minutes, so a ratio is taken within a round, of two runs seconds apart; the row shows the
round with the median ratio, and every round's figures are printed under it. Operations, each
as a storefront or an admin sends it:

- `productMappings(limit: 50, filter: {variantId: $v})`, admin only, a random variant per
  request (what a variant widget asks); once with an admin JWT (HS256, verified in memory) and
  once with an API key from `qikink-graphql create-api-key` (one more query per request,
  so its ratio is printed for information, marked `info`, and not held to the bar);
- `qikinkOrderMapping(id: $id)`, a random one of the 10,000 store orders per request (a
  storefront polling by its order's id), POSTed through Strawberry's documented pipeline;
- the same poll as a GET of one order again and again (a storefront polling over HTTP's
  caching): answered from the service's micro-cache within max-age; and with
  `If-None-Match` holding its ETag, answered 304 with no body. Both against the bare by-id
  route, and not counted in /metrics (they run no operation);
- `qikinkOrderMappings(limit: 50, filter: {status: SHIPPED})`, an admin's JWT: 50 rows and the
  count (~1,667).

Before the load, one request of each kind goes to both servers and their JSON must be equal.
After each GraphQL run the server's /metrics must show every operation of the run `ok`.
Peak RSS is VmHWM of the server's processes after all runs. `--compare-workers 3` also serves
PostgreSQL with `serve --workers 3` beside the one-worker service and runs
`qikinkOrderMapping(id)` on each in turn, round after round, printing the median round's
requests/s of 3 workers against one. The bars: GraphQL POST / bare >= 0.45 in requests/s,
a GET poll (cached, or 304) / bare >= 1.2, GraphQL p99 <= 4 x p50, peak RSS < 200 MB per
worker, 3 workers >= 1.3 x one.

Each row also gives CPU ms per request, from /proc: the server's processes, the PostgreSQL
backends of the bench's database, and wrk; and how many cores everything else on the machine
used meanwhile. On a shared machine the bench waits (up to a minute) for others to go quiet
before each run and runs again, twice at most, when they used over a quarter of a core.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
from common import POSTGRES_ADMIN_URL, create_database

from simulator import QikinkSimulator, SimulatorServer
from tests.graphql_client import make_jwt

if TYPE_CHECKING:
    from collections.abc import Iterator

    from starlette.applications import Starlette
    from starlette.requests import Request

THIS_SCRIPT = Path(__file__).resolve()
PROJECT_ROOT = THIS_SCRIPT.parent.parent
CLI = PROJECT_ROOT / ".venv" / "bin" / "qikink-graphql"
JWT_SECRET = "bench-secret-" + "x" * 40
ROWS = 10_000
PAGE = 50
WARMUP_SECONDS = 2
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
MB = 1024 * 1024

# The bars: GraphQL POSTs through Strawberry's documented pipeline against the bare route; a
# repeated public GET poll (answered from the service's micro-cache, or 304) against it too.
MIN_RATIO = 0.45
MIN_POLL_RATIO = 1.2
MAX_P99_OVER_P50 = 4.0
MAX_RSS_MB = 200.0
MIN_WORKER_SCALING = 1.3

# The machine may be shared: before each run wait (a while) for others to go quiet, and run
# again when others used more than DISTURBED_CORES during it.
QUIET_CORES = 0.15
QUIET_TIMEOUT = 60.0
DISTURBED_CORES = 0.25
RETRIES_WHEN_DISTURBED = 2

ORDER_FIELDS = (
    "id medusaOrderId qikinkOrderId qikinkOrderNumber status qikinkStatus trackingNumber "
    "courier trackingUrl createdAt updatedAt lastSyncedAt"
)
PRODUCT_FIELDS = "id qikinkSkuId variantId createdAt updatedAt"
PRODUCT_QUERY = (
    "query Variant($variantId: String!) { productMappings(limit: 50, "
    f"filter: {{variantId: $variantId}}) {{ count limit offset nodes {{ {PRODUCT_FIELDS} }} }} }}"
)
ORDER_QUERY = f"query Order($id: ID!) {{ qikinkOrderMapping(id: $id) {{ {ORDER_FIELDS} }} }}"
SHIPPED_QUERY = (
    "query Shipped { qikinkOrderMappings(limit: 50, filter: {status: SHIPPED}) "
    f"{{ count limit offset nodes {{ {ORDER_FIELDS} }} }} }}"
)


@dataclass(frozen=True)
class Operation:
    name: str
    query: str
    bare_path: str
    variable: str | None  # the variable drawn at random per request, if any
    pool: str | None  # which id list it is drawn from: "variants" or "orders"
    credential: str | None  # "jwt", "api_key" or None (a storefront)
    # Held to the bars; otherwise printed for what it shows.
    bar: bool = True
    # None: a POST, a random variable per request. "hit": the same GET again and again (one
    # value), answered from the micro-cache; "304": that GET with If-None-Match.
    poll: str | None = None

    @property
    def min_ratio(self) -> float:
        return MIN_POLL_RATIO if self.poll else MIN_RATIO


OPERATIONS = [
    Operation(
        "productMappings(filter) [JWT]",
        PRODUCT_QUERY,
        "/bare/productMappings",
        "variantId",
        "variants",
        "jwt",
    ),
    Operation(
        "productMappings(filter) [API key]",
        PRODUCT_QUERY,
        "/bare/productMappings",
        "variantId",
        "variants",
        "api_key",
        bar=False,  # the key's lookup is one more query than the bare route makes
    ),
    Operation(
        "qikinkOrderMapping(id)", ORDER_QUERY, "/bare/qikinkOrderMapping", "id", "orders", None
    ),
    Operation(
        "qikinkOrderMapping(id) GET, cached",
        ORDER_QUERY,
        "/bare/qikinkOrderMapping",
        "id",
        "orders",
        None,
        poll="hit",
    ),
    Operation(
        "qikinkOrderMapping(id) GET, 304",
        ORDER_QUERY,
        "/bare/qikinkOrderMapping",
        "id",
        "orders",
        None,
        poll="304",
    ),
    # Listing by status is an admin's view (a storefront may not enumerate mappings).
    Operation(
        "qikinkOrderMappings(SHIPPED)",
        SHIPPED_QUERY,
        "/bare/qikinkOrderMappings",
        None,
        None,
        "jwt",
    ),
]


# -- the seed (a child process: Tortoise binds its models to one dialect a process) ----------

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_STATUS_TEXT = {
    "PENDING": None,
    "SUBMITTED": "On Hold",
    "IN_PRODUCTION": "Printed",
    "SHIPPED": "In-Transit",
    "COMPLETED": "Delivered",
    "CANCELED": "Cancelled",
    "RETURNED": "Returned",
    "FAILED": None,
}
# One in six SHIPPED, as the issue asks; the rest roughly as a year-old shop's history.
_STATUS_WEIGHTS = {
    "PENDING": 3,
    "SUBMITTED": 10,
    "IN_PRODUCTION": 12,
    "SHIPPED": 0,  # every 6th row, below
    "COMPLETED": 45,
    "CANCELED": 4,
    "RETURNED": 3,
    "FAILED": 3,
}


def _ulid(rng: random.Random, prefix: str) -> str:
    """A Medusa-style id: `order_01J...` (a ULID: 26 Crockford base32 characters)."""
    return prefix + "01J" + "".join(rng.choice(_CROCKFORD) for _ in range(23))


def _payload(number: str, sku: str, rng: random.Random) -> dict[str, Any]:
    price = f"{rng.choice([349, 449, 549, 649, 799])}.00"
    return {
        "order_number": number,
        "qikink_shipping": "1",
        "gateway": rng.choice(["Prepaid", "COD"]),
        "total_order_value": price,
        "line_items": [{"search_from_my_products": 1, "sku": sku, "quantity": 1, "price": price}],
        "shipping_address": {
            "first_name": "Asha",
            "last_name": "Rao",
            "address1": "12 MG Road",
            "address2": "",
            "phone": "9876543210",
            "email": "asha@example.com",
            "city": "Bengaluru",
            "zip": "560001",
            "province": "Karnataka",
            "country_code": "IN",
        },
    }


async def prepare(database_url: str) -> dict[str, Any]:
    """Migrate, seed 10,000 + 10,000 rows; returns every variant id and order mapping id."""
    from models import OrderMapping, OrderMappingStatus, ProductMapping, SubmitState
    from models.ids import new_order_mapping_id, new_product_mapping_id
    from services import db

    rng = random.Random(7)
    await db.migrate(database_url)
    await db.connect_db(database_url)
    try:
        now = datetime.now(UTC)
        styles = ["MVnHs", "MRnHs", "FVnHs", "UHd", "USw", "MPo"]
        colors = ["Wh", "Bk", "Nb", "Rd", "Gr", "Yl", "Mr", "Pk"]
        sizes = ["XS", "S", "M", "L", "XL", "XXL"]
        products = [
            ProductMapping(
                id=new_product_mapping_id(),
                qikink_sku_id=f"{styles[i % 6]}{i // 288:02d}-{colors[i // 6 % 8]}-"
                f"{sizes[i // 48 % 6]}",
                variant_id=_ulid(rng, "variant_"),
                created_at=now - timedelta(seconds=(ROWS - i) * 600),
            )
            for i in range(ROWS)
        ]
        assert len({p.qikink_sku_id for p in products}) == ROWS
        await ProductMapping.bulk_create(products, batch_size=1000)

        statuses = [s for s in _STATUS_WEIGHTS if _STATUS_WEIGHTS[s]]
        weights = [_STATUS_WEIGHTS[s] for s in statuses]
        orders = []
        for i in range(ROWS):
            status = "SHIPPED" if i % 6 == 0 else rng.choices(statuses, weights)[0]
            created = now - timedelta(seconds=(ROWS - i) * 900)
            number = f"MD{100_000 + i}"
            placed = status not in ("PENDING", "FAILED")
            tracked = status in ("SHIPPED", "COMPLETED", "RETURNED")
            awb = f"{rng.randrange(10**12, 10**13)}" if tracked else None
            orders.append(
                OrderMapping(
                    id=new_order_mapping_id(),
                    medusa_order_id=_ulid(rng, "order_"),
                    qikink_order_id=str(4_500_000 + i) if placed else None,
                    qikink_order_number=number,
                    status=OrderMappingStatus(status),
                    qikink_status=_STATUS_TEXT[status],
                    tracking_number=awb,
                    courier="Delhivery" if tracked else None,
                    tracking_url=f"https://courierupdates.com/?awb={awb}" if tracked else None,
                    created_at=created,
                    last_synced_at=created + timedelta(hours=6) if placed else None,
                    payload=_payload(number, products[i].qikink_sku_id, rng),
                    submit_state=(
                        SubmitState.DONE
                        if placed
                        else SubmitState.FAILED
                        if status == "FAILED"
                        else SubmitState.QUEUED
                    ),
                    attempts=1 if status != "PENDING" else 0,
                    last_error="Invalid pincode" if status == "FAILED" else None,
                )
            )
        await OrderMapping.bulk_create(orders, batch_size=1000)
        shipped = await OrderMapping.filter(status=OrderMappingStatus.SHIPPED).count()
        return {
            "variants": [p.variant_id for p in products],
            # A storefront names an order by the store's order id.
            "orders": [o.medusa_order_id for o in orders],
            "shipped": shipped,
        }
    finally:
        await db.close_db()


# -- the bare baseline (a child process) ------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _product_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "qikinkSkuId": row.qikink_sku_id,
        "variantId": row.variant_id,
        "createdAt": _iso(row.created_at),
        "updatedAt": _iso(row.updated_at),
    }


def _order_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "medusaOrderId": row.medusa_order_id,
        "qikinkOrderId": row.qikink_order_id,
        "qikinkOrderNumber": row.qikink_order_number,
        "status": row.status.value,
        "qikinkStatus": row.qikink_status,
        "trackingNumber": row.tracking_number,
        "courier": row.courier,
        "trackingUrl": row.tracking_url,
        "createdAt": _iso(row.created_at),
        "updatedAt": _iso(row.updated_at),
        "lastSyncedAt": _iso(row.last_synced_at),
    }


def bare_app(database_url: str) -> Starlette:
    """The same queries (the service functions) and the same JSON, minus GraphQL."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from models import OrderMappingStatus
    from services import db
    from services.order_mappings import (
        OrderMappingQuery,
        get_store_order_mapping,
        list_order_mappings,
    )
    from services.paging import Page
    from services.product_mappings import ProductMappingQuery, list_product_mappings

    page = Page(limit=PAGE, offset=0)

    def respond(name: str, value: Any) -> Response:
        # Strawberry's own encoding: json.dumps with compact separators.
        body = json.dumps({"data": {name: value}}, separators=(",", ":"))
        return Response(body, media_type="application/json")

    async def variables(request: Request) -> dict[str, Any]:
        return dict(json.loads(await request.body()).get("variables") or {})

    async def product_mappings(request: Request) -> Response:
        query = ProductMappingQuery(variant_id=(await variables(request))["variantId"])
        rows, count = await list_product_mappings(query, page)
        nodes = [_product_json(row) for row in rows]
        return respond(
            "productMappings", {"count": count, "limit": PAGE, "offset": 0, "nodes": nodes}
        )

    async def order_mapping(request: Request) -> Response:
        row = await get_store_order_mapping((await variables(request))["id"])
        return respond("qikinkOrderMapping", _order_json(row) if row else None)

    async def order_mappings(request: Request) -> Response:
        await request.body()
        query = OrderMappingQuery(status=OrderMappingStatus.SHIPPED)
        rows, count = await list_order_mappings(query, page)
        nodes = [_order_json(row) for row in rows]
        return respond(
            "qikinkOrderMappings", {"count": count, "limit": PAGE, "offset": 0, "nodes": nodes}
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        await db.connect_db(database_url)
        try:
            yield
        finally:
            await db.close_db()

    return Starlette(
        routes=[
            Route("/bare/productMappings", product_mappings, methods=["POST"]),
            Route("/bare/qikinkOrderMapping", order_mapping, methods=["POST"]),
            Route("/bare/qikinkOrderMappings", order_mappings, methods=["POST"]),
            Route("/health", lambda request: Response("ok")),
        ],
        lifespan=lifespan,
    )


def serve_bare(database_url: str, port: int) -> None:
    import uvicorn

    # As `qikink-graphql serve` runs uvicorn (uvloop and httptools when installed), with no
    # access log: the bare stack is the floor the service is measured against.
    uvicorn.run(
        bare_app(database_url), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


# -- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(**values: str) -> dict[str, str]:
    """This environment minus every service setting (no developer's shell leaks in)."""
    from config import Settings

    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    env.update(values)
    return env


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    workers: int = 1

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.output()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    started = self.log.read_text(errors="replace")
                    if self.workers == 1 or (
                        started.count("Application startup complete") >= self.workers
                    ):
                        return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start within {START_TIMEOUT} s:\n{self.output()}")

    def processes(self) -> list[int]:
        """The server's process and its descendants (uvicorn's worker processes)."""
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    def peak_rss(self) -> list[tuple[int, str, float]]:
        """(pid, role, VmHWM in MB) of every process of the server."""
        rows = []
        for pid in self.processes():
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text()
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
                if match is None:
                    continue
                if "resource_tracker" in cmdline:
                    role = "resource tracker"
                elif "spawn_main" in cmdline:
                    role = "worker"
                elif self.workers > 1:
                    role = "supervisor"
                else:
                    role = "worker"
                rows.append((pid, role, int(match.group(1)) / 1024))
        return rows

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                # The server's own process group (start_new_session): nothing else is in it.
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@contextlib.contextmanager
def running(
    name: str, argv: list[str], env: dict[str, str], port: int, workdir: Path, workers: int = 1
) -> Iterator[Server]:
    log = workdir / f"{name.replace(' ', '-')}-{secrets.token_hex(3)}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=workdir,  # no developer's .env is read, no ./data is made
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, f"http://127.0.0.1:{port}", proc, log, workers)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def graphql_server(database_url: str, workdir: Path, workers: int, qikink: SimulatorServer) -> Any:
    port = free_port()
    # `serve --workers N` refuses the in-process simulator: every server of the bench gets
    # the same one, on its own port (the reads measured here never call Qikink).
    env = child_env(
        DATABASE_URL=database_url,
        APP_ENV="test",
        JWT_SECRET=JWT_SECRET,
        RUN_WORKER="false",
        LOG_LEVEL="WARNING",
        QIKINK_API_URL=qikink.url,
        QIKINK_CLIENT_ID=qikink.sim.client_id,
        QIKINK_CLIENT_SECRET=qikink.sim.client_secret,
    )
    argv = [str(CLI), "serve", "--port", str(port), "--workers", str(workers)]
    return running(f"graphql x{workers}", argv, env, port, workdir, workers)


def bare_server(database_url: str, workdir: Path) -> Any:
    port = free_port()
    argv = [sys.executable, str(THIS_SCRIPT), "bare", database_url, str(port)]
    return running("bare", argv, child_env(), port, workdir)


# -- load -------------------------------------------------------------------------------------


@dataclass
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: str = ""
    # CPU over the measured run, from /proc: ms per request of the server's processes and of
    # the PostgreSQL backends serving its database; the cores everyone else on the machine
    # used meanwhile (other people's work, not this bench's).
    server_cpu_ms: float = 0.0
    database_cpu_ms: float = 0.0
    wrk_cpu_ms: float = 0.0
    others_cores: float = 0.0

    @property
    def tail(self) -> float:
        return self.p99_ms / self.p50_ms if self.p50_ms else float("inf")


def _lua_string(text: str) -> str:
    assert "]==]" not in text
    return f"[==[{text}]==]"


def lua_script(
    path: str, query: str, headers: dict[str, str], variable: str | None, values: list[str]
) -> str:
    """A wrk script: POST `query` to `path`, `variable` drawn from `values` per request."""
    lines = ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"']
    # `wrk.headers[[==[...` would open a long string: the spaces matter.
    lines += [f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()]
    if variable is None:
        body = json.dumps({"query": query, "variables": {}})
        lines += [f"wrk.body = {_lua_string(body)}", f"wrk.path = {_lua_string(path)}"]
        return "\n".join(lines) + "\n"
    marker = "@@VALUE@@"
    prefix, suffix = json.dumps({"query": query, "variables": {variable: marker}}).split(marker)
    lines += [
        f"local prefix = {_lua_string(prefix)}",
        f"local suffix = {_lua_string(suffix)}",
        "local values = {",
        *(f'  "{value}",' for value in values),
        "}",
        "local count = 0",
        "function setup(thread) count = count + 1; thread:set('tid', count) end",
        "function init(args) math.randomseed(os.time() * 1000 + tid) end",
        "function request()",
        "  local body = prefix .. values[math.random(#values)] .. suffix",
        f"  return wrk.format(nil, {_lua_string(path)}, nil, body)",
        "end",
    ]
    return "\n".join(lines) + "\n"


def poll_path(op: Operation, value: str) -> str:
    """The GET a storefront polls with: the query and its variables in the URL."""
    variables = json.dumps({op.variable: value}) if op.variable else "{}"
    return "/graphql?" + urllib.parse.urlencode({"query": op.query, "variables": variables})


def poll_script(path: str, headers: dict[str, str]) -> str:
    """A wrk script: the same GET of `path` on every request, with `headers`."""
    lines = ['wrk.method = "GET"', f"wrk.path = {_lua_string(path)}"]
    lines += [f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()]
    return "\n".join(lines) + "\n"


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(number: str, unit: str) -> float:
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> Load:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s|m)\b", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\b", output, re.MULTILINE)
    total = re.search(r"^\s+(\d+) requests in", output, re.MULTILINE)
    if not (rps and p50 and p99 and total):
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    errors = [
        line.strip()
        for line in output.splitlines()
        if line.strip().startswith(("Non-2xx", "Socket errors"))
    ]
    return Load(
        float(rps.group(1)),
        _ms(*p50.groups()),
        _ms(*p99.groups()),
        int(total.group(1)),
        "; ".join(errors),
    )


def run_wrk(url: str, script: Path, seconds: int, concurrency: int) -> Load:
    argv = [
        "wrk",
        "-t2",
        f"-c{concurrency}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    if done.stderr.strip():
        # A broken script is only reported on stderr: wrk then sends bare GETs instead.
        raise RuntimeError(f"wrk complained:\n{done.stderr}")
    return parse_wrk(done.stdout)


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of every CPU since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def _process_ticks(pids: list[int]) -> dict[int, int]:
    ticks = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks


def _delta(before: dict[int, int], after: dict[int, int]) -> int:
    return sum(ticks - before.get(pid, 0) for pid, ticks in after.items())


def database_backends(database_url: str) -> list[int]:
    """The PostgreSQL backend processes connected to this database (none for SQLite)."""
    if not database_url.startswith("postgres"):
        return []
    name = database_url.rsplit("/", 1)[1]

    async def query() -> list[int]:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            rows = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
        finally:
            await conn.close()
        return [row["pid"] for row in rows]

    return asyncio.run(query())


def wait_for_quiet(limit: float = QUIET_TIMEOUT) -> float:
    """Wait (at most `limit` s) until others use under QUIET_CORES; returns what they used."""
    deadline = time.monotonic() + limit
    while True:
        busy0, total0 = _machine_ticks()
        time.sleep(1.0)
        busy1, total1 = _machine_ticks()
        cores = (os.cpu_count() or 1) * (busy1 - busy0) / max(total1 - total0, 1)
        if cores < QUIET_CORES or time.monotonic() > deadline:
            return cores


def measure(
    url: str,
    script: Path,
    args: argparse.Namespace,
    server: Server,
    database_url: str,
    *,
    warm_up: bool = True,
) -> Load:
    """wrk (after a warm-up, unless the server has just served this); a run that others
    disturbed is repeated (the calmest is kept)."""
    best: Load | None = None
    hz = os.sysconf("SC_CLK_TCK")
    for _ in range(1 + RETRIES_WHEN_DISTURBED):
        wait_for_quiet()
        if warm_up:
            run_wrk(url, script, WARMUP_SECONDS, args.concurrency)
        servers, backends = server.processes(), database_backends(database_url)
        server0, backend0 = _process_ticks(servers), _process_ticks(backends)
        busy0, _ = _machine_ticks()
        children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        load = run_wrk(url, script, args.seconds, args.concurrency)
        elapsed = time.monotonic() - started
        children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy1, _ = _machine_ticks()
        server_ticks = _delta(server0, _process_ticks(servers))
        backend_ticks = _delta(backend0, _process_ticks(database_backends(database_url)))
        wrk_seconds = (children1.ru_utime + children1.ru_stime) - (
            children0.ru_utime + children0.ru_stime
        )
        load.server_cpu_ms = 1000 * server_ticks / hz / max(load.requests, 1)
        load.database_cpu_ms = 1000 * backend_ticks / hz / max(load.requests, 1)
        load.wrk_cpu_ms = 1000 * wrk_seconds / max(load.requests, 1)
        others = (busy1 - busy0 - server_ticks - backend_ticks) / hz - wrk_seconds
        load.others_cores = max(others / elapsed, 0.0)
        if best is None or load.others_cores < best.others_cores:
            best = load
        if load.others_cores <= DISTURBED_CORES:
            break
    assert best is not None
    return best


def graphql_outcomes(server: Server) -> dict[str, float]:
    """qikink_graphql_requests_total by outcome, from the server's /metrics (one process)."""
    text = httpx.get(f"{server.url}/metrics", timeout=30).text
    totals: dict[str, float] = {}
    for match in re.finditer(
        r'^qikink_graphql_requests_total\{operation="[^"]*",outcome="([^"]+)"\} ([\d.e+]+)$',
        text,
        re.MULTILINE,
    ):
        totals[match.group(1)] = totals.get(match.group(1), 0.0) + float(match.group(2))
    return totals


# -- the bench --------------------------------------------------------------------------------


@dataclass
class Paired:
    """Runs of two servers back to back, round after round: drift in the machine's speed over
    minutes (seen here: the same server 30 % faster a few minutes later) hits both runs of a
    round alike, so their ratio is steadier than that of runs far apart."""

    rounds: list[tuple[Load, Load]]

    @property
    def ratios(self) -> list[float]:
        return [a.requests_per_second / b.requests_per_second for a, b in self.rounds]

    @property
    def ratio(self) -> float:
        """The median round's ratio."""
        return statistics.median_low(self.ratios)

    @property
    def median_round(self) -> tuple[Load, Load]:
        return self.rounds[self.ratios.index(self.ratio)]


@dataclass
class Row(Paired):
    """One operation: (GraphQL, bare) per round."""

    op: Operation

    @property
    def graphql(self) -> Load:
        return self.median_round[0]

    @property
    def bare(self) -> Load:
        return self.median_round[1]


@dataclass
class Result:
    database: str
    rows: list[Row] = field(default_factory=list)
    rss: list[tuple[int, str, float]] = field(default_factory=list)
    bare_rss: list[tuple[int, str, float]] = field(default_factory=list)
    seed_seconds: float = 0.0
    shipped: int = 0
    # qikinkOrderMapping(id) with N workers against one: (N, (N workers, 1 worker) per round)
    scaling: tuple[int, Paired] | None = None
    scaling_rss: list[tuple[int, str, float]] = field(default_factory=list)


@contextlib.contextmanager
def fresh_database(backend: str, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite://{workdir / 'bench.db'}"
        return
    # Not migrated here: Tortoise binds its models to one dialect a process (see `seed`).
    database = asyncio.run(create_database("throughput"))
    try:
        yield database.url
    finally:
        asyncio.run(database.drop())


def seed(database_url: str, workdir: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(THIS_SCRIPT), "prepare", database_url],
        cwd=workdir,
        env=child_env(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"seeding failed:\n{done.stderr[-4000:]}")
    seeded: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return seeded


def create_api_key(database_url: str, workdir: Path) -> str:
    done = subprocess.run(
        [str(CLI), "create-api-key", "bench"],
        cwd=workdir,
        env=child_env(DATABASE_URL=database_url, APP_ENV="test"),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"create-api-key failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def headers_for(op: Operation, credentials: dict[str, str]) -> dict[str, str]:
    if op.credential is None:
        return {}
    return {"Authorization": f"Bearer {credentials[op.credential]}"}


def check_answers(
    server: Server, op: Operation, headers: dict[str, str], value: str | None
) -> None:
    """A few answers of `server` carry data and no errors (whichever worker answers)."""
    variables = {op.variable: value} if op.variable else {}
    for _ in range(6):
        with httpx.Client(timeout=30) as http:  # a new connection each: maybe a new worker
            got = http.post(
                f"{server.url}/graphql",
                json={"query": op.query, "variables": variables},
                headers=headers,
            )
        if got.status_code != 200 or "errors" in got.json() or not any(got.json()["data"].values()):
            raise RuntimeError(f"{op.name}: {got.status_code} {got.text[:600]}")


def check_same_json(
    graphql: Server, bare: Server, op: Operation, headers: dict[str, str], value: str | None
) -> None:
    variables = {op.variable: value} if op.variable else {}
    body = {"query": op.query, "variables": variables}
    got = httpx.post(f"{graphql.url}/graphql", json=body, headers=headers, timeout=30)
    want = httpx.post(f"{bare.url}{op.bare_path}", json=body, timeout=30)
    if got.status_code != 200 or "errors" in got.json() or got.json() != want.json():
        raise RuntimeError(
            f"{op.name}: the GraphQL answer differs from the bare one\n"
            f"GraphQL {got.status_code}: {got.text[:600]}\nbare {want.status_code}: "
            f"{want.text[:600]}"
        )
    if not any(got.json()["data"].values()):
        raise RuntimeError(f"{op.name}: empty answer {got.text[:300]}")


BY_ID = "qikinkOrderMapping(id)"


def write_poll_script(
    graphql: Server, bare: Server, op: Operation, value: str, workdir: Path
) -> Path:
    """The wrk script of a GET poll, once its answer is checked against the bare route's: the
    same data, cacheable; with If-None-Match, a 304 with no body."""
    path = poll_path(op, value)
    got = httpx.get(f"{graphql.url}{path}", timeout=30)
    want = httpx.post(
        f"{bare.url}{op.bare_path}",
        json={"query": op.query, "variables": {op.variable: value}},
        timeout=30,
    )
    if got.status_code != 200 or got.json() != want.json() or "etag" not in got.headers:
        raise RuntimeError(f"{op.name}: the GET answer differs: {got.status_code} {got.text[:300]}")
    headers: dict[str, str] = {}
    if op.poll == "304":
        headers["If-None-Match"] = got.headers["etag"]
        again = httpx.get(f"{graphql.url}{path}", headers=headers, timeout=30)
        if again.status_code != 304 or again.content:
            raise RuntimeError(f"{op.name}: expected an empty 304, got {again.status_code}")
    script = workdir / f"poll-{op.poll}.lua"
    script.write_text(poll_script(path, headers))
    return script


def measure_graphql(
    server: Server,
    script: Path,
    args: argparse.Namespace,
    database_url: str,
    op: Operation,
    round_: int,
) -> Load:
    """`measure` for the service; with one worker, its /metrics must then count every request
    wrk made as an operation answered `ok`."""
    counted = server.workers == 1 and op.poll is None
    before = graphql_outcomes(server) if counted else {}
    load = measure(f"{server.url}/graphql", script, args, server, database_url, warm_up=round_ == 0)
    if counted:
        after = graphql_outcomes(server)
        not_ok = {
            k: after.get(k, 0) - before.get(k, 0)
            for k in after
            if k != "ok" and after.get(k, 0) != before.get(k, 0)
        }
        if not_ok:
            raise RuntimeError(f"{op.name}: GraphQL errors under load: {not_ok}")
        executed = after.get("ok", 0) - before.get("ok", 0)
        if executed < load.requests:
            raise RuntimeError(
                f"{op.name}: wrk counted {load.requests} requests, the server executed "
                f"{executed:.0f} operations"
            )
    return load


def bench_database(backend: str, args: argparse.Namespace, workdir: Path) -> Result:
    result = Result(backend)
    with fresh_database(backend, workdir) as database_url:
        started = time.perf_counter()
        seeded = seed(database_url, workdir)
        result.seed_seconds = time.perf_counter() - started
        result.shipped = seeded["shipped"]
        credentials = {
            "jwt": make_jwt(JWT_SECRET, actor_id="user_bench", expires_in=24 * 3600),
            "api_key": create_api_key(database_url, workdir),
        }
        scripts: dict[tuple[str, str], Path] = {}
        for op in OPERATIONS:
            if op.poll:
                continue  # written once the service answers (a 304 needs its ETag)
            values = seeded[op.pool] if op.pool else []
            for target, path in (("graphql", "/graphql"), ("bare", op.bare_path)):
                headers = headers_for(op, credentials) if target == "graphql" else {}
                script = workdir / f"{backend}-{target}-{OPERATIONS.index(op)}.lua"
                script.write_text(lua_script(path, op.query, headers, op.variable, values))
                scripts[(op.name, target)] = script

        with (
            SimulatorServer(QikinkSimulator()) as qikink,
            graphql_server(database_url, workdir, args.workers, qikink) as graphql,
            bare_server(database_url, workdir) as bare,
        ):
            for op in OPERATIONS:
                value = seeded[op.pool][123] if op.pool else None
                if op.poll:
                    scripts[(op.name, "graphql")] = write_poll_script(
                        graphql, bare, op, value or "", workdir
                    )
                    scripts[(op.name, "bare")] = scripts[(BY_ID, "bare")]
                    continue
                check_same_json(graphql, bare, op, headers_for(op, credentials), value)
            for op in OPERATIONS:
                row = Row(rounds=[], op=op)
                for round_ in range(args.rounds):
                    graphql_load = measure_graphql(
                        graphql, scripts[(op.name, "graphql")], args, database_url, op, round_
                    )
                    bare_load = measure(
                        f"{bare.url}{op.bare_path}",
                        scripts[(op.name, "bare")],
                        args,
                        bare,
                        database_url,
                        warm_up=round_ == 0,
                    )
                    row.rounds.append((graphql_load, bare_load))
                result.rows.append(row)
                print(f"  measured {op.name}", flush=True)
            result.rss = graphql.peak_rss()
            result.bare_rss = bare.peak_rss()

            if args.compare_workers and backend == "postgres" and args.workers == 1:
                # Both servers up at once (the idle one costs nothing), run round after round.
                op = next(o for o in OPERATIONS if o.name == "qikinkOrderMapping(id)")
                script = scripts[(op.name, "graphql")]
                with graphql_server(database_url, workdir, args.compare_workers, qikink) as many:
                    check_answers(many, op, {}, seeded["orders"][7])
                    scaling = Paired(rounds=[])
                    for round_ in range(args.rounds):
                        loaded = measure(
                            f"{many.url}/graphql",
                            script,
                            args,
                            many,
                            database_url,
                            warm_up=round_ == 0,
                        )
                        one = measure_graphql(graphql, script, args, database_url, op, 1)
                        scaling.rounds.append((loaded, one))
                    result.scaling = (args.compare_workers, scaling)
                    result.scaling_rss = many.peak_rss()
    return result


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def _rounds(paired: Paired) -> str:
    return ", ".join(
        f"{a.requests_per_second:.0f} / {b.requests_per_second:.0f} = {ratio:.2f}"
        for (a, b), ratio in zip(paired.rounds, paired.ratios, strict=True)
    )


def print_result(result: Result, args: argparse.Namespace) -> bool:
    print(
        f"\n== {result.database}: {ROWS} product + {ROWS} order mappings ({result.shipped} "
        f"SHIPPED), seeded in {result.seed_seconds:.1f} s; wrk -t2 -c{args.concurrency} "
        f"-d{args.seconds}s, {args.rounds} rounds, {args.workers} uvicorn worker(s)"
    )
    header = (
        f"{'operation':<34} {'GraphQL r/s':>11} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'bare r/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6}  "
        f"{'ratio bar':>10} {'p99<=4xp50':>10}"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for row in result.rows:
        g, b = row.graphql, row.bare
        ratio_ok = row.ratio >= row.op.min_ratio
        tail_ok = g.tail <= MAX_P99_OVER_P50
        ok = ok and tail_ok and (ratio_ok or not row.op.bar)
        print(
            f"{row.op.name:<34} {g.requests_per_second:>11.0f} {g.p50_ms:>7.2f} {g.p99_ms:>7.2f} "
            f"{b.requests_per_second:>9.0f} {b.p50_ms:>7.2f} {b.p99_ms:>7.2f} {row.ratio:>6.2f}  "
            f"{(_yes(ratio_ok) + f' >={row.op.min_ratio}') if row.op.bar else 'info':>10} "
            f"{_yes(tail_ok):>10}"
        )
        database = (
            f" + database {g.database_cpu_ms:.2f} / {b.database_cpu_ms:.2f}"
            if result.database == "postgres"
            else ""
        )
        print(f"    GraphQL / bare by round: {_rounds(row)}; the row shows the median round")
        print(
            f"    CPU ms/request, GraphQL / bare: server {g.server_cpu_ms:.2f} / "
            f"{b.server_cpu_ms:.2f}{database}, wrk {g.wrk_cpu_ms:.2f} / {b.wrk_cpu_ms:.2f}; "
            f"others on the machine used {g.others_cores:.2f} / {b.others_cores:.2f} cores"
        )
        for load, who in ((g, "GraphQL"), (b, "bare")):
            # wrk counts a 304 among its "Non-2xx or 3xx responses": the 304 poll's all are.
            if load.errors and not (
                row.op.poll == "304" and who == "GraphQL" and load.errors.startswith("Non-2xx")
            ):
                ok = False
                print(f"    {who} errors: {load.errors}")
    for label, rss in (
        (f"{args.workers} worker(s)", result.rss),
        (f"{result.scaling[0]} workers" if result.scaling else "", result.scaling_rss),
    ):
        if not rss:
            continue
        workers = [mb for _, role, mb in rss if role == "worker"]
        rss_ok = bool(workers) and max(workers) < MAX_RSS_MB
        ok = ok and rss_ok
        listed = ", ".join(f"{role} {mb:.0f} MB" for _, role, mb in rss)
        print(
            f"peak RSS (VmHWM) of the service, {label}: {listed}; every worker under "
            f"{MAX_RSS_MB:.0f} MB: {_yes(rss_ok)}"
        )
    bare = ", ".join(f"{mb:.0f} MB" for _, _, mb in result.bare_rss)
    print(f"peak RSS of the bare server: {bare}")
    if result.scaling is not None:
        n, scaling = result.scaling
        many, one = scaling.median_round
        scale_ok = scaling.ratio >= MIN_WORKER_SCALING
        ok = ok and scale_ok
        print(
            f"qikinkOrderMapping(id) with {n} workers: {many.requests_per_second:.0f} r/s "
            f"(p50 {many.p50_ms:.2f} ms, p99 {many.p99_ms:.2f} ms) vs 1 worker "
            f"{one.requests_per_second:.0f} r/s: x{scaling.ratio:.2f}; >= {MIN_WORKER_SCALING}: "
            f"{_yes(scale_ok)}"
        )
        print(f"    {n} workers / 1 by round: {_rounds(scaling)}; the median round shown")
        print(
            f"    CPU ms/request: servers {many.server_cpu_ms:.2f}, database "
            f"{many.database_cpu_ms:.2f}, wrk {many.wrk_cpu_ms:.2f}; others used "
            f"{many.others_cores:.2f} cores"
        )
        if many.errors:
            print(f"    errors: {many.errors}")
    return ok


def bench(args: argparse.Namespace) -> bool:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    backends = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    print(
        f"{os.cpu_count()} CPUs; GraphQL server: qikink-graphql serve --workers {args.workers}; "
        f"bare: uvicorn + Starlette + the same service functions"
    )
    all_ok = True
    with tempfile.TemporaryDirectory(prefix="qkg-throughput-") as tmp:
        for backend in backends:
            print(f"\n{backend}: seeding and serving...", flush=True)
            result = bench_database(backend, args, Path(tmp))
            all_ok = print_result(result, args) and all_ok
    print(f"\nall bars met: {_yes(all_ok)}")
    return all_ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per run")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="runs of each server, alternating; the median round's ratio counts",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="wrk connections")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the service")
    parser.add_argument(
        "--compare-workers",
        type=int,
        default=0,
        metavar="N",
        help="also run qikinkOrderMapping(id) on PostgreSQL with N workers (e.g. 3)",
    )
    # The bench's own children.
    commands = parser.add_subparsers(dest="command", help=argparse.SUPPRESS)
    commands.add_parser("prepare").add_argument("database_url")
    bare = commands.add_parser("bare")
    bare.add_argument("database_url")
    bare.add_argument("port", type=int)
    args = parser.parse_args()
    if args.command == "prepare":
        print(json.dumps(asyncio.run(prepare(args.database_url))))
    elif args.command == "bare":
        serve_bare(args.database_url, args.port)
    else:
        sys.exit(0 if bench(args) else 1)


if __name__ == "__main__":
    main()
