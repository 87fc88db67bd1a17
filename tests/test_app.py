"""The HTTP surface: /graphql as a Route, GraphiQL, /health, /ready, request ids."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.conftest import make_settings, serving

if TYPE_CHECKING:
    from pathlib import Path

    import httpx


BROWSER = {"accept": "text/html,application/xhtml+xml"}


async def test_health_answers_while_the_process_lives(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_ready_checks_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert (response.status_code, response.json()["database"]) == (200, "ok")


async def test_ready_is_503_when_the_database_cannot_be_reached(
    backend: str, database_url: str, tmp_path: Path
) -> None:
    if backend == "sqlite":
        # A file that is not a database: SQLite opens it, then fails every query.
        (tmp_path / "not-a-database.db").write_bytes(b"\x00garbage" * 512)
        broken = f"sqlite://{tmp_path / 'not-a-database.db'}"
    else:
        broken = "postgres://postgres@127.0.0.1:1/nothing"
    async with serving(make_settings(broken)) as http:
        response = await http.get("/ready")
        assert (response.status_code, response.json()["status"]) == (503, "unavailable")
        assert (await http.get("/health")).status_code == 200


async def test_a_post_to_graphql_is_answered_without_a_redirect(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/graphql", json={"query": "{ __typename }"})
    assert (response.status_code, response.json()) == (200, {"data": {"__typename": "Query"}})


async def test_a_browser_gets_graphiql_in_development(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers=BROWSER)
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_production_serves_no_graphiql_and_no_introspection(
    production: httpx.AsyncClient,
) -> None:
    page = await production.get("/graphql", headers=BROWSER)
    assert "graphiql" not in page.text.lower()
    body = await production.post("/graphql", json={"query": "{ __schema { types { name } } }"})
    messages = [error["message"] for error in body.json()["errors"]]
    # Refused by the introspection rule itself, not by any other failure.
    assert messages
    assert all("introspection has been disabled" in message for message in messages)
    assert body.json().get("data") is None
    # The same server answers an ordinary query.
    plain = await production.post("/graphql", json={"query": "{ __typename }"})
    assert plain.json() == {"data": {"__typename": "Query"}}


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    generated = await client.get("/health")
    assert len(generated.headers["x-request-id"]) == 16
    echoed = await client.get("/health", headers={"x-request-id": "req-abc.123"})
    assert echoed.headers["x-request-id"] == "req-abc.123"
    unsafe = await client.get("/health", headers={"x-request-id": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"
