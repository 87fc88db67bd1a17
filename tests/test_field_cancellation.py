"""A field cancelled half way leaves nothing held: the service keeps answering.

graphql-core cancels the other fields of an operation when one of them fails. A field
cancelled that way (inside its Qikink call, or a plain query) used to stop between Tortoise
taking SQLite's one connection lock and giving it back; from then on every query of the process
hung (`/ready` too).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from tests.conftest import TEST_JWT_SECRET, qikink_settings, serving
from tests.graphql_client import codes, gql, make_jwt

if TYPE_CHECKING:
    from simulator import SimulatorServer

ADMIN = {"authorization": f"Bearer {make_jwt(TEST_JWT_SECRET)}"}
# The first field fails at once (page 0), while the others are inside their Qikink call or
# their database queries.
FAILING_BESIDE = [
    "{ a: qikinkOrders(page: 0) { orderId } b: qikinkOrders(page: 1) { orderId } }",
    "{ a: qikinkOrders(page: 0) { orderId } b: productMappings { count } }",
    "{ a: qikinkOrders(page: 0) { orderId } b: qikinkOrderMappings { count } "
    'c: productMapping(id: "pm_1") { id } }',
]
# Generous: a hang is what is caught, not a slow answer.
HANG = 10.0


@pytest.mark.parametrize("operation", FAILING_BESIDE)
async def test_a_field_cancelled_half_way_leaves_the_service_answering(
    database_url: str, sim_server: SimulatorServer, operation: str
) -> None:
    sim_server.sim.rate_limit_per_minute = 0
    settings = qikink_settings(database_url, sim_server, qikink_rate_limit_requests_per_minute=1000)
    async with serving(settings) as http:
        for _ in range(20):
            body = await asyncio.wait_for(gql(http, operation, {}, ADMIN), HANG)
            assert "BAD_USER_INPUT" in codes(body)
        after = await asyncio.wait_for(gql(http, "{ productMappings { count } }", {}, ADMIN), HANG)
        assert after == {"data": {"productMappings": {"count": 0}}}
        ready = await asyncio.wait_for(http.get("/ready"), HANG)
        assert ready.status_code == 200
