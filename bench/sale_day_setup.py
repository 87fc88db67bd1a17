"""What bench/sale_day.py starts from: the seeded database (open Qikink orders and their
mappings, one mapped variant) and the service's settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from config import load_settings
from models import OrderMapping, OrderMappingStatus, ProductMapping, SubmitState
from services.shared import db

if TYPE_CHECKING:
    from simulator import QikinkSimulator, SimulatorServer

JWT_SECRET = "bench-sale-day-" + "x" * 40
METRICS_TOKEN = "bench-sale-day-metrics-" + "m" * 10
SKU = "MVnHs-Wh-S"
VARIANT = "variant_tee_white_s"


def sync_reserve(budget: int) -> int:
    """The reserve the service and the sync will compute for `budget` (config's rule)."""
    # Explicit values win over the environment, which the processes do not inherit either.
    return load_settings(
        env_file=None, qikink_rate_limit_requests_per_minute=budget, qikink_rate_reserve=None
    ).rate_reserve


def service_env(database_url: str, qikink: SimulatorServer, budget: int) -> dict[str, str]:
    sim = qikink.sim
    return {
        "DATABASE_URL": database_url,
        "JWT_SECRET": JWT_SECRET,
        "METRICS_TOKEN": METRICS_TOKEN,
        "QIKINK_API_URL": qikink.url,
        "QIKINK_CLIENT_ID": sim.client_id,
        "QIKINK_CLIENT_SECRET": sim.client_secret,
        "QIKINK_RATE_LIMIT_REQUESTS_PER_MINUTE": str(budget),
        # The CLI's sync is the sync under test: the service's own periodic one stays off.
        "SYNC_INTERVAL_SECONDS": "0",
        "WORKER_POLL_SECONDS": "0.2",
    }


async def seed(database_url: str, sim: QikinkSimulator, count: int) -> None:
    """`count` open Qikink orders a minute apart, each with its SUBMITTED mapping; one SKU."""
    first = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=count)
    await db.connect_db(database_url)
    try:
        rows = []
        for index in range(count):
            number = f"SD{index:05d}"
            order = sim.add_order(number, created_on=first + timedelta(minutes=index))
            if index % 7 == 6:
                sim.advance(order["order_id"], "In-Transit", awb=f"AWB{index:010d}")
            elif index % 5 == 4:
                sim.advance(order["order_id"], "Printed")
            rows.append(
                OrderMapping(
                    medusa_order_id=f"order_seed_{index:05d}",
                    qikink_order_number=number,
                    qikink_order_id=str(order["order_id"]),
                    status=OrderMappingStatus.SUBMITTED,
                    qikink_status="On Hold",
                    submit_state=SubmitState.DONE,
                    # Made when its order was: the sync's plan reads how far back the oldest
                    # mapping goes (auto_now_add stamps only a created_at left empty).
                    created_at=first + timedelta(minutes=index),
                )
            )
        await OrderMapping.bulk_create(rows, batch_size=500)
        await ProductMapping.create(qikink_sku_id=SKU, variant_id=VARIANT)
    finally:
        await db.close_db()


async def reset_mappings(database_url: str) -> int:
    """Every mapping as seeded: SUBMITTED, On Hold, never synced, no tracking."""
    await db.connect_db(database_url)
    try:
        return await OrderMapping.all().update(
            status=OrderMappingStatus.SUBMITTED,
            qikink_status="On Hold",
            last_synced_at=None,
            tracking_number=None,
            courier=None,
            tracking_url=None,
        )
    finally:
        await db.close_db()
