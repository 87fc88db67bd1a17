"""Each distinct GraphQL document is parsed and validated once, within the service's limits.

One extension does what five of Strawberry's would (`MaxTokensLimiter`, `ParserCache`,
`ValidationCache`, `AddValidationRules` with the depth and alias limiters, and
`DisableIntrospection`): Strawberry builds every extension afresh for each request and wraps
each hook in a context manager, and its validation cache hashes the whole syntax tree on each
hit. Here one bounded LRU keyed by the query text holds the parsed document with its
validation errors, so a storefront polling with the same query pays a dictionary lookup.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from graphql import parse, specified_rules, validate
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension

if TYPE_CHECKING:
    from collections.abc import Iterator

    from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema

__all__ = [
    "CACHE_SIZE",
    "MAX_ALIASES",
    "MAX_CACHED_QUERY_CHARS",
    "MAX_DEPTH",
    "MAX_TOKENS",
    "DocumentCache",
    "DocumentGuard",
]

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 1000
CACHE_SIZE = 512
# Comments and whitespace are not tokens, so a document within MAX_TOKENS can still be large:
# longer texts are parsed every time rather than kept.
MAX_CACHED_QUERY_CHARS = 16 * 1024


class Checked(NamedTuple):
    document: DocumentNode
    errors: list[GraphQLError]


class DocumentCache:
    """Parses and validates query texts against one schema, remembering the last `size`."""

    def __init__(
        self, schema: GraphQLSchema, *, introspection: bool, size: int = CACHE_SIZE
    ) -> None:
        rules: list[type[ASTValidationRule]] = [
            *specified_rules,
            *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
            *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
        ]
        if not introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        self.schema = schema
        self.rules = tuple(rules)
        self._cached_check = lru_cache(maxsize=size)(self._check)

    def check(self, query: str) -> Checked:
        """The parsed document and its validation errors; a syntax error raises GraphQLError."""
        if len(query) <= MAX_CACHED_QUERY_CHARS:
            return self._cached_check(query)
        return self._check(query)

    def cache_info(self) -> Any:
        """Hits, misses and size of the cache (`functools.lru_cache`'s figures)."""
        return self._cached_check.cache_info()

    def _check(self, query: str) -> Checked:
        document = parse(query, max_tokens=MAX_TOKENS)
        return Checked(document, validate(self.schema, document, self.rules))


class DocumentGuard(SchemaExtension):
    """Hands Strawberry the cached document and validation result for the request's query
    (from the schema's `documents`, a `DocumentCache`)."""

    def __init__(self) -> None:
        self._checked: Checked | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query:
            cache: DocumentCache = context.schema.documents  # type: ignore[attr-defined]
            self._checked = cache.check(context.query)
            context.graphql_document = self._checked.document
        yield

    def on_validate(self) -> Iterator[None]:
        if self._checked is not None:
            # Strawberry skips its own validation once this is set; a fresh list, so the
            # cached one never carries what later steps do to a request's errors.
            self.execution_context.pre_execution_errors = list(self._checked.errors)
        yield
