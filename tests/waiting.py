"""Waiting in tests and benches for something another task or process does, with a deadline:
`eventually` from async code, `wait_for` from sync code. The one poll-until-deadline loop:
nothing else in tests/ or bench/ writes its own.

Both fail (AssertionError) naming `what`, with `explain()`'s text (a server's log, say) when
given; with `fail=False` a bench that reports whatever it got is told by the return value.
A `check` that raises ends the wait with its error (a server that died will not answer).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Any

__all__ = ["eventually", "wait_for"]


def _failure(what: str, within: float, explained: str | None) -> AssertionError:
    said = f"{what}: still not true" if what else "still not true"
    return AssertionError(f"{said} after {within} s" + (f"\n{explained}" if explained else ""))


async def eventually(
    check: Callable[[], Any | Awaitable[Any]],
    *,
    within: float = 10.0,
    every: float = 0.02,
    what: str = "",
    explain: Callable[[], str | Awaitable[str]] | None = None,
    fail: bool = True,
) -> Any:
    """`check()`'s first truthy value (a plain check, or one to await); when none came within
    `within` seconds, fail (or, with `fail=False`, return None)."""
    deadline = time.monotonic() + within
    while True:
        outcome = check()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return outcome
        if time.monotonic() > deadline:
            if not fail:
                return None
            explained = explain() if explain is not None else None
            if inspect.isawaitable(explained):
                explained = await explained
            raise _failure(what, within, explained)
        await asyncio.sleep(every)


def wait_for(
    check: Callable[[], Any],
    *,
    within: float,
    every: float = 0.1,
    what: str,
    explain: Callable[[], str] | None = None,
    fail: bool = True,
) -> Any:
    """`check()`'s first truthy value; when none came within `within` s, fail naming `what`
    (or, with `fail=False`, return None)."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            if not fail:
                return None
            raise _failure(what, within, explain() if explain is not None else None)
        time.sleep(every)
