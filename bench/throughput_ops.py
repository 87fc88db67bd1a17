"""bench/graphql_throughput.py's settings, bars and operations: what it measures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
CLI = PROJECT_ROOT / ".venv" / "bin" / "qikink-graphql"
JWT_SECRET = "bench-secret-" + "x" * 40
# /metrics answers only this token (METRICS_TOKEN).
METRICS_TOKEN = "bench-metrics-" + "m" * 20
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
