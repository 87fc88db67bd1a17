"""What a client reads when its request is wrong: every error coded, graphql-core's whole message.

Apollo Client, gql and graphql-request branch on `extensions.code`; a developer reads the
message and its location. Each test sends what a real client would, over HTTP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx

CREATE = "mutation($input: ProductMappingInput!) { createProductMapping(input: $input) { id } }"


async def errors_of(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> list[dict[str, Any]]:
    response = await client.post("/graphql", json=body, headers=headers)
    errors: list[dict[str, Any]] = response.json()["errors"]
    return errors


async def test_a_document_that_does_not_parse_is_graphql_parse_failed(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    (error,) = await errors_of(client, admin_headers, {"query": "{ productMappings { "})

    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert error["message"] == "Syntax Error: Expected Name, found <EOF>."
    assert error["locations"] == [{"line": 1, "column": 21}]


@pytest.mark.parametrize(
    "query",
    [
        "{ productMappings { nodez } }",
        "query($unused: ID) { productMappings { count } }",
        "{ productMapping(id: {a: 1}) { id } }",
    ],
)
async def test_a_document_that_fails_validation_is_graphql_validation_failed(
    client: httpx.AsyncClient, admin_headers: dict[str, str], query: str
) -> None:
    errors = await errors_of(client, admin_headers, {"query": query})

    assert [error["extensions"]["code"] for error in errors] == ["GRAPHQL_VALIDATION_FAILED"]


async def test_a_variable_of_the_wrong_type_keeps_graphql_cores_whole_message(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    (error,) = await errors_of(
        client,
        admin_headers,
        {"query": CREATE, "variables": {"input": {"qikinkSkuId": 123, "variantId": "v1"}}},
    )

    assert error["message"] == (
        "Variable '$input' has invalid value at .qikinkSkuId: "
        "String cannot represent a non string value: 123"
    )
    assert error["locations"] == [{"line": 1, "column": 10}]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_variables_value_is_shown_as_the_json_it_was_sent_as(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    errors = await errors_of(
        client,
        admin_headers,
        {
            "query": CREATE,
            "variables": {"input": {"qikinkSkuId": {"not": "an id"}, "variantId": None}},
        },
    )

    messages = " ".join(error["message"] for error in errors)
    assert '{"not": "an id"}' in messages
    assert "{'not'" not in messages
    assert "None" not in messages
    assert {error["extensions"]["code"] for error in errors} == {"BAD_USER_INPUT"}


async def test_a_missing_required_variable_is_bad_user_input(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    (error,) = await errors_of(client, admin_headers, {"query": CREATE})

    assert error["message"] == (
        "Variable '$input' has invalid value: "
        "Expected a value of non-null type 'ProductMappingInput!' to be provided."
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_the_wrong_input_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await errors_of(
        client, admin_headers, {"query": CREATE, "variables": {"input": {"qikinkSkuId": 1}}}
    )
    listed = await client.post(
        "/graphql", json={"query": "{ productMappings { count } }"}, headers=admin_headers
    )

    assert listed.json() == {"data": {"productMappings": {"count": 0}}}


async def test_codegen_learns_where_datetime_and_decimal_are_specified(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/graphql",
        json={
            "query": '{ d: __type(name: "DateTime") { specifiedByURL } '
            'm: __type(name: "Decimal") { specifiedByURL } }'
        },
    )

    data = response.json()["data"]
    assert data["d"]["specifiedByURL"] == "https://scalars.graphql.org/andimarek/date-time"
    assert data["m"]["specifiedByURL"] == "https://speleotrove.com/decimal/daconvs.html"
