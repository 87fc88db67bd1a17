"""`qikink-graphql serve --workers 3` on PostgreSQL: one token, one budget, one outbox, one sync.

A real `serve --workers 3` (uvicorn with three worker processes on one port) runs against the
simulator on a real port (30 requests a minute, as Qikink). Each worker runs the outbox worker
(polling every 0.2 s) and the periodic status sync (every second, so every worker keeps trying).
The test maps a variant, queues ten store orders with `submitStoreOrder` and fires a burst of
storefront `qikinkOrders` calls, each on its own connection and in quick waves so they spread
over the workers, then waits until every mapping is SUBMITTED and a status sync has made a
Qikink call. The storefront burst takes only its share of the budget, so the outbox and the
sync find slots at once and a run takes a few seconds (background work waits for a slot when
it must).

What it checks, from the simulator's own records and the database:

- every worker's service log lines reach the log (one per GraphQL operation);
- one token mint, no request refused by Qikink as unauthorized or for rate, never more than 30
  requests in any 60 s; the storefront calls (the proxy opened, with its share of 5 a minute)
  beyond that share are refused `RATE_LIMITED` by the service itself, whichever worker took
  them (how uvicorn spread them is printed, not asserted);
- each store order became exactly one Qikink order (one create call each);
- the status syncs never overlapped: a trigger (installed by this test on `job_state`, dropped
  after it) records every change of the `status_sync` lease, and every take of the lease found
  it free. Several passes ran, at least one of them with Qikink calls (it waits for the budget
  like the outbox). Which worker wins each pass is up to timing; the lease attempts that lose
  change no row, so a row trigger cannot see them.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
import pytest

from services.qikink.lanes import rate_limit_message
from simulator import QikinkSimulator, SimulatorServer
from tests.conftest import METRICS_HEADERS, TEST_JWT_SECRET, TEST_METRICS_TOKEN
from tests.graphql_client import make_jwt, store_order_input
from tests.live_server import LiveServer
from tests.waiting import eventually

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


WORKERS = 3
BUDGET = 30
ORDERS = 10
BURST = 40
STOREFRONT_SHARE = 5
WAVES = 8
WAVE_GAP = 0.03
# The burst can take the minute's slots before the outbox does: the last orders then wait
# for the rolling window, about a minute.
SUBMIT_TIMEOUT = 150.0

CREATE_MAPPING = """mutation($input: ProductMappingInput!) {
  createProductMapping(input: $input) { id } }"""
SUBMIT = """mutation($order: StoreOrderInput!) { submitStoreOrder(order: $order) {
  skipped mapping { id qikinkOrderNumber status } } }"""
STOREFRONT = "{ qikinkOrders { orderId } }"

# Every change of a job_state row, in commit order of the database's own clock.
AUDIT_SETUP = """
CREATE TABLE test_job_state_audit (
    seq bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    name text,
    old_owner text,
    new_owner text,
    old_expires timestamptz,
    finished_at text,
    calls text
);
CREATE FUNCTION test_job_state_audit() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO test_job_state_audit (name, new_owner, finished_at, calls)
        VALUES (NEW.name, NEW.lease_owner, NEW.value ->> 'finished_at', NEW.value ->> 'calls');
    ELSE
        INSERT INTO test_job_state_audit
            (name, old_owner, new_owner, old_expires, finished_at, calls)
        VALUES (NEW.name, OLD.lease_owner, NEW.lease_owner, OLD.lease_expires_at,
                NEW.value ->> 'finished_at', NEW.value ->> 'calls');
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER test_job_state_audit AFTER INSERT OR UPDATE ON job_state
    FOR EACH ROW EXECUTE FUNCTION test_job_state_audit();
"""
AUDIT_TEARDOWN = """
DROP TRIGGER IF EXISTS test_job_state_audit ON job_state;
DROP FUNCTION IF EXISTS test_job_state_audit();
DROP TABLE IF EXISTS test_job_state_audit;
"""


def store_order(index: int) -> dict[str, Any]:
    return store_order_input(
        f"order_01JMULTIWORKER{index:012d}", str(3000 + index), "variant_tee_white_s"
    )


@pytest.fixture
def limited_server() -> Iterator[SimulatorServer]:
    with SimulatorServer(QikinkSimulator(rate_limit_per_minute=BUDGET)) as server:
        yield server


@pytest.fixture
async def sync_audit(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the test's PostgreSQL database with the job_state trigger in place."""
    if not database_url.startswith("postgres"):
        pytest.skip("several workers share one database: this runs on the PostgreSQL pass")
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(AUDIT_TEARDOWN)
        await conn.execute(AUDIT_SETUP)
        yield conn
    finally:
        await conn.execute(AUDIT_TEARDOWN)
        await conn.close()


