"""Hostile documents: what one document may make the service do is bounded before any walk.

A fragment that spreads the next one ten times, eight deep, is 661 bytes whose expansion holds
ten million selections; walkers that follow every spread path took half a minute of CPU on it.
Here such a document is refused by a limit it names, and every walker of a document (its
measure, the admission of its root fields) visits each fragment once.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from graphql import get_introspection_query, parse

from schema import document_limits, gate
from schema.document_limits import (
    MAX_FRAGMENTS,
    MAX_SELECTIONS,
    MAX_SELECTIONS_PER_SET,
    Measure,
    check_document,
)
from schema.documents import DocumentCache, document_bytes
from tests.conftest import make_settings, serving
from tests.graphql_client import codes, gql

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx
    from graphql import SelectionSetNode

PUBLISHABLE_KEY = "pk_test_documents"
STOREFRONT = {"x-publishable-api-key": PUBLISHABLE_KEY}


def spread_bomb(levels: int, spreads: int = 10) -> str:
    """`{ ...F0 }`, each fragment spreading the next `spreads` times, the last `__typename`."""
    fragments = [
        f"fragment F{level} on Query {{ {' '.join([f'...F{level + 1}'] * spreads)} }}"
        for level in range(levels - 1)
    ]
    last = f"fragment F{levels - 1} on Query {{ __typename }}"
    return " ".join(["{ ...F0 }", *fragments, last])


def expanded(levels: int, spreads: int = 10) -> int:
    """What `spread_bomb` selects with its fragments expanded (spreads and fields)."""
    size = 1  # the last fragment's __typename
    for _ in range(levels - 1):
        size = spreads * (1 + size)
    return 1 + size  # the operation's one spread


@pytest.fixture
async def storefront_only(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app where storefronts need a publishable key: a caller without one is anonymous."""
    settings = make_settings(database_url, qikink_publishable_keys=[PUBLISHABLE_KEY])
    async with serving(settings) as http:
        yield http


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    assert set(body) <= {"errors", "data"}, body
    assert body.get("data") is None, body
    [error] = body["errors"]
    return error  # type: ignore[no-any-return]


@pytest.mark.parametrize("levels", [8, 10])
@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_an_anonymous_spread_bomb_is_refused_naming_the_limit(
    storefront_only: httpx.AsyncClient, levels: int, method: str
) -> None:
    query = spread_bomb(levels)
    if method == "GET":
        response = await storefront_only.get("/graphql", params={"query": query})
    else:
        response = await storefront_only.post("/graphql", json={"query": query})
    assert response.status_code == 200
    error = only_error(response.json())
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["message"] == (
        f"'anonymous' selects {expanded(levels):,} fields and fragments with its fragments "
        f"expanded; at most {MAX_SELECTIONS:,} are allowed."
    )
    # The service answers as before.
    health = await storefront_only.get("/health")
    assert health.status_code == 200


async def test_a_bomb_below_the_limit_is_answered(storefront_only: httpx.AsyncClient) -> None:
    # Three levels expand to 211 selections: within the limits, so answered.
    body = await gql(storefront_only, spread_bomb(3), headers=STOREFRONT)
    assert body == {"data": {"__typename": "Query"}}


async def test_a_crowded_selection_set_and_too_many_fragments_are_refused(
    storefront_only: httpx.AsyncClient,
) -> None:
    crowded = "{ " + "...F " * (MAX_SELECTIONS_PER_SET + 1) + "} fragment F on Query { __typename }"
    error = only_error(await gql(storefront_only, crowded))
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["message"] == (
        f"A selection set may hold at most {MAX_SELECTIONS_PER_SET} selections; this one "
        f"holds {MAX_SELECTIONS_PER_SET + 1}."
    )
    assert error["locations"] == [{"line": 1, "column": 1}]

    count = MAX_FRAGMENTS + 1
    many = "{ ...F0 } " + " ".join(
        f"fragment F{i} on Query {{ {'...F' + str(i + 1) if i + 1 < count else '__typename'} }}"
        for i in range(count)
    )
    error = only_error(await gql(storefront_only, many))
    assert error["message"] == (
        f"A document may define at most {MAX_FRAGMENTS} fragments; this one defines {count}."
    )


async def test_aliases_and_depth_are_counted_through_fragments(client: httpx.AsyncClient) -> None:
    # Eight aliases spread twice are sixteen aliases in the operation.
    aliased = (
        "{ ...A ...A } fragment A on Query { "
        + " ".join(f"a{i}: __typename" for i in range(8))
        + " }"
    )
    assert only_error(await gql(client, aliased))["message"] == "16 aliases found. Allowed: 15"
    # The depth through a fragment is the depth of its expansion.
    deep = "{ qikinkOrderMappings { ...N } } fragment N on OrderMappingList { " + (
        "nodes { " * 10 + "id" + " }" * 10 + " }"
    )
    messages = [error["message"] for error in (await gql(client, deep))["errors"]]
    assert "'anonymous' exceeds maximum operation depth of 10" in messages


