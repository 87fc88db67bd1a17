"""A clock for the simulator that only moves when a test says so."""

from __future__ import annotations

import time

__all__ = ["ManualClock"]


class ManualClock:
    """Pass as `QikinkSimulator(clock=...)`; `advance()` moves token expiry and rate windows."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
