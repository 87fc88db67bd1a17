"""What an attacker learns or costs over HTTP: one refusal for every bad admin credential,
header values of any bytes, the body limit of callers who are not admins, /metrics behind its
token, and the admin pages' security headers."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import pytest

from config import ADMIN_MAX_BODY_BYTES
from services.shared import auth
from tests.conftest import METRICS_HEADERS, TEST_JWT_SECRET, make_settings, serving
from tests.graphql_client import (
    codes,
    gql,
    large_qikink_order_input,
    make_jwt,
    revoked_api_key,
    unsigned_jwt,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

PRODUCT_MAPPINGS = "{ productMappings { count } }"
STOREFRONT_LIMIT = 64 * 1024
JSON = {"content-type": "application/json"}


# Each bad credential, and the reason the log gives for it.
BAD_CREDENTIALS = {
    "expired": (lambda: make_jwt(TEST_JWT_SECRET, expires_in=-60), "an expired token"),
    "forged": (
        lambda: make_jwt("not-the-secret-" + "y" * 30),
        "an invalid token (InvalidSignatureError)",
    ),
    "unsigned": (unsigned_jwt, "an invalid token (InvalidAlgorithmError)"),
    "hs512": (
        lambda: make_jwt(TEST_JWT_SECRET, algorithm="HS512"),
        "an invalid token (InvalidAlgorithmError)",
    ),
    "no_actor_id": (lambda: make_jwt(TEST_JWT_SECRET, actor_id=""), "a token without actor_id"),
    "unknown_key": (lambda: "qkg_" + "A" * 43, "an unknown API key"),
}


@pytest.fixture
async def keyed(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, qikink_publishable_keys=["pk_live_1"])
    async with serving(settings) as http:
        yield http


async def test_every_bad_admin_credential_hears_one_refusal_and_only_the_log_says_why(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="qikink_graphql.auth")
    tokens = {name: (make(), reason) for name, (make, reason) in BAD_CREDENTIALS.items()}
    tokens["revoked_key"] = (await revoked_api_key(), "the revoked API key 'revoked'")
    for name, (token, reason) in tokens.items():
        caplog.clear()
        response = await client.post(
            "/graphql",
            json={"query": PRODUCT_MAPPINGS},
            headers={"authorization": f"Bearer {token}", "x-request-id": f"req-{name}"},
        )
        [error] = response.json()["errors"]
        assert (error["extensions"]["code"], error["message"]) == ("UNAUTHENTICATED", auth.REFUSED)
        assert f"Request req-{name}: admin credentials refused: {reason}." in caplog.text
        assert token not in caplog.text


@pytest.mark.parametrize("actor_type", ["customer", "vendor"])
async def test_a_valid_token_of_the_wrong_kind_is_forbidden_with_one_message(
    client: httpx.AsyncClient, actor_type: str
) -> None:
    token = make_jwt(TEST_JWT_SECRET, actor_type=actor_type)
    body = await gql(client, PRODUCT_MAPPINGS, headers={"authorization": f"Bearer {token}"})
    [error] = body["errors"]
    assert (error["extensions"]["code"], error["message"]) == ("FORBIDDEN", auth.NOT_AN_ADMIN)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-publishable-api-key", "pk_live_é".encode()),
        ("x-publishable-api-key", b"pk_live_\xff\xfe"),
        ("authorization", "Bearer jwt.é.token".encode()),
        ("authorization", "Bearer qkg_é".encode()),
        ("authorization", b"Bearer \xff"),
    ],
)
async def test_header_values_beyond_ascii_are_refused_like_any_wrong_value(
    keyed: httpx.AsyncClient, header: str, value: bytes
) -> None:
    query = '{ qikinkOrderMappings(filter: { medusaOrderId: "order_01" }) { count } }'
    response = await keyed.post("/graphql", json={"query": query}, headers={header: value})
    assert response.status_code == 200
    assert codes(response.json()) == ["UNAUTHENTICATED"]
    right = await keyed.post(
        "/graphql", json={"query": query}, headers={"x-publishable-api-key": "pk_live_1"}
    )
    assert right.json() == {"data": {"qikinkOrderMappings": {"count": 0}}}


def _body_of(size: int) -> bytes:
    """A `{ __typename }` request of exactly `size` bytes."""
    query = "{ __typename }"
    padding = size - len(json.dumps({"query": query}))
    return json.dumps({"query": query + " " * padding}).encode()


async def test_callers_without_admin_credentials_may_send_64_kib_and_admins_1_mib(
    client: httpx.AsyncClient,
) -> None:
    admin = {"authorization": f"Bearer {make_jwt(TEST_JWT_SECRET)}"}
    forged = {"authorization": f"Bearer {make_jwt('not-the-secret-' + 'y' * 30)}"}
    for headers in ({}, {"x-publishable-api-key": "pk_any"}, forged):
        fits = await client.post(
            "/graphql", content=_body_of(STOREFRONT_LIMIT), headers={**JSON, **headers}
        )
        assert fits.json() == {"data": {"__typename": "Query"}}
        over = await client.post(
            "/graphql", content=_body_of(STOREFRONT_LIMIT + 1), headers={**JSON, **headers}
        )
        assert over.status_code == 413
        [error] = over.json()["errors"]
        assert error == {
            "message": f"Request body is over {STOREFRONT_LIMIT} bytes, the limit for callers "
            "without admin credentials.",
            "extensions": {"code": "PAYLOAD_TOO_LARGE"},
        }
    body = _body_of(STOREFRONT_LIMIT + 1)

    async def streamed() -> AsyncIterator[bytes]:
        # No Content-Length: the limit holds while the body streams in.
        for start in range(0, len(body), 16384):
            yield body[start : start + 16384]

    refused = await client.post("/graphql", content=streamed(), headers=JSON)
    assert refused.status_code == 413
    as_admin = await client.post(
        "/graphql", content=_body_of(ADMIN_MAX_BODY_BYTES), headers={**JSON, **admin}
    )
    assert as_admin.json() == {"data": {"__typename": "Query"}}


async def test_a_storefront_order_of_a_hundred_printed_lines_fits_the_storefront_limit(
    database_url: str,
) -> None:
    order = large_qikink_order_input(100)
    body = json.dumps(
        {
            "query": "mutation($input: QikinkOrderInput!) { createQikinkOrder(input: $input) "
            "{ orderId } }",
            "variables": {"input": order},
        }
    ).encode()
    assert len(body) < STOREFRONT_LIMIT
    settings = make_settings(database_url, storefront_max_body_bytes=len(body))
    async with serving(settings) as http:
        answered = await http.post("/graphql", content=body, headers=JSON)
        # Read and parsed whole: refused only because the proxy is the merchant's.
        assert codes(answered.json()) == ["UNAUTHENTICATED"]
        too_big = await http.post("/graphql", content=body + b" ", headers=JSON)
        assert too_big.status_code == 413


async def test_metrics_answer_only_their_bearer_token(database_url: str) -> None:
    async with serving(make_settings(database_url)) as http:
        assert (await http.get("/metrics")).status_code == 401
        wrong = await http.get("/metrics", headers={"authorization": "Bearer guessed"})
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"].startswith("Bearer")
        beyond_ascii = await http.get("/metrics", headers={"authorization": b"Bearer \xe9"})
        assert beyond_ascii.status_code == 401
        scraped = await http.get("/metrics", headers=METRICS_HEADERS)
        assert scraped.status_code == 200
        assert "qikink_graphql_requests_total" in scraped.text
    async with serving(make_settings(database_url, metrics_token=None)) as http:
        for headers in ({}, METRICS_HEADERS):
            unset = await http.get("/metrics", headers=headers)
            assert unset.status_code == 404
            assert "qikink" not in unset.text


@pytest.mark.parametrize("path", ["/admin/", "/admin/app.js", "/admin/style.css", "/admin/none"])
async def test_admin_pages_forbid_framing_and_foreign_content(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == (404 if path.endswith("none") else 200)
    assert response.headers["content-security-policy"] == (
        "default-src 'self'; frame-ancestors 'none'"
    )
    assert response.headers["x-content-type-options"] == "nosniff"
