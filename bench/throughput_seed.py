"""The throughput bench's seed, run as a child process (Tortoise binds its models to one
dialect a process): `python bench/throughput_seed.py DATABASE_URL` prints the seeded ids."""

from __future__ import annotations

import asyncio
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from throughput_ops import ROWS

from simulator.orders import example_payload

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
    return example_payload(number, sku, price=price, gateway=rng.choice(["Prepaid", "COD"]))


async def prepare(database_url: str) -> dict[str, Any]:
    """Migrate, seed 10,000 + 10,000 rows; returns every variant id and order mapping id."""
    from models import OrderMapping, OrderMappingStatus, ProductMapping, SubmitState
    from models.ids import new_order_mapping_id, new_product_mapping_id
    from services.shared import db

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


if __name__ == "__main__":
    print(json.dumps(asyncio.run(prepare(sys.argv[1]))))
