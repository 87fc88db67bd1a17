"""Assembles the root types and builds the one `strawberry.Schema` with its extensions."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema.errors import ErrorCodes
from schema.observability import RequestLog
from schema.order_mappings import OrderMappingQueries
from schema.orders import OrdersMutation
from schema.product_mappings import ProductMappingMutation, ProductMappingQueries
from schema.qikink import QikinkMutation, QikinkQueries

if TYPE_CHECKING:
    from graphql.error import GraphQLError
    from strawberry.types import ExecutionContext

__all__ = ["Mutation", "Query", "build_schema"]

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 1000
CACHE_SIZE = 512

Query = merge_types("Query", (QikinkQueries, OrderMappingQueries, ProductMappingQueries))
Mutation = merge_types("Mutation", (QikinkMutation, OrdersMutation, ProductMappingMutation))


# Built once: the limiters make new rule classes per instance, and the validation cache keys on
# the rules, so a limiter built per request made every request validate again (~1 ms).
_LIMIT_RULES = (
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
)


class QueryLimits(AddValidationRules):
    """Depth and alias limits, with rule classes shared by every request."""

    def __init__(self) -> None:
        super().__init__(list(_LIMIT_RULES))


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class Schema(strawberry.Schema):
    """Errors are logged once, by `ErrorCodes`, with the request id; not again here."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        if self.config.disable_field_suggestions:
            # Strawberry strips field suggestions only; enum and argument ones name schema
            # members too, which is what production hides.
            for error in errors:
                error.message = _SUGGESTION.sub("", error.message)


def build_schema(*, introspection: bool = True, suggestions: bool = True) -> strawberry.Schema:
    # Factories, not instances: Strawberry builds fresh extensions per request (the two
    # caches keep their entries at module level, shared by every request).
    extensions: list[Any] = [
        RequestLog,  # first, so it sees the errors as ErrorCodes left them
        QueryLimits,
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=CACHE_SIZE),
        lambda: ValidationCache(maxsize=CACHE_SIZE),
        ErrorCodes,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return Schema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=not suggestions),
    )
