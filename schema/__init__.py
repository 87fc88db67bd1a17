"""Assembles the root types and builds the one `strawberry.Schema` with its extensions."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import strawberry
from graphql.error import GraphQLError
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema.documents import DocumentCache
from schema.gate import RootFields
from schema.naming import CachedNameConverter
from schema.observability import Outcome
from schema.order_mappings import OrderMappingQueries
from schema.orders import OrdersMutation
from schema.product_mappings import ProductMappingMutation, ProductMappingQueries
from schema.qikink import QikinkMutation, QikinkQueries

if TYPE_CHECKING:
    from graphql import Executor
    from strawberry.types import ExecutionContext as Operation
    from strawberry.types.scalar import ScalarDefinition

__all__ = ["Mutation", "Query", "Schema", "build_schema"]

Query = merge_types("Query", (QikinkQueries, OrderMappingQueries, ProductMappingQueries))
Mutation = merge_types("Mutation", (QikinkMutation, OrdersMutation, ProductMappingMutation))


def _parser(
    parse: Callable[[str], object], name: str, *, numbers: bool = False
) -> Callable[[object], object]:
    """A scalar's input parser: a string (or, with `numbers`, a number read as its text), any
    other value or a string `parse` refuses being a clear input error naming the scalar."""

    def parse_value(value: object) -> object:
        if isinstance(value, (int, float)) and numbers and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise StrawberryInputCoercionError(
                f'Value cannot represent a {name}: "{value}". Expected a string.'
            )
        try:
            return parse(value)
        except (ValueError, ArithmeticError) as error:
            # A date's parser says what is wrong with it; Decimal's only names its signal.
            detail = "" if numbers else f" {error}"
            raise StrawberryInputCoercionError(
                f'Value cannot represent a {name}: "{value}".{detail}'
            ) from None

    return parse_value


# The two scalars, declared the documented way (`strawberry.scalar` in `scalar_map`), with the
# specification a client's codegen can point at.
SCALARS: dict[object, ScalarDefinition] = {
    datetime: strawberry.scalar(
        name="DateTime",
        description="A date and time with its offset (RFC 3339), e.g. 2026-12-04T10:42:11+00:00.",
        specified_by_url="https://scalars.graphql.org/andimarek/date-time",
        serialize=datetime.isoformat,
        parse_value=_parser(datetime.fromisoformat, "DateTime"),
    ),
    Decimal: strawberry.scalar(
        name="Decimal",
        description=(
            'An exact decimal number as a string, e.g. "549.00" (rupees); numbers are '
            "accepted as input."
        ),
        specified_by_url="https://speleotrove.com/decimal/daconvs.html",
        serialize=str,
        parse_value=_parser(Decimal, "Decimal", numbers=True),
    ),
}
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class Schema(strawberry.Schema):
    """Strawberry's schema; its documents (`schema.documents`) are kept by `documents`."""

    documents: DocumentCache

    def process_errors(
        self, errors: list[GraphQLError], execution_context: Operation | None = None
    ) -> None:
        # Errors are coded, logged and counted by the Outcome extension, not here.
        if self.config.disable_field_suggestions:
            # Strawberry strips field suggestions only; enum and argument ones name schema
            # members too, which is what production hides.
            for error in errors:
                error.message = _SUGGESTION.sub("", error.message)


def build_schema(
    *,
    introspection: bool = True,
    suggestions: bool = True,
    execution_context_class: type[Executor] | None = None,
) -> Schema:
    """The service's schema: document checks and cache, admission of each operation by its
    root fields, then the outcome of each operation; `execution_context_class` is the web
    layer's (web.compat), which serves it."""
    documents = DocumentCache(introspection=introspection)
    root_fields = RootFields()
    schema = Schema(
        query=Query,
        mutation=Mutation,
        extensions=[documents.extension(), root_fields.extension(), Outcome],
        execution_context_class=execution_context_class,
        config=StrawberryConfig(
            disable_field_suggestions=not suggestions,
            name_converter=CachedNameConverter(),
            scalar_map=SCALARS,
        ),
    )
    schema.documents = documents
    root_fields.load(schema)
    return schema
