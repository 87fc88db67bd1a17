"""The built-in simulator's HTTP face (/simulator): open on a laptop, admins only beside Medusa."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from services.shared import auth
from tests.conftest import TEST_JWT_SECRET, make_settings, serving
from tests.graphql_client import make_jwt

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

    from simulator import QikinkSimulator

# Where a Medusa backend would be: nothing here calls it.
MEDUSA = {"medusa_backend_url": "http://127.0.0.1:9", "medusa_api_key": "sk_test"}
ORDERS = "/simulator/__sim__/orders"
ADVANCE = "/simulator/__sim__/advance"


def simulator_of(http: httpx.AsyncClient) -> QikinkSimulator:
    sim: QikinkSimulator = http.app.state.runtime.simulator  # type: ignore[attr-defined]
    return sim


@pytest.fixture
async def beside_medusa(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The service on its simulator (no Qikink credentials) with a Medusa backend set."""
    async with serving(make_settings(database_url, **MEDUSA)) as http:
        order = simulator_of(http).add_order("MD1001ABCD")
        http.order_id = order["order_id"]  # type: ignore[attr-defined]
        yield http


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"authorization": "Bearer not-a-token"}, 401),
        # Signed with another secret (a guess of it).
        ({"authorization": f"Bearer {make_jwt('another-secret-' * 3)}"}, 401),
        ({"authorization": f"Bearer {make_jwt(TEST_JWT_SECRET, actor_type='customer')}"}, 403),
    ],
)
async def test_beside_medusa_the_simulator_refuses_anyone_but_an_admin(
    beside_medusa: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    sim = simulator_of(beside_medusa)
    before = sim.orders
    link = {"tracking_link": "https://evil.example/track", "awb": "1"}
    for method, path, body in (
        ("GET", ORDERS, None),
        ("GET", "/simulator/__sim__/requests", None),
        ("POST", ADVANCE, {"order_id": beside_medusa.order_id, "status": "In-Transit", **link}),  # type: ignore[attr-defined]
        ("POST", "/simulator/__sim__/reset", None),
        ("POST", "/simulator/api/token", None),
        ("GET", "/simulator/api/order", None),
    ):
        response = await beside_medusa.request(method, path, json=body, headers=headers)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"] == "application/json"
        assert "Asha" not in response.text
        message = response.json()["error"]
        assert ("admin" in message) if status == 403 else ("Authorization" in message)
    # Nothing was read, moved or wiped.
    assert sim.orders == before
    assert [r.endpoint for r in sim.requests] == []


async def test_beside_medusa_an_admin_jwt_or_api_key_uses_the_simulator(
    beside_medusa: httpx.AsyncClient,
) -> None:
    _, key = await auth.create_api_key("ops")
    for credential in (make_jwt(TEST_JWT_SECRET), key):
        headers = {"authorization": f"Bearer {credential}"}
        listed = await beside_medusa.get(ORDERS, headers=headers)
        assert listed.status_code == 200, listed.text
        assert [o["shipping"]["first_name"] for o in listed.json()] == ["Asha"]
    moved = await beside_medusa.post(
        ADVANCE,
        json={"order_id": beside_medusa.order_id, "status": "In-Transit", "awb": "123"},  # type: ignore[attr-defined]
        headers={"authorization": f"Bearer {key}"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "In-Transit"


async def test_without_medusa_the_simulator_stays_open_for_a_laptop(database_url: str) -> None:
    async with serving(make_settings(database_url)) as http:
        simulator_of(http).add_order("MD1001ABCD")
        listed = await http.get(ORDERS)
        assert listed.status_code == 200, listed.text
        assert len(listed.json()) == 1
