"""Each resolver runs to its end, even when graphql-core cancels its field.

graphql-core cancels the other fields of an operation when one of them fails. Cut short inside
Tortoise, a query can leave the database connection's lock held and every later query of the
process would hang, so every resolver is `uninterrupted`: its call runs
`services.shared.db.to_the_end`. An operation of one root field (the usual poll) has no sibling
that could fail: the schema's admission says so (`ALONE`) and its resolver runs as it is.
"""

from __future__ import annotations

import contextvars
import functools
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from services.shared.db import to_the_end

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

__all__ = ["ALONE", "uninterrupted"]

T = TypeVar("T")
P = ParamSpec("P")
# Set by the schema for an operation of one root field: nothing cancels it.
ALONE: contextvars.ContextVar[bool] = contextvars.ContextVar("qkg_alone", default=False)


def uninterrupted(
    function: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """`function`, each call run `to_the_end`."""

    @functools.wraps(function)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        if ALONE.get():
            # The operation's only root field: no sibling can fail and cancel it.
            return await function(*args, **kwargs)
        return await to_the_end(function(*args, **kwargs))

    return run
