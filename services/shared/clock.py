"""The clock every service reads: seconds since the epoch, `time.time` unless a test gives one.

One clock, handed down from the runtime (through the Qikink client for what uses Qikink), so
that a test moving its clock moves everything that decides by time: the rate budget's window,
the token's expiry, a submission's claim and backoff, the status sync's interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["SYSTEM", "Clock", "utc_now"]

Clock = Callable[[], float]
SYSTEM: Clock = time.time


def utc_now(clock: Clock = SYSTEM) -> datetime:
    """`clock`'s time as a timezone-aware UTC datetime."""
    return datetime.fromtimestamp(clock(), UTC)
