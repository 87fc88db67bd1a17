"""What the background loops share: a pass every so often until told to stop, and how long a
failed row waits before its next try."""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging
    from collections.abc import Awaitable, Callable

__all__ = ["backoff", "repeat"]


async def repeat(
    work: Callable[[], Awaitable[object]],
    *,
    pause: float,
    stop: asyncio.Event,
    logger: logging.Logger,
    failed: str,
) -> None:
    """Run `work`, then wait `pause` seconds (less once `stop` is set), until `stop` is set.

    A pass that raises is logged with `failed` and the next one runs as usual: a database or
    a store out of reach for a while must not end the loop.
    """
    while not stop.is_set():
        try:
            await work()
        except Exception:
            logger.exception(failed)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=pause)


def backoff(attempts: int, *, base: float, cap: float) -> float:
    """Seconds before the next try after `attempts` failed ones: doubling from `base` up to
    `cap`, with jitter so the retries of many rows spread out."""
    return min(base * 2.0 ** max(attempts - 1, 0), cap) * random.uniform(0.5, 1.0)
