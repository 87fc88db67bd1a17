"""Each distinct GraphQL document is parsed and validated once, within the service's limits.

A Strawberry extension (`Documents`) in the documented hooks: the operation gets the
service's parse options (the token limit; no empty selection sets) and validation rules (the
depth and alias limits, and no introspection where it is off); parsing and validation look the
query text up in one bounded LRU first, and a text Strawberry parsed and validated is kept
there with its errors, so a storefront polling with the same query pays a dictionary lookup.
Texts longer than `MAX_CACHED_QUERY_CHARS` are checked every time instead of kept (comments
are no tokens, and a parsed document holds its whole source).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any, NamedTuple

from graphql import specified_rules
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from graphql import ASTValidationRule, DocumentNode, GraphQLError

__all__ = [
    "CACHE_SIZE",
    "MAX_ALIASES",
    "MAX_CACHED_QUERY_CHARS",
    "MAX_DEPTH",
    "MAX_TOKENS",
    "DocumentCache",
    "Documents",
]

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 1000
CACHE_SIZE = 512
MAX_CACHED_QUERY_CHARS = 16 * 1024
# The spec's grammar: a selection set has at least one selection. graphql-core 3.3 accepts `{}`
# by default, which nothing can answer (and on which Strawberry's depth limiter fails).
PARSE_OPTIONS: dict[str, Any] = {"max_tokens": MAX_TOKENS, "allow_empty_selection_sets": False}


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    currsize: int


class Checked(NamedTuple):
    document: DocumentNode
    errors: list[GraphQLError]


class DocumentCache:
    """The last `size` query texts a schema checked: their documents and validation errors."""

    def __init__(self, *, introspection: bool, size: int = CACHE_SIZE) -> None:
        rules: list[type[ASTValidationRule]] = [
            *specified_rules,
            # Built once: each limiter makes a new rule class, and the rules are the same for
            # every request.
            *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
            *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
        ]
        if not introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        self.rules = tuple(rules)
        self.size = size
        self.entries: OrderedDict[str, Checked] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, query: str) -> Checked | None:
        entry = self.entries.get(query)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self.entries.move_to_end(query)
        return entry

    def keep(self, query: str, document: DocumentNode, errors: list[GraphQLError]) -> None:
        if len(query) > MAX_CACHED_QUERY_CHARS:
            return
        self.entries[query] = Checked(document, list(errors))
        self.entries.move_to_end(query)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)

    def cache_info(self) -> CacheInfo:
        return CacheInfo(self.hits, self.misses, len(self.entries))

    def extension(self) -> Callable[[], Documents]:
        """The factory to give Strawberry (`extensions=[...]`): one extension a request."""
        return lambda: Documents(self)


class Documents(SchemaExtension):
    """The service's parse options and validation rules, and the document cache."""

    def __init__(self, cache: DocumentCache) -> None:
        super().__init__()
        self.cache = cache
        self.cached: Checked | None = None

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options.update(PARSE_OPTIONS)  # type: ignore[typeddict-item]
        context.validation_rules = self.cache.rules
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            self.cached = self.cache.get(context.query)
            if self.cached is not None:
                context.graphql_document = self.cached.document
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if self.cached is not None:
            # Strawberry skips its validation once errors are set: a fresh list, so what later
            # steps do to a request's errors never reaches the cache.
            context.pre_execution_errors = list(self.cached.errors)
            yield
            return
        yield
        if context.query and context.graphql_document is not None:
            self.cache.keep(
                context.query, context.graphql_document, context.pre_execution_errors or []
            )
