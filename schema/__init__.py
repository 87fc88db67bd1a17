"""Assembles the root types and builds the one `strawberry.Schema` with its extensions."""

from __future__ import annotations

import re
import time
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
    from collections.abc import Iterable

    from graphql.error import GraphQLError
    from strawberry.types import ExecutionContext, ExecutionResult
    from strawberry.types.graphql import OperationType

__all__ = ["Mutation", "Query", "build_schema"]

Query = merge_types("Query", (QikinkQueries, OrderMappingQueries, ProductMappingQueries))
Mutation = merge_types("Mutation", (QikinkMutation, OrdersMutation, ProductMappingMutation))


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


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
        return context

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        started = time.perf_counter()
        result = await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed_operation_types,
            operation_extensions,
        )
        return self._outcome(result, query, context_value, operation_name, started)

    def execute_sync(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        started = time.perf_counter()
        result = super().execute_sync(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed_operation_types,
            operation_extensions,
        )
        return self._outcome(result, query, context_value, operation_name, started)

    def _outcome(
        self,
        result: ExecutionResult,
        query: str | None,
        context: Any,
        operation_name: str | None,
        started: float,
    ) -> ExecutionResult:
        checked = self.documents.lookup(query)
        return record_outcome(
            result,
            document=checked.document if checked else None,
            context=context,
            operation_name=operation_name,
            duration=time.perf_counter() - started,
        )

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
