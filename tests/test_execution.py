"""The executor's fast path for plain leaf fields answers exactly as graphql-core would."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import strawberry

from schema import build_schema
from schema.execution import ExecutionContext, plain_leaves
from tests.sample_types import Colour, Never


@strawberry.type
class Row:
    id: strawberry.ID
    name: str
    nickname: str | None
    colour: Colour
    count: int
    price: Decimal
    at: datetime
    secret: str = strawberry.field(permission_classes=[Never])

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


GOOD = Row(
    id=strawberry.ID("r1"),
    name="tee",
    nickname=None,
    colour=Colour.RED,
    count=3,
    price=Decimal("499.00"),
    at=datetime(2026, 11, 28, 8, 0, tzinfo=UTC),
    secret="s",
)
# What a buggy service could hand the schema: nulls and values the types refuse.
BROKEN = [
    Row(**{**GOOD.__dict__, "name": None}),  # type: ignore[arg-type]
    Row(**{**GOOD.__dict__, "colour": "green"}),
    Row(**{**GOOD.__dict__, "count": "many"}),  # type: ignore[arg-type]
    Row(**{**GOOD.__dict__, "at": "yesterday"}),  # type: ignore[arg-type]
]


@strawberry.type
class Query:
    @strawberry.field
    def rows(self) -> list[Row]:
        return [GOOD, GOOD]

    @strawberry.field
    def broken(self) -> list[Row | None]:
        return list(BROKEN)

    @strawberry.field
    async def later(self) -> Row:
        return GOOD


QUERIES = [
    "{ rows { id name nickname colour count price at shout __typename } }",
    "{ rows { a: name b: name colour } later { id at } }",
    "{ rows { secret } }",
    "{ broken { name } }",
    "{ broken { colour count at } }",
    "query ($skip: Boolean!) { rows { name @skip(if: $skip) nickname @include(if: $skip) } }",
    # Every field plain: each object is answered in one loop, or (a broken row) the regular way.
    "{ rows { __typename id name nickname colour count price at } later { __typename at } }",
    "{ broken { id nickname name } }",
    "{ broken { __typename colour } }",
    "{ rows { name ... on Row { id } ...Parts } } fragment Parts on Row { colour at }",
    "{ rows { x: name x: name y: __typename } }",
]


@pytest.mark.parametrize("query", QUERIES)
async def test_the_fast_path_answers_as_graphql_core_does(query: str) -> None:
    regular = strawberry.Schema(query=Query)
    fast = strawberry.Schema(query=Query, execution_context_class=ExecutionContext)
    variables = {"skip": True}
    want = await regular.execute(query, variable_values=variables)
    got = await fast.execute(query, variable_values=variables)
    assert got.data == want.data
    assert [e.formatted for e in got.errors or []] == [e.formatted for e in want.errors or []]


def test_only_plain_leaves_take_the_fast_path() -> None:
    schema = strawberry.Schema(query=Query)._schema
    plain = {name for type_name, name in plain_leaves(schema) if type_name == "Row"}
    # `shout` has a resolver, `secret` a permission: Strawberry must run those.
    assert plain == {"id", "name", "nickname", "colour", "count", "price", "at"}


def test_the_service_schema_runs_on_this_executor() -> None:
    assert build_schema().execution_context_class is ExecutionContext