# The storefronts' key: the opened proxy needs one.
PUBLISHABLE_KEY = "pk_store_front_1"


def serve_env(database_url: str, sim: SimulatorServer) -> dict[str, str]:
    # LiveServer inherits no setting from the developer's shell: these are all it gets.
    return dict(
        DATABASE_URL=database_url,
        JWT_SECRET=TEST_JWT_SECRET,
        METRICS_TOKEN=TEST_METRICS_TOKEN,
        QIKINK_API_URL=sim.url,
        QIKINK_CLIENT_ID=sim.sim.client_id,
        QIKINK_CLIENT_SECRET=sim.sim.client_secret,
        QIKINK_RATE_LIMIT_REQUESTS_PER_MINUTE=str(BUDGET),
        STOREFRONT_QIKINK_PROXY="true",
        QIKINK_PUBLISHABLE_KEYS=PUBLISHABLE_KEY,
        QIKINK_STOREFRONT_CALLS_PER_MINUTE=str(STOREFRONT_SHARE),
        WORKER_POLL_SECONDS="0.2",
        SYNC_INTERVAL_SECONDS="1",
        LOG_LEVEL="INFO",
    )


async def graphql(
    url: str, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> dict[str, Any]:
    """One call on a connection of its own, so calls spread over the workers."""
    headers = {"x-publishable-api-key": PUBLISHABLE_KEY}
    if token:
        headers["authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.post(
            f"{url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def outcome(body: dict[str, Any]) -> str:
    errors = body.get("errors") or []
    if not errors:
        return "ok"
    return f"{(errors[0].get('extensions') or {}).get('code')}: {errors[0]['message']}"


async def storefront_calls_per_worker(url: str, scrapes: int = 30) -> list[int]:
    """What `/metrics` says each answering worker served of the burst (one worker a scrape)."""
    seen = []
    pattern = re.compile(
        r'^qikink_graphql_requests_total\{operation="query:qikinkOrders",outcome="[^"]+"\} '
        r"([\d.]+)$",
        re.MULTILINE,
    )
    for _ in range(scrapes):
        async with httpx.AsyncClient(timeout=10) as http:
            text = (await http.get(f"{url}/metrics", headers=METRICS_HEADERS)).text
        seen.append(int(sum(float(n) for n in pattern.findall(text))))
    return seen


async def test_three_workers_share_one_token_one_budget_one_outbox_and_one_sync(
    database_url: str,
    sync_audit: asyncpg.Connection,
    limited_server: SimulatorServer,
    tmp_path: Path,
) -> None:
    sim = limited_server.sim
    serve = LiveServer(tmp_path, serve_env(database_url, limited_server), workers=WORKERS)
    admin = make_jwt(TEST_JWT_SECRET)
    try:
        await asyncio.to_thread(serve.start)
        created = await graphql(
            serve.url,
            CREATE_MAPPING,
            {"input": {"qikinkSkuId": "MVnHs-Wh-S", "variantId": "variant_tee_white_s"}},
            admin,
        )
        assert outcome(created) == "ok", created

        queued = await asyncio.gather(
            *(graphql(serve.url, SUBMIT, {"order": store_order(i)}, admin) for i in range(ORDERS))
        )
        assert [outcome(body) for body in queued] == ["ok"] * ORDERS, queued
        numbers = {
            body["data"]["submitStoreOrder"]["mapping"]["qikinkOrderNumber"] for body in queued
        }
        assert len(numbers) == ORDERS

        async def wave(index: int) -> list[dict[str, Any]]:
            await asyncio.sleep(index * WAVE_GAP)
            return await asyncio.gather(
                *(graphql(serve.url, STOREFRONT) for _ in range(BURST // WAVES))
            )

        # In waves: a worker that wakes for the listening socket accepts every connection
        # waiting there, so one instantaneous burst would all go to one worker.
        waves = await asyncio.gather(*(wave(i) for i in range(WAVES)))
        outcomes = Counter(outcome(body) for bodies in waves for body in bodies)

        async def all_submitted() -> bool:
            count = await sync_audit.fetchval(
                "SELECT count(*) FROM order_mappings WHERE status = 'SUBMITTED'"
            )
            return bool(count == ORDERS)

        try:
            await eventually(all_submitted, within=SUBMIT_TIMEOUT, every=0.5)
        except AssertionError:
            rows = await sync_audit.fetch(
                "SELECT medusa_order_id, status, submit_state, attempts, last_error "
                "FROM order_mappings ORDER BY medusa_order_id"
            )
            pytest.fail(f"not all SUBMITTED: {[dict(r) for r in rows]}\n{serve.log()[-6000:]}")

        # And a sync pass that did Qikink calls, now that there are orders to sync (it may
        # have to wait for the rolling window, like the orders).
        async def a_sync_did_work() -> bool:
            calls = await sync_audit.fetchval(
                "SELECT max(calls::int) FROM test_job_state_audit WHERE name = 'status_sync'"
            )
            return bool(calls)

        try:
            await eventually(a_sync_did_work, within=SUBMIT_TIMEOUT, every=0.5)
        except AssertionError:
            pytest.fail(f"no status sync made a Qikink call\n{serve.log()[-6000:]}")
        per_worker = await storefront_calls_per_worker(serve.url)
    finally:
        exit_code = await asyncio.to_thread(serve.stop)

    assert exit_code == 0, serve.log()[-6000:]
    # Every worker process logs: each GraphQL operation's line reached the log.
    logged = serve.log().count('"event": "graphql"')
    assert logged >= 1 + ORDERS + BURST, serve.log()[-6000:]

    # One token, and Qikink never refused anything: our shared budget refused first.
    assert sim.tokens_minted == 1, serve.log()[-6000:]
    at_qikink = Counter(f"{r.endpoint}:{r.outcome}" for r in sim.requests)
    assert not [k for k in at_qikink if k.endswith((":unauthorized", ":rate_limited"))], at_qikink
    assert sim.max_requests_in_window(60) <= BUDGET, at_qikink

    # The storefront burst wanted more than its share, across the three processes: the rest
    # was refused by the service (by the share, or by the whole budget when background work
    # had filled it).
    # Each refusal names its own wait, a minute at most (and the second of safety margin).
    waits = range(1, 62)
    refused = {f"RATE_LIMITED: {rate_limit_message(STOREFRONT_SHARE, s)}" for s in waits}
    budget_full = {f"RATE_LIMITED: {rate_limit_message(BUDGET, s)}" for s in waits}
    assert set(outcomes) <= {"ok", *refused, *budget_full}, outcomes
    assert outcomes["ok"] <= STOREFRONT_SHARE, outcomes
    assert sum(outcomes[message] for message in refused) > 0, outcomes
    # Which worker answered which call is uvicorn's choice (one listening socket): printed
    # below, not asserted. The share is counted in the database whoever answers, which
    # tests/test_storefront_lane.py shows for two clients on one database.

    # Each outbox mapping was sent once and became exactly one Qikink order.
    assert at_qikink["create:ok"] == ORDERS, at_qikink
    for number in numbers:
        assert len(sim.orders_with_number(number)) == 1, number
    rows = await sync_audit.fetch("SELECT qikink_order_id FROM order_mappings")
    assert len({row["qikink_order_id"] for row in rows}) == ORDERS

    # One status sync at a time: every take of the lease found it free (or expired).
    changes = await sync_audit.fetch(
        "SELECT * FROM test_job_state_audit WHERE name = 'status_sync' ORDER BY seq"
    )
    takes = [c for c in changes if c["new_owner"] is not None and c["new_owner"] != c["old_owner"]]
    overlapping = [
        dict(c)
        for c in takes
        if c["old_owner"] is not None and (c["old_expires"] is None or c["old_expires"] > c["at"])
    ]
    assert overlapping == [], overlapping
    # Each finished pass stored its own `finished_at` (later rows repeat the last one).
    passes = {c["finished_at"]: int(c["calls"] or 0) for c in changes if c["finished_at"]}
    assert len(takes) >= 2, [dict(c) for c in changes]
    assert len(passes) >= 2, [dict(c) for c in changes]
    print(
        f"storefront burst {dict(outcomes)}; served per scraped worker {sorted(set(per_worker))}; "
        f"Qikink saw {dict(at_qikink)}, at most {sim.max_requests_in_window(60)} in 60 s; "
        f"{len(takes)} sync passes taken by {len({c['new_owner'] for c in takes})} worker(s), "
        f"{len(passes)} finished, Qikink calls per pass {list(passes.values())}"
    )
