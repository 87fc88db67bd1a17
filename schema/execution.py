"""The executor Strawberry runs each operation with, minus a reference cycle per request.

graphql-core 3.3's executor keeps `async_helpers`, a pair of methods bound to itself: the
executor, and everything it holds (the request, the context, the resolved rows), form a cycle
that reference counting cannot free. Every request's state then waited for the cycle collector,
which ran every few requests and, walking the state of every request in flight, took a quarter
of the CPU of a small query and made the slowest answers several times slower. Here the helpers
reach the executor through a weak reference, so a request's state is freed when it ends.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

if TYPE_CHECKING:
    from collections.abc import Awaitable, Sequence

__all__ = ["ExecutionContext"]


class ExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context whose resolver helpers hold it weakly."""

    _helpers: GraphQLResolveInfoHelpers

    @property  # type: ignore[override]
    def async_helpers(self) -> GraphQLResolveInfoHelpers:
        return self._helpers

    @async_helpers.setter
    def async_helpers(self, bound: GraphQLResolveInfoHelpers) -> None:
        # graphql-core assigns helpers bound to this executor; keep equivalents that are not.
        executor = weakref.ref(self)

        def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
            return _alive(executor).gather_async_work(values)

        def track(values: Sequence[Any]) -> None:
            _alive(executor).track_async_work(values)

        self._helpers = GraphQLResolveInfoHelpers(gather=gather, track=track)


def _alive(executor: weakref.ref[ExecutionContext]) -> ExecutionContext:
    found = executor()
    if found is None:
        raise RuntimeError("the operation this resolver belonged to has finished")
    return found
