"""Assembles the root types and builds the one `strawberry.Schema` with its extensions."""

from __future__ import annotations

import re
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import MiddlewareManager
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types.graphql import OperationType

from schema.documents import Checked, DocumentCache
from schema.execution import ExecutionContext as Executor
from schema.naming import CachedNameConverter
from schema.observability import record_outcome
from schema.order_mappings import OrderMappingQueries
from schema.orders import OrdersMutation
from schema.product_mappings import ProductMappingMutation, ProductMappingQueries
from schema.qikink import QikinkMutation, QikinkQueries
from schema.simple_queries import Replay

if TYPE_CHECKING:
    from collections.abc import Iterable

    from graphql import DocumentNode
    from graphql.error import GraphQLError
    from strawberry.extensions import SchemaExtension
    from strawberry.types import ExecutionContext, ExecutionResult

    from schema.simple_queries import SimpleQuery

__all__ = ["Mutation", "Query", "Schema", "build_schema"]

Query = merge_types("Query", (QikinkQueries, OrderMappingQueries, ProductMappingQueries))
Mutation = merge_types("Mutation", (QikinkMutation, OrdersMutation, ProductMappingMutation))


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


@dataclass(slots=True)
class _Running:
    """What `execute` knows of the operation it runs, for the hooks Strawberry calls on the
    way (it hands them none of it): the document cache's entry for the query, looked up once;
    a simple query's root-field outcome for the regular path to complete; and the execution
    context Strawberry makes, which the outcome is labelled and logged by."""

    checked: Checked | None
    replay: Replay | None = None
    operation: ExecutionContext | None = None


# The operation running in this task.
_running: ContextVar[_Running | None] = ContextVar("graphql_running", default=None)


class Schema(strawberry.Schema):
    """Strawberry's schema with the service's document checks (`DocumentCache`) and outcome
    (`record_outcome`: error codes, log line, metrics) around each operation, and simple
    queries answered by their plan (`schema.simple_queries`). Neither the checks nor the
    outcome is a Strawberry extension: those are built per request and cost more."""

    def __init__(self, *args: Any, introspection: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, execution_context_class=Executor, **kwargs)
        self.documents = DocumentCache(self._schema, introspection=introspection)
        # A plan answers as the regular path does only where no extension could intervene.
        self._plans_apply = not (
            self.extensions or self.config.enable_experimental_incremental_execution
        )

    def _create_execution_context(self, *args: Any, **kwargs: Any) -> ExecutionContext:
        context = super()._create_execution_context(*args, **kwargs)
        running = _running.get()
        if running is None:  # not through `execute` or `execute_sync`
            self.documents.prepare(context, self.documents.lookup(context.query))
        else:
            self.documents.prepare(context, running.checked)
            running.operation = context
        return context

    def _get_middleware_manager(self, extensions: list[SchemaExtension]) -> MiddlewareManager:
        manager = super()._get_middleware_manager(extensions)
        running = _running.get()
        if running is None or running.replay is None:
            return manager
        return MiddlewareManager(*manager.middlewares, running.replay)

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
        """A simple query by its plan, anything else by Strawberry's `execute`; then the
        operation's outcome (codes, log line, metrics)."""
        started = time.perf_counter()
        checked = self.documents.lookup(query)
        simple = self._simple_query(checked, operation_name, allowed_operation_types)
        replay = None
        if simple is not None:
            answered = await simple.run(
                context=context_value,
                root_value=root_value,
                variables=variable_values,
                operation_extensions=operation_extensions,
            )
            if isinstance(answered, Replay):
                replay = answered
            elif answered is not None:
                return self.record_outcome(
                    answered,
                    started,
                    document=simple.document,
                    context=context_value,
                    operation_name=operation_name or simple.name,
                )
        running = _Running(checked, replay)
        token = _running.set(running)
        try:
            result = await super().execute(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                allowed_operation_types,
                operation_extensions,
            )
        finally:
            _running.reset(token)
        return self._regular_outcome(result, started, running)

    def _simple_query(
        self,
        checked: Checked | None,
        operation_name: str | None,
        allowed_operation_types: Iterable[OperationType] | None,
    ) -> SimpleQuery | None:
        """The plan for this request, if its document has one that applies."""
        if not self._plans_apply or (
            allowed_operation_types is not None
            and OperationType.QUERY not in allowed_operation_types
        ):
            return None
        simple = checked.simple if checked is not None else None
        if simple is None or (operation_name is not None and operation_name != simple.name):
            return None
        return simple

    def execute_sync(self, query: str | None, *args: Any, **kwargs: Any) -> ExecutionResult:
        """Strawberry's `execute_sync`, then the operation's outcome."""
        started = time.perf_counter()
        running = _Running(self.documents.lookup(query))
        token = _running.set(running)
        try:
            result = super().execute_sync(query, *args, **kwargs)
        finally:
            _running.reset(token)
        return self._regular_outcome(result, started, running)

    def _regular_outcome(
        self, result: ExecutionResult, started: float, running: _Running
    ) -> ExecutionResult:
        operation = running.operation
        return self.record_outcome(
            result,
            started,
            document=operation.graphql_document if operation else None,
            context=operation.context if operation else None,
            operation_name=operation.operation_name if operation else None,
        )

    def record_outcome(
        self,
        result: ExecutionResult,
        started: float,
        *,
        document: DocumentNode | None,
        context: Any,
        operation_name: str | None,
    ) -> ExecutionResult:
        """The operation's outcome (`schema.observability.record_outcome`), however it ran."""
        return record_outcome(
            result,
            document=document,
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
