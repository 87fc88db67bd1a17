"""Assembles the root types and builds the one `strawberry.Schema` with its extensions."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema.documents import DocumentCache, DocumentGuard
from schema.execution import ExecutionContext as Executor
from schema.naming import CachedNameConverter
from schema.observability import OperationOutcome
from schema.order_mappings import OrderMappingQueries
from schema.orders import OrdersMutation
from schema.product_mappings import ProductMappingMutation, ProductMappingQueries
from schema.qikink import QikinkMutation, QikinkQueries

if TYPE_CHECKING:
    from graphql.error import GraphQLError
    from strawberry.types import ExecutionContext

__all__ = ["Mutation", "Query", "build_schema"]

Query = merge_types("Query", (QikinkQueries, OrderMappingQueries, ProductMappingQueries))
Mutation = merge_types("Mutation", (QikinkMutation, OrdersMutation, ProductMappingMutation))


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class ServiceExtension(OperationOutcome, DocumentGuard):
    """The document checks and the outcome hook as one extension: Strawberry makes every
    extension afresh for each request and walks each for every hook."""


class Schema(strawberry.Schema):
    """Strawberry's schema with the service's document checks; errors are logged once, by
    `OperationOutcome`, with the request id, not again here."""

    def __init__(self, *args: Any, introspection: bool = True, **kwargs: Any) -> None:
        super().__init__(
            *args,
            extensions=[ServiceExtension],
            execution_context_class=Executor,
            **kwargs,
        )
        self.documents = DocumentCache(self._schema, introspection=introspection)

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