def test_graphiqls_introspection_query_is_within_the_limits() -> None:
    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    assert check_document(parse(query)) == []


class CountingMeasure(Measure):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.visits = 0

    def selection_set(self, selection_set: SelectionSetNode) -> document_limits.Size:
        self.visits += 1
        return super().selection_set(selection_set)


@pytest.mark.parametrize(
    ("levels", "sets"),
    # A table of n: the document holds n fragments and one operation, so n + 1 selection
    # sets, and each is visited once whatever the expansion (11 selections at n=2, about
    # 10^9 at n=10).
    [(2, 3), (3, 4), (4, 5), (6, 7), (8, 9), (10, 11)],
)
def test_measuring_a_document_visits_each_of_its_selection_sets_once(
    levels: int, sets: int
) -> None:
    document = parse(spread_bomb(levels))
    measure = CountingMeasure(document)
    [operation] = [d for d in document.definitions if d.kind == "operation_definition"]
    size = measure.selection_set(operation.selection_set)  # type: ignore[attr-defined]
    assert size.selections == expanded(levels)
    assert measure.visits == sets


@pytest.mark.parametrize("levels", [2, 4, 8, 10])
def test_the_admission_walks_each_fragment_once(
    levels: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    walked: list[int] = []
    walk = gate._root_fields

    def counting(*args: Any, **kwargs: Any) -> Any:
        walked.append(1)
        return walk(*args, **kwargs)

    monkeypatch.setattr(gate, "_root_fields", counting)
    root_fields = gate.RootFields()
    root_fields.fields[("query", "__typename")] = gate.RootField((), None, {})
    operation = SimpleNamespace(
        graphql_document=parse(spread_bomb(levels)), operation_name=None, variables={}
    )
    selection = root_fields.select(operation)  # type: ignore[arg-type]
    assert selection is not None
    assert list(selection.fields) == ["__typename"]
    # The operation's set and each fragment's, once.
    assert len(walked) == levels + 1


def test_the_document_cache_is_bounded_by_bytes() -> None:
    cache = DocumentCache(introspection=True, max_bytes=256 * 1024)
    queries = [f"{{ __typename a{i}: __typename }}" for i in range(2000)]
    for query in queries:
        cache.keep(query, parse(query))
    info = cache.cache_info()
    assert 0 < info.bytes <= 256 * 1024
    assert info.currsize < len(queries)
    # The newest are kept, the oldest evicted.
    assert cache.get(queries[-1]) is not None
    assert cache.get(queries[0]) is None
    assert info.bytes == sum(entry.size for entry in cache.entries.values())


def test_a_documents_size_counts_what_it_holds() -> None:
    small = "{ __typename }"
    large = "{ " + " ".join(f"a{i}: __typename" for i in range(90)) + " }"
    assert document_bytes(parse(small), small) < document_bytes(parse(large), large)
    assert document_bytes(parse(large), large) > 90 * 200


async def test_storefronts_read_at_most_two_mappings_by_id_an_operation(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    def reads(count: int) -> str:
        return (
            "{ "
            + " ".join(
                f'm{i}: qikinkOrderMapping(id: "order_{i}") {{ status }}' for i in range(count)
            )
            + " }"
        )

    assert await gql(client, reads(2)) == {"data": {"m0": None, "m1": None}}
    refused = await gql(client, reads(3))
    assert codes(refused) == ["BAD_USER_INPUT"]
    assert refused["errors"][0]["message"] == (
        "An operation may read at most 2 order mappings by id for a storefront; this one "
        "reads 3 (m0, m1, m2): send the others in another request."
    )
    # Admins may read more.
    admin = await gql(client, reads(3), headers=admin_headers)
    assert admin == {"data": {"m0": None, "m1": None, "m2": None}}


@pytest.mark.parametrize("field", ["medusaOrderId", "qikinkOrderId"])
async def test_a_control_character_in_a_filter_is_bad_user_input(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    field: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    query = "query($f: OrderMappingFilter) { qikinkOrderMappings(filter: $f) { count } }"
    body = await gql(client, query, {"f": {field: "order_\x00"}}, headers=admin_headers)
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": f"filter.{field}"}
    assert error["message"] == "A filter value must not contain control characters."
    assert not [record for record in caplog.records if record.levelname == "ERROR"]
