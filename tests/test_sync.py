"""Status sync: Qikink's statuses and tracking reach the mappings, cheaply."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import pytest

from models import JobState, OrderMapping, OrderMappingStatus, SubmitState
from services.errors import InvalidInput, NotFound
from services.refresh_plan import cheapest_cut
from services.statuses import map_status
from services.sync import SYNC_JOB, RefreshPlan, _sync_if_due, refresh_order_mappings
from tests.conftest import TEST_JWT_SECRET, qikink_settings, serving
from tests.graphql_client import codes, gql, make_jwt

if TYPE_CHECKING:
    from collections.abc import Callable

    from services.qikink_client import QikinkClient
    from simulator import SimulatorServer

ADMIN = {"authorization": f"Bearer {make_jwt(TEST_JWT_SECRET)}"}


@pytest.mark.parametrize(
    ("qikink", "ours"),
    [
        ("On Hold", OrderMappingStatus.SUBMITTED),
        ("Live OOS", OrderMappingStatus.SUBMITTED),
        ("Action Required", OrderMappingStatus.SUBMITTED),
        ("Live", OrderMappingStatus.IN_PRODUCTION),
        ("To be Printed", OrderMappingStatus.IN_PRODUCTION),
        ("Partially Picklisted", OrderMappingStatus.IN_PRODUCTION),
        ("Printed", OrderMappingStatus.IN_PRODUCTION),
        ("Manifested", OrderMappingStatus.SHIPPED),
        ("In-Transit", OrderMappingStatus.SHIPPED),
        ("Exception", OrderMappingStatus.SHIPPED),
        ("RTO Initiated", OrderMappingStatus.SHIPPED),
        ("picked up", OrderMappingStatus.SHIPPED),
        ("OUT FOR DELIVERY", OrderMappingStatus.SHIPPED),
        ("Delivery  Rescheduled", OrderMappingStatus.SHIPPED),
        ("Delivered", OrderMappingStatus.COMPLETED),
        ("Cancelled", OrderMappingStatus.CANCELED),
        ("Returned", OrderMappingStatus.RETURNED),
        ("Partially Returned", OrderMappingStatus.RETURNED),
        ("Lost", OrderMappingStatus.CANCELED),
        ("Archived", OrderMappingStatus.COMPLETED),
        ("Handed over to a new courier state", None),
        ("", None),
        (None, None),
    ],
)
def test_qikink_statuses_map_case_insensitively_and_unknown_ones_mean_in_progress(
    qikink: str | None, ours: OrderMappingStatus | None
) -> None:
    assert map_status(qikink) == ours


@pytest.fixture
def client(
    connected_db: str, sim_server: SimulatorServer, make_qikink_client: Callable[..., QikinkClient]
) -> QikinkClient:
    sim_server.sim.rate_limit_per_minute = 0
    return make_qikink_client(per_minute=0)


async def place(
    sim_server: SimulatorServer, count: int, *, ours: bool = True, start: int = 0
) -> list[OrderMapping]:
    """`count` Qikink orders, oldest first, each with a SUBMITTED mapping when `ours`."""
    base = datetime(2026, 11, 1, tzinfo=UTC)
    rows = []
    for i in range(start, start + count):
        when = base + timedelta(minutes=i)
        number = f"SO{i:05d}"
        order = sim_server.sim.add_order(number, created_on=when)
        if not ours:
            continue
        row = await OrderMapping.create(
            medusa_order_id=f"order_{i:05d}",
            qikink_order_number=number,
            qikink_order_id=str(order["order_id"]),
            status=OrderMappingStatus.SUBMITTED,
            qikink_status="On Hold",
            submit_state=SubmitState.DONE,
        )
        await OrderMapping.filter(id=row.id).update(created_at=when)
        row.created_at = when
        rows.append(row)
    return rows


def calls(sim_server: SimulatorServer, endpoint: str) -> int:
    return sum(1 for r in sim_server.sim.requests if r.endpoint == endpoint)


async def test_statuses_and_tracking_are_stored_and_an_empty_awb_link_is_no_link(
    client: QikinkClient, sim_server: SimulatorServer
) -> None:
    rows = await place(sim_server, 3)
    sim = sim_server.sim
    sim.advance(int(rows[0].qikink_order_id), "Printed")
    sim.advance(
        int(rows[1].qikink_order_id),
        "In-Transit",
        awb="1234567890123",
        courier="Delhivery",
    )
    sim.advance(
        int(rows[2].qikink_order_id), "Manifested", tracking_link="https://courierupdates.com/?awb="
    )
    result = await refresh_order_mappings(client)
    assert (result.updated, result.processed, result.total_eligible) == (3, 3, 3)

    printed, transit, manifested = [await OrderMapping.get(id=row.id) for row in rows]
    assert (printed.status, printed.qikink_status) == (OrderMappingStatus.IN_PRODUCTION, "Printed")
    assert transit.status is OrderMappingStatus.SHIPPED
    assert (transit.tracking_number, transit.courier) == ("1234567890123", "Delhivery")
    assert transit.tracking_url == "https://courierupdates.com/?awb=1234567890123"
    assert (manifested.status, manifested.tracking_url) == (OrderMappingStatus.SHIPPED, None)
    assert all(row.last_synced_at is not None for row in (printed, transit, manifested))

    again = await refresh_order_mappings(client)
    assert (again.updated, again.processed) == (0, 3)


async def test_final_statuses_leave_the_refresh_and_are_never_left(
    client: QikinkClient, sim_server: SimulatorServer
) -> None:
    [row] = await place(sim_server, 1)
    sim_server.sim.advance(int(row.qikink_order_id), "Delivered")
    await refresh_order_mappings(client)
    await row.refresh_from_db()
    assert row.status is OrderMappingStatus.COMPLETED

    assert (await refresh_order_mappings(client)).total_eligible == 0
    # Even asked for by id, a delivered order does not move back to "shipped".
    sim_server.sim.advance(int(row.qikink_order_id), "In-Transit")
    await refresh_order_mappings(client, order_id=row.qikink_order_id)
    await row.refresh_from_db()
    assert (row.status, row.qikink_status) == (OrderMappingStatus.COMPLETED, "In-Transit")


async def test_an_unknown_courier_status_is_kept_raw_and_changes_nothing_else(
    client: QikinkClient, sim_server: SimulatorServer
) -> None:
    [row] = await place(sim_server, 1)
    sim_server.sim.advance(int(row.qikink_order_id), "Shipment Held At Hub")
    result = await refresh_order_mappings(client)
    await row.refresh_from_db()
    assert result.updated == 1
    assert (row.status, row.qikink_status) == (
        OrderMappingStatus.SUBMITTED,
        "Shipment Held At Hub",
    )


async def test_many_recent_mappings_are_refreshed_by_walking_pages(
    client: QikinkClient, sim_server: SimulatorServer
) -> None:
    rows = await place(sim_server, 95)
    for row in rows[::2]:
        sim_server.sim.advance(int(row.qikink_order_id), "Live")
    result = await refresh_order_mappings(client)
    assert result.plan == RefreshPlan(pages=10, gets=0, pages_walked=10, gets_made=0)
    assert (result.processed, result.updated, result.qikink_calls) == (95, 48, 10)
    assert calls(sim_server, "list") == 10
    assert calls(sim_server, "get") == 0


async def test_a_few_old_mappings_behind_many_orders_are_fetched_one_by_one(
    client: QikinkClient, sim_server: SimulatorServer
) -> None:
    old = await place(sim_server, 3)
    newer = await place(sim_server, 60, start=3)
    for row in newer:
        await OrderMapping.filter(id=row.id).update(status=OrderMappingStatus.COMPLETED)
    result = await refresh_order_mappings(client)
    assert result.plan == RefreshPlan(pages=0, gets=3, pages_walked=0, gets_made=3)
    assert (result.processed, result.total_eligible) == (3, 3)
    assert calls(sim_server, "get") == 3
    assert calls(sim_server, "list") == 0
    asked = {parse_qs(r.query)["id"][0] for r in sim_server.sim.requests if r.endpoint == "get"}
    assert asked == {r.qikink_order_id for r in old}


async def test_orders_made_outside_the_service_push_mappings_back_and_gets_finish_the_walk(
    client: QikinkClient, sim_server: SimulatorServer
) -> None:
    rows = await place(sim_server, 30)
    # The merchant made 200 orders in Qikink by hand since: the walk gives up, GETs finish.
    await place(sim_server, 200, ours=False, start=30)
    result = await refresh_order_mappings(client)
    assert (result.plan.pages, result.plan.gets) == (3, 0)
    assert result.processed == len(rows)
    # The walk stops at twice its plan (and a few): what it did not meet, it GETs.
    assert calls(sim_server, "list") == result.plan.pages_walked <= 3 * 2 + 5
    assert calls(sim_server, "get") == result.plan.gets_made == len(rows)


@pytest.mark.parametrize(
    ("positions", "covered", "calls"),
    [
        ([], 0, 0),
        # One mapping: a GET, unless it is on page 1 (a page costs the same, GET wins a tie).
        ([0], 0, 1),
        ([25], 0, 1),
        # Ten on page 1: one page.
        (list(range(10)), 10, 1),
        # Every other place: 2 pages for 10 mappings beats 10 GETs.
        (list(range(0, 20, 2)), 10, 2),
        # 30 recent, 2 behind 2,000 finished orders: walk 3 pages, GET 2.
        ([*range(30), 2030, 2031], 30, 5),
        # Spread thin (one a page): GETs cost the same as pages, take the fewer pages.
        (list(range(0, 100, 10)), 0, 10),
        # One a page but the first on page 1 and five on page 2: walk 2 pages, GET the rest.
        ([0, 10, 11, 12, 13, 14, 40, 50], 6, 4),
    ],
)
def test_the_cut_off_is_the_cheapest_for_where_the_mappings_sit(
    positions: list[int], covered: int, calls: int
) -> None:
    assert cheapest_cut(positions) == covered
    pages = -(-(positions[covered - 1] + 1) // 10) if covered else 0
    assert pages + len(positions) - covered == calls
    # No other cut-off is cheaper.
    for other in range(len(positions) + 1):
        other_pages = -(-(positions[other - 1] + 1) // 10) if other else 0
        assert other_pages + len(positions) - other >= calls


async def test_a_long_tail_of_old_open_orders_costs_a_get_each_not_a_walk_to_them(
    client: QikinkClient, sim_server: SimulatorServer
) -> None:
    old = await place(sim_server, 3)
    finished = await place(sim_server, 200, start=3)
    recent = await place(sim_server, 30, start=203)
    await OrderMapping.filter(id__in=[r.id for r in finished]).update(
        status=OrderMappingStatus.COMPLETED
    )
    for row in (*old, *recent):
        sim_server.sim.advance(int(row.qikink_order_id), "Printed")
    result = await refresh_order_mappings(client)
    assert result.plan == RefreshPlan(pages=3, gets=3, pages_walked=3, gets_made=3)
    assert (result.processed, result.updated, result.qikink_calls) == (33, 33, 6)
    asked = {parse_qs(r.query)["id"][0] for r in sim_server.sim.requests if r.endpoint == "get"}
    assert asked == {r.qikink_order_id for r in old}
    statuses = await OrderMapping.filter(id__in=[r.id for r in (*old, *recent)]).values_list(
        "status", flat=True
    )
    assert set(statuses) == {OrderMappingStatus.IN_PRODUCTION}


async def test_old_open_orders_behind_many_made_elsewhere_are_fetched_not_walked_to(
    client: QikinkClient, sim_server: SimulatorServer
) -> None:
    old = await place(sim_server, 3)
    await place(sim_server, 200, ours=False, start=3)
    await place(sim_server, 30, start=203)
    result = await refresh_order_mappings(client)
    # By our own orders the old three sit on page 4; Qikink's pages show them 20 pages back.
    assert (result.plan.pages, result.plan.gets) == (4, 0)
    assert (result.plan.pages_walked, result.plan.gets_made) == (3, 3)
    assert result.processed == 33
    asked = {parse_qs(r.query)["id"][0] for r in sim_server.sim.requests if r.endpoint == "get"}
    assert asked == {r.qikink_order_id for r in old}


async def test_orders_made_elsewhere_between_ours_keep_the_walk_going_while_it_pays(
    client: QikinkClient, sim_server: SimulatorServer
) -> None:
    # Three of the merchant's other orders after each of ours, 40 of ours: walking the 16
    # pages costs less than 40 GETs, though the plan by our own orders said 4 pages.
    rows = []
    for index in range(40):
        rows += await place(sim_server, 1, start=4 * index)
        await place(sim_server, 3, ours=False, start=4 * index + 1)
    result = await refresh_order_mappings(client)
    assert (result.plan.pages, result.plan.gets) == (4, 0)
    assert (result.plan.pages_walked, result.plan.gets_made) == (16, 0)
    assert result.processed == len(rows)


async def test_a_walk_that_cannot_find_a_mapping_stops_once_pages_are_older_than_it(
    client: QikinkClient, sim_server: SimulatorServer
) -> None:
    # Five days of other orders before ours, one an hour.
    base = datetime(2026, 11, 1, tzinfo=UTC)
    for hour in range(120, 0, -1):
        sim_server.sim.add_order(f"X{hour:04d}", created_on=base - timedelta(hours=hour))
    rows = await place(sim_server, 20)
    # One mapping names an order Qikink does not have.
    await OrderMapping.filter(id=rows[5].id).update(qikink_order_id="99999999")
    result = await refresh_order_mappings(client)
    # Our 2 pages: from their created_on it is plain that the lost one would have been on
    # them, so one GET costs less than walking on into the other orders.
    assert result.plan == RefreshPlan(pages=2, gets=0, pages_walked=2, gets_made=1)
    assert result.processed == 19


async def test_the_limit_bounds_one_refresh_and_the_longest_unsynced_go_first(
    client: QikinkClient, sim_server: SimulatorServer
) -> None:
    rows = await place(sim_server, 5)
    await OrderMapping.filter(id__in=[r.id for r in rows[:3]]).update(
        last_synced_at=datetime(2026, 11, 2, tzinfo=UTC)
    )
    result = await refresh_order_mappings(client, limit=2)
    assert (result.processed, result.total_eligible, result.limit) == (2, 5, 2)
    synced = await OrderMapping.filter(last_synced_at__gt=datetime(2026, 11, 3, tzinfo=UTC))
    assert {row.id for row in synced} == {rows[3].id, rows[4].id}


async def test_bad_bounds_and_unknown_orders_are_refused(client: QikinkClient) -> None:
    for limit, concurrency in ((0, 20), (1001, 20), (10, 0), (10, 101)):
        with pytest.raises(InvalidInput):
            await refresh_order_mappings(client, limit=limit, concurrency=concurrency)
    with pytest.raises(NotFound):
        await refresh_order_mappings(client, order_id="999")


async def test_only_one_process_runs_the_background_sync_at_a_time(
    client: QikinkClient, sim_server: SimulatorServer
) -> None:
    await place(sim_server, 3)
    await asyncio.gather(
        *(_sync_if_due(client, owner=f"worker-{i}", interval=900, limit=100) for i in range(4))
    )
    assert calls(sim_server, "list") + calls(sim_server, "get") == 1
    state = await JobState.get(name=SYNC_JOB)
    assert state.lease_owner is None
    assert state.value["processed"] == 3
    # Within the interval nobody runs it again.
    await _sync_if_due(client, owner="worker-9", interval=900, limit=100)
    assert calls(sim_server, "list") + calls(sim_server, "get") == 1


REFRESH = """mutation($orderId: ID, $limit: Int, $concurrency: Int) {
  refreshOrderMappings(orderId: $orderId, limit: $limit, concurrency: $concurrency) {
    updated processed totalEligible limit qikinkCalls
    plan { pages gets pagesWalked getsMade } } }"""
CHANGES = """mutation($orderId: ID) { refreshOrderMappings(orderId: $orderId) {
  updated changes { previousStatus mapping { medusaOrderId status qikinkStatus courier } } } }"""


async def test_the_refresh_mutation_reports_what_it_did(
    database_url: str, sim_server: SimulatorServer
) -> None:
    async with serving(qikink_settings(database_url, sim_server)) as http:
        rows = await place(sim_server, 4)
        sim_server.sim.advance(int(rows[1].qikink_order_id), "Printed")
        body = await gql(http, REFRESH, {}, ADMIN)
        assert body == {
            "data": {
                "refreshOrderMappings": {
                    "updated": 1,
                    "processed": 4,
                    "totalEligible": 4,
                    "limit": 500,
                    # Four recent orders share page 1.
                    "qikinkCalls": 1,
                    "plan": {"pages": 1, "gets": 0, "pagesWalked": 1, "getsMade": 0},
                }
            }
        }
        one = await gql(http, REFRESH, {"orderId": rows[0].qikink_order_id}, ADMIN)
        assert one["data"]["refreshOrderMappings"]["processed"] == 1
        assert one["data"]["refreshOrderMappings"]["plan"]["getsMade"] == 1
        bad = await gql(http, REFRESH, {"limit": 1001}, ADMIN)
        assert codes(bad) == ["BAD_USER_INPUT"]
        missing = await gql(http, REFRESH, {"orderId": "42"}, ADMIN)
        assert codes(missing) == ["NOT_FOUND"]
        anonymous = await gql(http, REFRESH, {})
        assert codes(anonymous) == ["UNAUTHENTICATED"]


async def test_a_refresh_over_the_budget_stops_and_says_so(
    database_url: str, sim_server: SimulatorServer
) -> None:
    settings = qikink_settings(database_url, sim_server, qikink_rate_limit_requests_per_minute=3)
    async with serving(settings) as http:
        old = await place(sim_server, 5)
        newer = await place(sim_server, 60, start=5)
        await OrderMapping.filter(id__in=[r.id for r in newer]).update(
            status=OrderMappingStatus.COMPLETED
        )
        first = await gql(http, REFRESH, {"concurrency": 1}, ADMIN)
        # Token + 2 GETs fit in the budget of 3; the rest wait for the next refresh.
        assert first["data"]["refreshOrderMappings"]["processed"] == 2
        assert first["data"]["refreshOrderMappings"]["totalEligible"] == len(old)
        second = await gql(http, REFRESH, {}, ADMIN)
        assert codes(second) == ["RATE_LIMITED"]


async def test_the_refresh_reports_the_mappings_whose_status_changed(
    database_url: str, sim_server: SimulatorServer
) -> None:
    async with serving(qikink_settings(database_url, sim_server)) as http:
        rows = await place(sim_server, 3)
        sim = sim_server.sim
        sim.advance(int(rows[0].qikink_order_id), "Printed")
        sim.advance(int(rows[2].qikink_order_id), "In-Transit", courier="Delhivery")
        body = await gql(http, CHANGES, {}, ADMIN)
        result = body["data"]["refreshOrderMappings"]
        assert result["updated"] == 2
        assert sorted(result["changes"], key=lambda c: c["mapping"]["medusaOrderId"]) == [
            {
                "previousStatus": "SUBMITTED",
                "mapping": {
                    "medusaOrderId": rows[0].medusa_order_id,
                    "status": "IN_PRODUCTION",
                    "qikinkStatus": "Printed",
                    "courier": None,
                },
            },
            {
                "previousStatus": "SUBMITTED",
                "mapping": {
                    "medusaOrderId": rows[2].medusa_order_id,
                    "status": "SHIPPED",
                    "qikinkStatus": "In-Transit",
                    "courier": "Delhivery",
                },
            },
        ]
        # Tracking alone is an update, not a status change; nothing new is no change.
        sim.advance(int(rows[2].qikink_order_id), "In-Transit", awb="1234567890123")
        again = await gql(http, CHANGES, {}, ADMIN)
        assert again["data"]["refreshOrderMappings"] == {"updated": 1, "changes": []}
        sim.advance(int(rows[1].qikink_order_id), "Delivered")
        one = await gql(http, CHANGES, {"orderId": rows[1].qikink_order_id}, ADMIN)
        assert one["data"]["refreshOrderMappings"]["changes"] == [
            {
                "previousStatus": "SUBMITTED",
                "mapping": {
                    "medusaOrderId": rows[1].medusa_order_id,
                    "status": "COMPLETED",
                    "qikinkStatus": "Delivered",
                    "courier": None,
                },
            }
        ]
