"""A simple query answered by its plan answers exactly as the regular path, resolver once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
import strawberry
from strawberry.types.graphql import OperationType

from schema import Schema, build_schema
from schema.simple_queries import Replay
from services.errors import NotFound
from tests.sample_types import Colour, Never

if TYPE_CHECKING:
    from strawberry.types import ExecutionResult

# How often each root resolver ran, in the current test.
CALLS: Counter[str] = Counter()


@strawberry.type
class Part:
    name: str
    colour: Colour | None


@strawberry.type
class Item:
    id: strawberry.ID
    name: str
    colour: Colour
    at: datetime
    part: Part | None
    parts: list[Part]
    maybe_parts: list[Part | None] | None
    secret: str = strawberry.field(permission_classes=[Never])

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


@strawberry.type
class Page:
    nodes: list[Item]
    count: int


def item(id: str, **changes: Any) -> Item:
    fields: dict[str, Any] = {
        "id": strawberry.ID(id),
        "name": "tee",
        "colour": Colour.RED,
        "at": datetime(2026, 11, 28, 8, 0, tzinfo=UTC),
        "part": Part(name="sleeve", colour=None),
        "parts": [Part(name="collar", colour=Colour.BLUE)],
        "maybe_parts": None,
        "secret": "s",
    }
    return Item(**{**fields, **changes})


# What a buggy service could hand the schema: nulls and values the types refuse, deep or not.
ITEMS = {
    "good": item("good"),
    "no-name": item("no-name", name=None),
    "green": item("green", colour="green"),
    "late": item("late", at="yesterday"),
    "bad-part": item("bad-part", part=Part(name=None, colour=None)),  # type: ignore[arg-type]
    "hole": item("hole", parts=[Part(name="a", colour=None), None]),
    "holes-allowed": item("holes-allowed", maybe_parts=[None, Part(name="b", colour=None)]),
    "not-a-list": item("not-a-list", parts="collar"),
    "tuple": item("tuple", parts=(Part(name="c", colour=Colour.RED),)),
}


@strawberry.type
class Query:
    @strawberry.field
    async def item(self, id: strawberry.ID) -> Item | None:
        CALLS["item"] += 1
        if id == "boom":
            raise ValueError("boom")
        if id == "gone":
            raise NotFound("No such item.")
        return ITEMS.get(id)

    @strawberry.field
    async def required(self, id: strawberry.ID) -> Item:
        CALLS["required"] += 1
        if id == "boom":
            raise ValueError("boom")
        return ITEMS.get(id)  # type: ignore[return-value]

    @strawberry.field
    def page(self, ids: list[strawberry.ID], colour: Colour | None = None) -> Page:
        CALLS["page"] += 1
        nodes = [ITEMS[i] for i in ids if i in ITEMS]
        return Page(nodes=[n for n in nodes if colour is None or n.colour == colour], count=9)

    @strawberry.field(permission_classes=[Never])
    async def guarded(self) -> Item | None:
        CALLS["guarded"] += 1
        return ITEMS["good"]


class Unmasked(Schema):
    """The service's schema without its error masking: errors compare in full."""

    def record_outcome(self, result: ExecutionResult, *args: Any, **kwargs: Any) -> ExecutionResult:
        return result


FIELDS = "id name colour at part { name colour } parts { name } maybePart: maybeParts { name }"
BY_ID = f"query ($id: ID!) {{ item(id: $id) {{ {FIELDS} }} }}"
SIMPLE = [
    BY_ID,
    f"query One($id: ID!) {{ __typename item(id: $id) {{ __typename {FIELDS} }} }}",
    f"query ($id: ID!) {{ required(id: $id) {{ {FIELDS} }} t: __typename }}",
    "query ($id: ID!) { a: item(id: $id) { x: name y: colour z: id } }",
    'query { item(id: "good") { id } }',
    "query ($ids: [ID!]!, $c: Colour) { page(ids: $ids, colour: $c) "
    "{ count nodes { id name colour parts { name colour } } } }",
    'query ($ids: [ID!]! = ["good", "tuple"]) { page(ids: $ids) { nodes { id parts { name } } } }',
    "query { guarded { id } }",
]
NOT_SIMPLE = [
    f"query ($id: ID!) {{ item(id: $id) {{ ...F }} }} fragment F on Item {{ {FIELDS} }}",
    "query ($id: ID!) { item(id: $id) { ... on Item { id } } }",
    "query ($id: ID!, $s: Boolean!) { item(id: $id) { id name @skip(if: $s) } }",
    "query ($id: ID!) { item(id: $id) { id } other: item(id: $id) { id } }",
    "query ($id: ID!) { item(id: $id) { id shout } }",  # a field with a resolver
    "query ($id: ID!) { item(id: $id) { id secret } }",  # a field with permissions
    "query ($id: ID!) { item(id: $id) { id id } }",  # graphql-core merges repeated keys
    "query ($id: ID!) { item(id: $id) { id } __schema { queryType { name } } }",
    "query A($id: ID!) { item(id: $id) { id } } query B { guarded { id } }",
]
VARIABLES = [
    {"id": key, "ids": [key, "good"], "c": None, "s": False}
    for key in [*ITEMS, "missing", "boom", "gone"]
] + [
    {"id": 7, "ids": ["good"], "c": "RED", "s": True},  # an ID may be given as a number
    {"ids": "good", "c": "PURPLE"},  # no id; a colour that is none
    {"id": ["not", "an", "id"], "ids": [None]},
    {"id": "good", "ids": ["good"], "c": "BLUE"},
]


