"""Hostile and broken input: limits, masked errors, GraphQL over HTTP, production mode."""

from __future__ import annotations

import gc
import json
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from graphql.language.lexer import Lexer
from graphql.language.source import Source
from graphql.language.token_kind import TokenKind

from config import ConfigError, load_settings
from models import OrderMapping, OrderMappingStatus
from schema import build_schema
from schema.documents import MAX_CACHED_QUERY_CHARS
from services.orders import product_mappings
from tests.conftest import METRICS_HEADERS, TEST_JWT_SECRET, make_settings, series, serving
from tests.graphql_client import codes, make_jwt
from web.guards import MAX_BODY_BYTES

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    import httpx
    from starlette.applications import Starlette

GRAPHQL_RESPONSE = "application/graphql-response+json"
ADMIN = {"authorization": f"Bearer {make_jwt(TEST_JWT_SECRET)}"}


async def post(
    client: httpx.AsyncClient, query: str, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post("/graphql", json={"query": query}, headers=headers or {})


def error_messages(response: httpx.Response) -> list[str]:
    return [error["message"] for error in response.json().get("errors", [])]


def refused_with(response: httpx.Response, status: int, code: str) -> str:
    """The message of a request refused before any operation ran: `status`, and a GraphQL
    JSON body of one error with `code` and no data, as every GraphQL client reads errors."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] in ("application/json", GRAPHQL_RESPONSE)
    body = response.json()
    assert set(body) == {"errors"}, body
    [error] = body["errors"]
    assert error["extensions"] == {"code": code}, error
    return str(error["message"])


def nested(depth: int) -> str:
    """An operation of the given depth, root fields being depth 0 (as graphql-depth-limit
    counts); the inner fields do not exist, which is checked too, after the depth."""
    inner = "leaf"
    for level in range(depth - 1):
        inner = f"f{level} {{ {inner} }}"
    return f"{{ qikinkOrders {{ {inner} }} }}"


async def test_an_operation_at_the_depth_limit_passes_it_and_one_deeper_is_refused(
    client: httpx.AsyncClient,
) -> None:
    at_limit = error_messages(await post(client, nested(10)))
    over = error_messages(await post(client, nested(11)))
    assert not any("maximum operation depth" in message for message in at_limit)
    assert any("exceeds maximum operation depth of 10" in message for message in over)


def aliased(count: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


async def test_fifteen_aliases_pass_and_sixteen_are_refused(client: httpx.AsyncClient) -> None:
    ok = await post(client, aliased(15))
    assert ok.json() == {"data": {f"a{i}": "Query" for i in range(15)}}
    over = await post(client, aliased(16))
    assert error_messages(over) == ["16 aliases found. Allowed: 15"]


def count_tokens(query: str) -> int:
    lexer, count = Lexer(Source(query)), 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def with_tokens(total: int) -> str:
    """A valid mutation of exactly `total` tokens (a long item list, then __typename fields)."""
    item = '{ variantId: "v", quantity: 1, unitPrice: "1" }'
    head = (
        'mutation { submitStoreOrder(order: { id: "o", email: "a@b.co", shippingAddress: '
        '{ firstName: "A", address1: "B", city: "C", province: "D", postalCode: "1", '
        'countryCode: "in" }, items: ['
    )
    items: list[str] = []
    while True:
        query = f"{head} {' '.join([*items, item])} ] }}) {{ skipped }} }}"
        if count_tokens(query) > total:
            break
        items.append(item)
    query = f"{head} {' '.join(items)} ] }}) {{ skipped }} }}"
    fields = total - count_tokens(query)
    query = query.replace("{ skipped }", "{ skipped " + "__typename " * fields + "}")
    assert count_tokens(query) == total
    return query


async def test_a_document_of_1000_tokens_is_parsed_and_one_of_1001_is_refused(
    client: httpx.AsyncClient,
) -> None:
    at_limit = await post(client, with_tokens(1000))
    # Parsed, validated and executed: refused only because nobody signed in.
    assert codes(at_limit.json()) == ["UNAUTHENTICATED"]
    over = await post(client, with_tokens(1001))
    assert error_messages(over) == [
        "Syntax Error: Document contains more than 1000 tokens. Parsing aborted."
    ]


@pytest.mark.parametrize("query", ["{}", "{ qikinkOrderMappings { nodes {} } }"])
async def test_an_empty_selection_is_a_syntax_error(client: httpx.AsyncClient, query: str) -> None:
    for method in ("GET", "POST"):
        if method == "GET":
            response = await client.get("/graphql", params={"query": query})
        else:
            response = await post(client, query)
        assert response.status_code == 200
        [message] = error_messages(response)
        assert message.startswith("Syntax Error: Expected Name, found '}'")


async def test_a_repeated_document_is_checked_once(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    schema = app.state.graphql.schema
    before = schema.documents.cache_info()
    answers = [(await post(client, "{ __typename }")).json() for _ in range(3)]
    after = schema.documents.cache_info()
    assert answers == [{"data": {"__typename": "Query"}}] * 3
    assert after.misses - before.misses == 1
    assert after.hits - before.hits == 2
    assert after.currsize == before.currsize + 1


async def test_a_refused_document_is_refused_the_same_way_each_time_and_never_kept(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    schema = app.state.graphql.schema
    typo = "{ qikinkOrderMapings { count } }"
    before = schema.documents.cache_info()
    answers = [error_messages(await post(client, typo)) for _ in range(3)]
    after = schema.documents.cache_info()
    assert answers == [answers[0]] * 3
    assert len(answers[0]) == 1
    assert "Cannot query field 'qikinkOrderMapings'" in answers[0][0]
    assert after.hits == before.hits
    assert (after.currsize, after.bytes) == (before.currsize, before.bytes)


async def test_a_long_document_is_answered_but_not_kept(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    schema = app.state.graphql.schema
    # Comments are no tokens: within the token limit, but too long to keep in the cache.
    query = "# " + "x" * MAX_CACHED_QUERY_CHARS + "\n{ __typename }"
    before = schema.documents.cache_info()
    for _ in range(2):
        response = await post(client, query)
        assert response.json() == {"data": {"__typename": "Query"}}
    after = schema.documents.cache_info()
    assert after.currsize == before.currsize
    assert after.hits == before.hits


async def test_an_admins_body_over_one_mebibyte_is_refused_with_413(
    client: httpx.AsyncClient,
) -> None:
    query = "{ __typename }"
    padding = MAX_BODY_BYTES - len(json.dumps({"query": query}))
    fits = json.dumps({"query": query + " " * padding})
    assert len(fits) == MAX_BODY_BYTES
    headers = {"content-type": "application/json", **ADMIN}
    ok = await client.post("/graphql", content=fits, headers=headers)
    assert ok.json() == {"data": {"__typename": "Query"}}
    too_big = json.dumps({"query": query + " " * (padding + 1)})
    refused = await client.post("/graphql", content=too_big, headers=headers)
    refused_with(refused, 413, "PAYLOAD_TOO_LARGE")

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the limit is enforced while the body streams in.
        for start in range(0, len(too_big), 65536):
            yield too_big[start : start + 65536].encode()

    streamed = await client.post("/graphql", content=chunks(), headers=headers)
    refused_with(streamed, 413, "PAYLOAD_TOO_LARGE")


async def test_batched_requests_are_refused_with_a_code(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=[{"query": "{ __typename }"}] * 2)
    message = refused_with(response, 400, "BATCHING_NOT_SUPPORTED")
    assert message == (
        "Batched operations (a JSON list) are not supported: send one operation a request."
    )


@pytest.mark.parametrize("body", [{}, {"variables": {}}, {"query": None}])
async def test_a_body_without_a_query_is_a_coded_400(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    for accept in ("application/json", GRAPHQL_RESPONSE):
        response = await client.post("/graphql", json=body, headers={"accept": accept})
        message = refused_with(response, 400, "BAD_REQUEST")
        assert message == "No GraphQL query found in the request"
        assert response.headers["content-type"].startswith(accept)


async def test_an_unexpected_error_is_masked_for_the_caller_and_logged_with_its_request_id(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("connection string postgres://admin:hunter2@db/internal")

    monkeypatch.setattr(product_mappings, "list_product_mappings", broken)
    caplog.set_level(logging.ERROR, logger="qikink_graphql.errors")
    response = await post(client, "{ productMappings { count } }", headers=ADMIN)
    body = response.json()
    [error] = body["errors"]
    request_id = response.headers["x-request-id"]
    assert error["message"] == "Internal server error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert request_id in caplog.text
    assert "hunter2" in caplog.text  # the log is where the detail belongs
    assert "RuntimeError" in caplog.text


MUTATION = "mutation { qikinkToken { expiresIn } }"


@pytest.mark.parametrize(
    ("query", "status"),
    [("{", 400), ("{ nope }", 400), ("{ productMapping }", 400), ("{ __typename }", 200)],
)
async def test_graphql_response_json_uses_4xx_for_requests_that_never_ran(
    client: httpx.AsyncClient, query: str, status: int
) -> None:
    response = await post(client, query, headers={"accept": GRAPHQL_RESPONSE})
    assert response.status_code == status
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert ("data" in response.json()) == (status == 200)


async def test_graphql_response_json_keeps_200_for_field_errors(
    client: httpx.AsyncClient,
) -> None:
    response = await post(
        client, "{ productMappings { count } }", headers={"accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 200
    assert response.json()["data"] is None
    assert codes(response.json()) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("accept", [None, "application/json", "*/*"])
async def test_application_json_stays_the_default_and_answers_200(
    client: httpx.AsyncClient, accept: str | None
) -> None:
    response = await post(client, "{ nope }", headers={"accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


async def test_the_preferred_media_type_wins(client: httpx.AsyncClient) -> None:
    accept = f"application/json;q=0.5, {GRAPHQL_RESPONSE}"
    response = await post(client, "{ __typename }", headers={"accept": accept})
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)


async def test_an_unacceptable_accept_header_is_406(client: httpx.AsyncClient) -> None:
    response = await post(client, "{ __typename }", headers={"accept": "application/xml"})
    refused_with(response, 406, "NOT_ACCEPTABLE")
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    # A GET asking for HTML alone gets GraphiQL without a query; with one, nothing it takes.
    page = await client.get("/graphql", params={"query": "{ __typename }"}, headers=HTML_ONLY)
    refused_with(page, 406, "NOT_ACCEPTABLE")


HTML_ONLY = {"accept": "text/html"}


async def test_a_mutation_over_get_is_405_allowing_post_and_a_query_over_get_works(
    client: httpx.AsyncClient,
) -> None:
    refused = await client.get("/graphql", params={"query": MUTATION})
    refused_with(refused, 405, "METHOD_NOT_ALLOWED")
    assert refused.headers["allow"] == "POST"
    ok = await client.get("/graphql", params={"query": "{ __typename }"})
    assert ok.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
async def test_other_methods_are_405_allowing_get_and_post(
    client: httpx.AsyncClient, method: str
) -> None:
    response = await client.request(
        method, "/graphql", json={"query": "{ __typename }"} if method != "HEAD" else None
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    if method != "HEAD":  # a HEAD answer has no body to read
        message = refused_with(response, 405, "METHOD_NOT_ALLOWED")
        assert message == "/graphql answers GET and POST only."


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_a_post_that_is_not_json_is_415(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers=headers
    )
    message = refused_with(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert message == "Send the GraphQL request as application/json."


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content=b'{"query": ', headers={"content-type": "application/json"}
    )
    assert refused_with(response, 400, "BAD_REQUEST") == "Unable to parse request body as JSON"


async def test_production_suggests_no_field_or_value_names(
    production: httpx.AsyncClient,
) -> None:
    typo = (
        "{ qikinkOrderMapings { count } qikinkOrderMappings(filter: {status: SHIPED}) { count } }"
    )
    development = build_schema(suggestions=True).execute_sync(typo).errors or []
    assert sum("Did you mean" in error.message for error in development) == 2
    hidden = error_messages(await post(production, typo))
    assert len(hidden) == 2
    assert not any("Did you mean" in message for message in hidden)


async def test_production_suggests_no_input_field_names_in_variable_errors(
    database_url: str,
) -> None:
    query = """mutation($input: QikinkOrderInput!) {
      createQikinkOrder(input: $input) { orderId } }"""
    variables = {"input": {"lineItem": [], "orderNumber": "SO1"}}
    answers = {}
    # Development runs on the simulator: real credentials would bring the production rules.
    for env, secret in (("development", TEST_JWT_SECRET), ("production", "p" * 48)):
        credentials = (
            {"qikink_client_id": "123456789012345", "qikink_client_secret": "live"}
            if env == "production"
            else {}
        )
        settings = make_settings(
            database_url,
            app_env=env,
            jwt_secret=secret,
            qikink_publishable_keys=["pk_live_1"],
            **credentials,
        )
        async with serving(settings) as http:
            response = await http.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"authorization": f"Bearer {make_jwt(secret)}"},
            )
            answers[env] = " ".join(error_messages(response))
    assert "unknown field 'lineItem'. Did you mean 'lineItems'?" in answers["development"]
    assert "unknown field 'lineItem'" in answers["production"]
    assert "Did you mean" not in answers["production"]


LONE_SURROGATE = '{"id": "\\ud800"}'
SURROGATE_PAIR = '{"id": "\\ud83d\\ude00"}'
BY_ORDER = "query($id: String) { qikinkOrderMappings(filter: { medusaOrderId: $id }) { count } }"


async def test_a_lone_surrogate_is_refused_with_400_and_a_pair_is_a_character(
    client: httpx.AsyncClient,
) -> None:
    # Decoded, half a surrogate pair is a string no database driver or encoder takes.
    headers = {"content-type": "application/json"}
    for variables, status in ((LONE_SURROGATE, 400), (SURROGATE_PAIR, 200)):
        body = f'{{"query": "{BY_ORDER}", "variables": {variables}}}'
        posted = await client.post("/graphql", content=body.encode(), headers=headers)
        got = await client.get("/graphql", params={"query": BY_ORDER, "variables": variables})
        for response in (posted, got):
            assert response.status_code == status, response.text
            if status == 400:
                assert "lone UTF-16 surrogate" in refused_with(response, 400, "BAD_REQUEST")
            else:
                assert response.json() == {"data": {"qikinkOrderMappings": {"count": 0}}}


async def test_production_answers_no_introspection(production: httpx.AsyncClient) -> None:
    for query in ("{ __schema { queryType { name } } }", '{ __type(name: "Query") { name } }'):
        response = await post(production, query)
        assert response.json().get("data") is None
        messages = error_messages(response)
        assert messages
        assert all("introspection has been disabled" in message for message in messages)
    # A development server answers the same query.
    development = build_schema(introspection=True).execute_sync(
        "{ __schema { queryType { name } } }"
    )
    assert development.data == {"__schema": {"queryType": {"name": "Query"}}}


def test_production_refuses_a_sqlite_file_it_cannot_write(tmp_path: Path) -> None:
    # A file where the database's folder should be: no one, root included, can create it.
    (tmp_path / "not-a-folder").write_text("")
    with pytest.raises(ConfigError, match=r"DATABASE_URL points at .* cannot write"):
        load_settings(
            env_file=None,
            app_env="production",
            jwt_secret="p" * 48,
            qikink_client_id="1",
            qikink_client_secret="s",
            qikink_publishable_keys=["pk_live_1"],
            database_url=f"sqlite://{tmp_path / 'not-a-folder' / 'qikink.db'}",
        )


async def test_each_operation_is_logged_once_without_secrets(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="qikink_graphql.requests")
    token = make_jwt(TEST_JWT_SECRET)
    await client.post(
        "/graphql",
        json={"query": "query Listing { productMappings { count } }"},
        headers={"authorization": f"Bearer {token}", "x-request-id": "req-1"},
    )
    [line] = [r.getMessage() for r in caplog.records if r.name == "qikink_graphql.requests"]
    entry = json.loads(line)
    assert entry["request_id"] == "req-1"
    assert entry["operation"] == "Listing"
    assert entry["fields"] == "query:productMappings"
    assert entry["outcome"] == "ok"
    assert entry["caller"] == "admin"
    assert entry["duration_ms"] >= 0
    assert token not in caplog.text


async def test_metrics_count_operations_and_mappings(client: httpx.AsyncClient) -> None:
    query = '{ qikinkOrderMappings(filter: { medusaOrderId: "order_01" }) { count } }'
    ok = 'qikink_graphql_requests_total{operation="query:qikinkOrderMappings",outcome="ok"}'
    # Refused before it ran: whatever root fields it named, one label.
    refused = 'qikink_graphql_requests_total{operation="refused",outcome="UNAUTHENTICATED"}'

    before = (await client.get("/metrics", headers=METRICS_HEADERS)).text
    await post(client, query)
    await post(client, query)
    await post(client, "{ productMappings { count } }")
    await OrderMapping.create(medusa_order_id="order_m1", status=OrderMappingStatus.SHIPPED)
    await OrderMapping.create(medusa_order_id="order_m2", status=OrderMappingStatus.SHIPPED)
    await OrderMapping.create(medusa_order_id="order_m3", status=OrderMappingStatus.FAILED)
    after = (await client.get("/metrics", headers=METRICS_HEADERS)).text
    assert series(after, ok) - series(before, ok) == 2
    assert series(after, refused) - series(before, refused) == 1
    # The mappings gauge is read from the database when scraped.
    gauge = 'qikink_order_mappings{status="%s",submit_state="queued"}'
    assert series(after, gauge % "SHIPPED") == 2
    assert series(after, gauge % "FAILED") == 1


async def test_an_operation_is_counted_by_the_fields_of_the_one_that_ran(
    client: httpx.AsyncClient,
) -> None:
    listing = 'qikink_graphql_requests_total{operation="query:qikinkOrderMappings",outcome="ok"}'
    before = (await client.get("/metrics", headers=METRICS_HEADERS)).text
    document = (
        "query A { __typename } "
        'query B { qikinkOrderMappings(filter: { medusaOrderId: "order_01" }) { count } }'
    )
    await client.post("/graphql", json={"query": document, "operationName": "B"})
    after = (await client.get("/metrics", headers=METRICS_HEADERS)).text
    assert series(after, listing) - series(before, listing) == 1


async def test_an_answered_query_leaves_nothing_for_the_cycle_collector(
    client: httpx.AsyncClient,
) -> None:
    # Whatever a request holds is freed when it ends, by reference counting: state kept alive
    # by a cycle waits for the collector, whose passes over every request in flight cost CPU
    # and make the slowest answers much slower.
    query = (
        '{ qikinkOrderMappings(filter: { medusaOrderId: "order_01" }, limit: 5) '
        "{ count nodes { id status } } }"
    )
    assert (await post(client, query)).json()["data"]["qikinkOrderMappings"]["count"] == 0
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        answer = await post(client, query)
        gc.collect()
        left = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert answer.json()["data"]["qikinkOrderMappings"]["count"] == 0
    ours = {
        name: count
        for name, count in left.items()
        if name.startswith(("schema.", "graphql.", "strawberry.", "starlette.", "services."))
    }
    assert ours == {}
