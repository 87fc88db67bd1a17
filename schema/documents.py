"""Each distinct GraphQL document is parsed and validated once, within the service's limits.

This does what five of Strawberry's extensions would (`MaxTokensLimiter`, `ParserCache`,
`ValidationCache`, `AddValidationRules` with the depth and alias limiters, and
`DisableIntrospection`), without being an extension: Strawberry builds every extension afresh
for each request and wraps each hook in context managers (half the cost of answering
`{ __typename }`), and its validation cache hashes the whole syntax tree on each hit. Here one
bounded LRU keyed by the query text holds the parsed document with its validation errors, and
the schema hands both to Strawberry as it creates the request's execution context, so a
storefront polling with the same query pays a dictionary lookup. A valid document that is a
simple query is kept with its plan (`schema.simple_queries`), made once with it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from graphql import parse, specified_rules
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.schema import validate_document

from schema.simple_queries import plan_query

if TYPE_CHECKING:
    from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema
    from strawberry.types import ExecutionContext

    from schema.simple_queries import SimpleQuery

__all__ = [
    "CACHE_SIZE",
    "MAX_ALIASES",
    "MAX_CACHED_QUERY_CHARS",
    "MAX_DEPTH",
    "MAX_TOKENS",
    "Checked",
    "DocumentCache",
]

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 1000
CACHE_SIZE = 512
# Comments and whitespace are not tokens, so a document within MAX_TOKENS can still be large:
# longer texts are parsed every time rather than kept.
MAX_CACHED_QUERY_CHARS = 16 * 1024
# The spec's grammar: a selection set has at least one selection. graphql-core 3.3 accepts `{}`
# by default, which nothing can answer (and on which Strawberry's depth limiter fails).
PARSE_OPTIONS: dict[str, Any] = {"max_tokens": MAX_TOKENS, "allow_empty_selection_sets": False}


class Checked(NamedTuple):
    document: DocumentNode
    errors: list[GraphQLError]
    # The plan of a valid document that is a simple query (see `schema.simple_queries`).
    simple: SimpleQuery | None


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

    def lookup(self, query: str | None) -> Checked | None:
        """As `check`, but None for no query, one that does not parse, or one a validation
        rule fails on with an exception rather than an error."""
        if not query:
            return None
        try:
            return self.check(query)
        except Exception:  # Strawberry then parses and validates, inside its error handling
            return None

    def prepare(self, context: ExecutionContext, checked: Checked | None) -> None:
        """Give a request's execution context its document and validation errors (`checked`,
        what `lookup` gave for its query). A text that does not parse or validate cleanly is
        left to Strawberry, which parses and validates it again under the same limits and
        rules, and reports the error its own way."""
        context.parse_options.update(PARSE_OPTIONS)  # type: ignore[typeddict-item]
        context.validation_rules = self.rules
        if checked is not None:
            context.graphql_document = checked.document
            # Strawberry skips its own validation once this is set; a fresh list, so the
            # cached one never carries what later steps do to a request's errors.
            context.pre_execution_errors = list(checked.errors)

    def cache_info(self) -> Any:
        """Hits, misses and size of the cache (`functools.lru_cache`'s figures)."""
        return self._cached_check.cache_info()

    def _check(self, query: str) -> Checked:
        document = parse(query, **PARSE_OPTIONS)
        # Strawberry's validation: these rules plus its own (oneOf inputs, Maybe arguments).
        errors = validate_document(self.schema, document, self.rules)
        return Checked(document, errors, None if errors else plan_query(self.schema, document))
