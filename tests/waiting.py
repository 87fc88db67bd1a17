"""Waiting in tests for something another task or process does, with a deadline: `eventually`
from async tests, `wait_for` from sync ones."""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Any

__all__ = ["eventually", "wait_for"]


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], *, within: float = 10.0, every: float = 0.02
) -> None:
    """Return once `check()` (a plain check, or one to await) is true; fail when it is still
    false after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        outcome = check()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {within} s")
        await asyncio.sleep(every)


def wait_for(check: Callable[[], Any], *, within: float, every: float = 0.1, what: str) -> Any:
    """`check()`'s first truthy value; fail naming `what` when none came within `within` s."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still not true after {within} s")
        time.sleep(every)
