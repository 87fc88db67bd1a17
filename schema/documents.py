"""Each distinct GraphQL document is parsed and validated once, within the service's limits.

A Strawberry extension (`Documents`) in the documented hooks: the operation gets the
service's parse options (the token limit; no empty selection sets) and validation rules (no
introspection where it is off); every document is measured first (`schema.document_limits`:
its size, depth and aliases with fragments expanded, each fragment visited once) and refused
there, before graphql-core's validation, when it passes a limit. Parsing and validation look
the query text up in one LRU first, bounded by the bytes its documents hold (`CACHE_BYTES`):
a text that parsed and validated is kept there, so a storefront polling with the same query
pays a dictionary lookup, and no sender of new texts can grow the process past that figure.
A text that was refused is checked again each time it comes (its cost is bounded by the
limits), and texts longer than `MAX_CACHED_QUERY_CHARS` are never kept (comments are no
tokens, and a parsed document holds its whole source).
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, NamedTuple

from graphql import specified_rules
from graphql.language import Location, Node
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from schema.document_limits import check_document

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from graphql import ASTValidationRule, DocumentNode

__all__ = [
    "CACHE_BYTES",
    "CACHE_SIZE",
    "MAX_CACHED_QUERY_CHARS",
    "MAX_TOKENS",
    "DocumentCache",
    "Documents",
    "document_bytes",
]

MAX_TOKENS = 1000
CACHE_SIZE = 512
# A client's documents take 6-70 KB each parsed (a by-id poll, GraphiQL's introspection); the
# largest a document within the limits can take is about 600 KB.
CACHE_BYTES = 8 * 1024 * 1024
MAX_CACHED_QUERY_CHARS = 16 * 1024
# The spec's grammar: a selection set has at least one selection. graphql-core 3.3 accepts `{}`
# by default, which nothing can answer.
PARSE_OPTIONS: dict[str, Any] = {"max_tokens": MAX_TOKENS, "allow_empty_selection_sets": False}
# sys.getsizeof over a document's nodes, tokens and strings finds 81-95 % of what tracemalloc
# sees it allocate (dicts' and the allocator's overhead): counted up, so the bound holds.
_OVERHEAD = 1.25


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    currsize: int
    bytes: int


class Entry(NamedTuple):
    document: DocumentNode
    size: int


def document_bytes(document: DocumentNode, query: str) -> int:
    """About what `document`, parsed from `query`, holds in memory: its nodes, their
    locations, its tokens and its source."""
    total = sys.getsizeof(query)
    stack: list[Node] = [document]
    while stack:
        node = stack.pop()
        total += sys.getsizeof(node)
        for key in node.keys:
            value = getattr(node, key, None)
            if isinstance(value, Node):
                stack.append(value)
            elif isinstance(value, tuple | list):
                total += sys.getsizeof(value)
                stack.extend(item for item in value if isinstance(item, Node))
            elif isinstance(value, str | Location):
                total += sys.getsizeof(value)
    token = document.loc.start_token if document.loc else None
    while token is not None:
        total += sys.getsizeof(token) + (sys.getsizeof(token.value) if token.value else 0)
        token = token.next
    return int(total * _OVERHEAD)


class DocumentCache:
    """The last query texts a schema parsed and validated, at most `size` of them and
    `max_bytes` of documents."""

    def __init__(
        self, *, introspection: bool, size: int = CACHE_SIZE, max_bytes: int = CACHE_BYTES
    ) -> None:
        rules: list[type[ASTValidationRule]] = list(specified_rules)
        if not introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        self.rules = tuple(rules)
        self.size = size
        self.max_bytes = max_bytes
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self.bytes = 0
        self.hits = self.misses = 0

    def get(self, query: str) -> DocumentNode | None:
        entry = self.entries.get(query)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self.entries.move_to_end(query)
        return entry.document

    def keep(self, query: str, document: DocumentNode) -> None:
        """Keep a document that parsed and validated, evicting the least recently used."""
        if len(query) > MAX_CACHED_QUERY_CHARS or query in self.entries:
            return
        size = document_bytes(document, query)
        if size > self.max_bytes:
            return
        self.entries[query] = Entry(document, size)
        self.bytes += size
        while len(self.entries) > self.size or self.bytes > self.max_bytes:
            _, evicted = self.entries.popitem(last=False)
            self.bytes -= evicted.size

    def cache_info(self) -> CacheInfo:
        return CacheInfo(self.hits, self.misses, len(self.entries), self.bytes)

    def extension(self) -> Callable[[], Documents]:
        """The factory to give Strawberry (`extensions=[...]`): one extension a request."""
        return lambda: Documents(self)


class Documents(SchemaExtension):
    """The service's parse options, document limits and validation rules, and the cache."""

    def __init__(self, cache: DocumentCache) -> None:
        super().__init__()
        self.cache = cache
        self.cached = False

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options.update(PARSE_OPTIONS)  # type: ignore[typeddict-item]  # graphql-core parse options Strawberry does not type
        context.validation_rules = self.cache.rules
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            document = self.cache.get(context.query)
            if document is not None:
                context.graphql_document = document
                self.cached = True
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if self.cached:
            # Validated when it was kept: Strawberry skips its validation once the errors
            # are set.
            context.pre_execution_errors = []
            yield
            return
        if context.graphql_document is not None:
            refused = check_document(context.graphql_document)
            if refused:
                context.pre_execution_errors = refused
        yield
        if (
            context.query
            and context.graphql_document is not None
            and not context.pre_execution_errors
        ):
            self.cache.keep(context.query, context.graphql_document)
