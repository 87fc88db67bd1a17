"""The one graphql-core internal this service relies on: the executor's resolver helpers.

graphql-core 3.3's `ExecutionContext` keeps `async_helpers`, a pair of methods bound to
itself, in every resolve info it builds: the executor and everything it holds (the request,
the context, the resolved rows) then form a reference cycle, and every request's state waits
for the cycle collector, whose passes over every request in flight cost a quarter of the CPU
of a small query and make the slowest answers several times slower. Here the helpers reach the
executor through a weak reference, so a request's state is freed when it ends.

It is given to Strawberry as `execution_context_class` (a documented argument of
`strawberry.Schema`); `async_helpers` is graphql-core's own attribute, set in its constructor.
graphql-core is pinned to the 3.3.x it was checked with (pyproject.toml), and
tests/test_hardening.py's cycle test fails when the helpers hold the executor again.
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

    weak_helpers: GraphQLResolveInfoHelpers

    @property
    def async_helpers(self) -> GraphQLResolveInfoHelpers:
        return self.weak_helpers

    @async_helpers.setter
    def async_helpers(self, bound: GraphQLResolveInfoHelpers) -> None:
        # graphql-core assigns helpers bound to this executor; keep equivalents that are not.
        executor = weakref.ref(self)

        def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
            return _alive(executor).gather_async_work(values)

        def track(values: Sequence[Any]) -> None:
            _alive(executor).track_async_work(values)

        self.weak_helpers = GraphQLResolveInfoHelpers(gather=gather, track=track)


def _alive(executor: weakref.ref[ExecutionContext]) -> ExecutionContext:
    found = executor()
    if found is None:
        raise RuntimeError("the operation this resolver belonged to has finished")
    return found
