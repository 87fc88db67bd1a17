"""The install's own secret, made at random the first time it is needed and kept in the database.

Every process sharing the database reads the same one, with nothing to configure; two processes
asking first at the same moment still end with one (the row's name is its primary key).
"""

from __future__ import annotations

import secrets

from models import InstallSecret

__all__ = ["ORDER_NUMBERS", "install_secret"]

# What keys the suffix of Qikink order numbers (services.orders.store.order_number_for).
ORDER_NUMBERS = "order_numbers"


async def install_secret(name: str = ORDER_NUMBERS) -> bytes:
    """The secret named `name`, created once (race-free) and the same ever after."""
    row, _ = await InstallSecret.get_or_create(name=name, defaults={"value": secrets.token_hex(32)})
    return bytes.fromhex(row.value)