def schemas() -> tuple[Schema, Schema]:
    planned = Unmasked(query=Query)
    regular = Unmasked(query=Query)
    regular._plans_apply = False
    return planned, regular


async def answers(
    schema: Schema, query: str, variables: dict[str, Any], **kwargs: Any
) -> tuple[Any, ...]:
    CALLS.clear()
    try:
        result = await schema.execute(query, variable_values=variables, **kwargs)
    except Exception as exc:  # what Strawberry raises for the view to turn into a 400
        return type(exc), str(exc), dict(CALLS)
    errors = [
        (e.formatted, type(e.original_error), str(e.original_error)) for e in result.errors or ()
    ]
    return result.data, errors, result.extensions, dict(CALLS)


@pytest.mark.parametrize("query", SIMPLE + NOT_SIMPLE)
async def test_a_planned_query_answers_as_the_regular_path_does(query: str) -> None:
    planned, regular = schemas()
    assert (planned.documents.check(query).simple is not None) is (query in SIMPLE)
    for variables in VARIABLES:
        want = await answers(regular, query, variables)
        got = await answers(planned, query, variables)
        # Data, errors in full, extensions, and how often each resolver ran: an outcome the
        # plan could not answer is completed the regular way, not asked for again.
        assert got == want, variables


async def test_the_plan_answers_good_rows_and_the_regular_path_the_rest() -> None:
    planned, _ = schemas()
    simple = planned.documents.check(BY_ID).simple
    assert simple is not None
    CALLS.clear()
    context = {"request": "r1"}
    good = await simple.run(
        context=context, root_value=None, variables={"id": "good"}, operation_extensions=None
    )
    assert good.data["item"]["parts"] == [{"name": "collar"}]  # type: ignore[union-attr]
    for broken in ("no-name", "green", "late", "bad-part", "hole", "not-a-list", "boom"):
        replay = await simple.run(
            context=context, root_value=None, variables={"id": broken}, operation_extensions=None
        )
        assert isinstance(replay, Replay), broken
    # Variables that do not coerce: nothing ran, the regular path reports them.
    assert (
        await simple.run(context=context, root_value=None, variables={}, operation_extensions=None)
        is None
    )
    assert CALLS["item"] == 8


async def test_an_operation_name_type_or_variables_that_do_not_fit_take_the_regular_path() -> None:
    planned, regular = schemas()
    query = SIMPLE[1]
    for kwargs in (
        {"operation_name": "One"},
        {"operation_name": "Other"},
        {"allowed_operation_types": {OperationType.MUTATION}},
        {"allowed_operation_types": {OperationType.QUERY}},
    ):
        want = await answers(regular, query, {"id": "good"}, **kwargs)
        got = await answers(planned, query, {"id": "good"}, **kwargs)
        assert got == want, kwargs
    # Variables that are no object at all.
    assert await answers(planned, query, ["good"]) == await answers(regular, query, ["good"])  # type: ignore[arg-type]


async def test_the_resolver_sees_the_same_info() -> None:
    seen: list[tuple[Any, ...]] = []

    @strawberry.type
    class Probe:
        @strawberry.field
        async def probe(self, info: strawberry.Info, n: int = 1) -> Part | None:
            raw = info._raw_info
            # All graphql-core gives a resolver but the helpers, which are the executor's.
            seen.append((*raw[:13], *raw[14:], n, info.selected_fields))
            return Part(name="p", colour=None)

    query = "query Look($n: Int = 3) { p: probe(n: $n) { name } }"
    schema = Unmasked(query=Probe)
    assert schema.documents.check(query).simple is not None
    for plans_apply in (True, False):
        schema._plans_apply = plans_apply
        result = await schema.execute(
            query,
            variable_values={},
            context_value="ctx",
            root_value="root",
            operation_extensions={"trace": 1},
        )
        assert result.data == {"p": {"name": "p"}}
    assert len(seen) == 2
    assert seen[0] == seen[1]


@pytest.mark.parametrize(
    "query",
    [
        "query Order($id: ID!) { qikinkOrderMapping(id: $id) { id medusaOrderId qikinkOrderId "
        "qikinkOrderNumber status qikinkStatus trackingNumber courier trackingUrl createdAt "
        "updatedAt lastSyncedAt } }",
        "query { qikinkOrderMappings(limit: 50, filter: {status: SHIPPED}) "
        "{ count limit offset nodes { id status createdAt __typename } } }",
        "query ($v: String!) { productMappings(limit: 50, filter: {variantId: $v}) "
        "{ count limit offset nodes { id qikinkSkuId variantId createdAt updatedAt } } }",
        "query ($id: ID!) { qikinkOrder(id: $id) { orderId status shipping { awb } "
        "lineItems { sku quantity price } } }",
    ],
)
def test_what_storefronts_and_admins_poll_is_planned(query: str) -> None:
    assert build_schema().documents.check(query).simple is not None


def test_admin_only_fields_keep_the_regular_path() -> None:
    query = "query ($id: ID!) { qikinkOrderMapping(id: $id) { id attempts lastError } }"
    assert build_schema().documents.check(query).simple is None
