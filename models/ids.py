"""Opaque, time-sortable string ids (`pm_0191f2c3a4b5c6d7e8f9a0b1c2`)."""

from __future__ import annotations

import secrets
import time

# Every id column holds this many characters: a longer id names nothing.
ID_MAX_LENGTH = 32

__all__ = [
    "ID_MAX_LENGTH",
    "new_api_key_id",
    "new_id",
    "new_order_mapping_id",
    "new_product_mapping_id",
]


def new_id(prefix: str) -> str:
    """A prefix, 12 hex digits of milliseconds since the epoch and 14 random hex digits."""
    return f"{prefix}_{time.time_ns() // 1_000_000:012x}{secrets.token_hex(7)}"


# Named functions rather than partials: migrations record a field default by its name.
def new_product_mapping_id() -> str:
    return new_id("pm")


def new_order_mapping_id() -> str:
    return new_id("om")


def new_api_key_id() -> str:
    return new_id("key")
