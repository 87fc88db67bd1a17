"""Assembles the root types and builds the one `strawberry.Schema` with its extensions."""

from __future__ import annotations

import re
import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema.documents import DocumentCache
from schema.execution import ExecutionContext as Executor
from schema.naming import CachedNameConverter
from schema.observability import record_outcome
from schema.order_mappings import OrderMappingQueries
from schema.orders import OrdersMutation
from schema.product_mappings import ProductMappingMutation, ProductMappingQueries
from schema.qikink import QikinkMutation, QikinkQueries

if TYPE_CHECKING:
    from graphql.error import GraphQLError
    from strawberry.types import ExecutionContext, ExecutionResult

__all__ = ["Mutation", "Query", "build_schema"]

Query = merge_types("Query", (QikinkQueries, OrderMappingQueries, ProductMappingQueries))
Mutation = merge_types("Mutation", (QikinkMutation, OrdersMutation, ProductMappingMutation))


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
# The execution context Strawberry made for the operation running in this task: what its
# outcome is labelled and logged by (Strawberry's `execute` returns only the result).
_operation: ContextVar[ExecutionContext | None] = ContextVar("graphql_operation", default=None)


class Schema(strawberry.Schema):
    """Strawberry's schema with the service's document checks (`DocumentCache`) and outcome
    (`record_outcome`: error codes, log line, metrics) around each operation. Neither is a
    Strawberry extension: those are built per request and cost more than the checks."""

    def __init__(self, *args: Any, introspection: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, execution_context_class=Executor, **kwargs)
        self.documents = DocumentCache(self._schema, introspection=introspection)

    def _create_execution_context(self, *args: Any, **kwargs: Any) -> ExecutionContext:
        context = super()._create_execution_context(*args, **kwargs)
        self.documents.prepare(context)
        _operation.set(context)
        return context

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        """Strawberry's `execute`, then the operation's outcome (codes, log line, metrics)."""
        started, token = time.perf_counter(), _operation.set(None)
        try:
            return self._outcome(await super().execute(*args, **kwargs), started)
        finally:
            _operation.reset(token)

    def execute_sync(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        """Strawberry's `execute_sync`, then the operation's outcome."""
        started, token = time.perf_counter(), _operation.set(None)
        try:
            return self._outcome(super().execute_sync(*args, **kwargs), started)
        finally:
            _operation.reset(token)

    def _outcome(self, result: ExecutionResult, started: float) -> ExecutionResult:
        return record_outcome(result, _operation.get(), duration=time.perf_counter() - started)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        if self.config.disable_field_suggestions:
            # Strawberry strips field suggestions only; enum and argument ones name schema
            # members too, which is what production hides.
            for error in errors:
                error.message = _SUGGESTION.sub("", error.message)


def build_schema(*, introspection: bool = True, suggestions: bool = True) -> strawberry.Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        introspection=introspection,
        config=StrawberryConfig(
            disable_field_suggestions=not suggestions, name_converter=CachedNameConverter()
        ),
    )
