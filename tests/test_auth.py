"""Admin auth (Medusa JWTs and API keys) and storefront publishable keys, over HTTP."""

from __future__ import annotations

import time
import traceback
from typing import TYPE_CHECKING

import jwt
import pytest

from models import ProductMapping
from services.shared import auth
from services.shared.errors import Forbidden
from tests.conftest import TEST_JWT_SECRET, make_settings, serving
from tests.graphql_client import codes, gql, make_jwt, revoked_api_key, unsigned_jwt

if TYPE_CHECKING:
    import httpx

ADMIN_OPERATIONS = {
    "productMappings": "{ productMappings { count } }",
    "productMapping": '{ productMapping(id: "pm_x") { id } }',
    "createProductMapping": """mutation { createProductMapping(
        input: {qikinkSkuId: "SKU-1", variantId: "variant_1"}) { id } }""",
    "updateProductMapping": """mutation { updateProductMapping(
        id: "pm_x", input: {variantId: "variant_2"}) { id } }""",
    "deleteProductMapping": 'mutation { deleteProductMapping(id: "pm_x") { id } }',
}


CREDENTIALS = {
    "none": (lambda: None, "UNAUTHENTICATED"),
    "wrong_secret_jwt": (lambda: make_jwt("not-the-secret-" + "y" * 30), "UNAUTHENTICATED"),
    "expired_jwt": (lambda: make_jwt(TEST_JWT_SECRET, expires_in=-60), "UNAUTHENTICATED"),
    "customer_jwt": (lambda: make_jwt(TEST_JWT_SECRET, actor_type="customer"), "FORBIDDEN"),
    "unsigned_jwt": (unsigned_jwt, "UNAUTHENTICATED"),
    "hs512_jwt": (lambda: make_jwt(TEST_JWT_SECRET, algorithm="HS512"), "UNAUTHENTICATED"),
    "no_actor_id": (lambda: make_jwt(TEST_JWT_SECRET, actor_id=""), "UNAUTHENTICATED"),
    "unknown_api_key": (lambda: "qkg_" + "A" * 43, "UNAUTHENTICATED"),
    "garbage": (lambda: "not a token", "UNAUTHENTICATED"),
}


@pytest.mark.parametrize("operation", sorted(ADMIN_OPERATIONS))
@pytest.mark.parametrize("credential", [*sorted(CREDENTIALS), "revoked_api_key"])
async def test_every_admin_field_refuses_callers_without_valid_admin_credentials(
    client: httpx.AsyncClient, operation: str, credential: str
) -> None:
    if credential == "revoked_api_key":
        token, expected = await revoked_api_key(), "UNAUTHENTICATED"
    else:
        make, expected = CREDENTIALS[credential]
        token = make()
    headers = {"authorization": f"Bearer {token}"} if token else {}
    body = await gql(client, ADMIN_OPERATIONS[operation], headers=headers)
    assert not any((body["data"] or {}).values())
    assert codes(body) == [expected]
    assert await ProductMapping.all().count() == 0


async def test_a_basic_authorization_header_is_refused(client: httpx.AsyncClient) -> None:
    body = await gql(
        client, ADMIN_OPERATIONS["productMappings"], headers={"authorization": "Basic eDp5"}
    )
    assert codes(body) == ["UNAUTHENTICATED"]


async def test_a_medusa_admin_user_token_is_an_admin(client: httpx.AsyncClient) -> None:
    headers = {"authorization": f"Bearer {make_jwt(TEST_JWT_SECRET)}"}
    body = await gql(client, ADMIN_OPERATIONS["createProductMapping"], headers=headers)
    assert "errors" not in body
    assert await ProductMapping.all().count() == 1


async def test_an_api_key_is_an_admin_until_it_is_revoked(client: httpx.AsyncClient) -> None:
    _, key = await auth.create_api_key("medusa")
    headers = {"authorization": f"Bearer {key}"}
    assert "errors" not in await gql(client, ADMIN_OPERATIONS["productMappings"], headers=headers)
    await auth.revoke_api_key("medusa")
    body = await gql(client, ADMIN_OPERATIONS["productMappings"], headers=headers)
    assert codes(body) == ["UNAUTHENTICATED"]


async def test_api_keys_are_stored_only_as_hashes(client: httpx.AsyncClient) -> None:
    row, key = await auth.create_api_key("medusa")
    assert key.startswith("qkg_")
    assert len(key) > 40
    assert key not in (row.key_hash, row.prefix)
    assert row.key_hash == auth.hash_api_key(key)


ORDER_MAPPINGS = '{ qikinkOrderMappings(filter: { medusaOrderId: "order_01" }) { count } }'


@pytest.fixture
async def keyed_client(database_url: str) -> httpx.AsyncClient:

    settings = make_settings(database_url, qikink_publishable_keys=["pk_live_1", "pk_live_2"])
    async with serving(settings) as http:
        yield http


async def test_storefront_fields_need_a_configured_publishable_key(
    keyed_client: httpx.AsyncClient,
) -> None:
    missing = await gql(keyed_client, ORDER_MAPPINGS)
    assert codes(missing) == ["UNAUTHENTICATED"]
    wrong = await gql(keyed_client, ORDER_MAPPINGS, headers={"x-publishable-api-key": "pk_bad"})
    assert codes(wrong) == ["UNAUTHENTICATED"]
    right = await gql(keyed_client, ORDER_MAPPINGS, headers={"x-publishable-api-key": "pk_live_2"})
    assert right == {"data": {"qikinkOrderMappings": {"count": 0}}}


async def test_admins_may_use_storefront_fields_without_a_publishable_key(
    keyed_client: httpx.AsyncClient,
) -> None:
    headers = {"authorization": f"Bearer {make_jwt(TEST_JWT_SECRET)}"}
    body = await gql(keyed_client, ORDER_MAPPINGS, headers=headers)
    assert body == {"data": {"qikinkOrderMappings": {"count": 0}}}


async def test_storefront_fields_are_open_when_no_publishable_keys_are_configured(
    client: httpx.AsyncClient,
) -> None:
    assert await gql(client, ORDER_MAPPINGS) == {"data": {"qikinkOrderMappings": {"count": 0}}}


async def test_a_remembered_admin_token_is_refused_once_it_expires() -> None:
    token = make_jwt(TEST_JWT_SECRET, expires_in=600)
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]

    async def caller_at(now: float) -> auth.Caller:
        return await auth.authenticate(
            authorization=f"Bearer {token}",
            publishable_key=None,
            jwt_secret=TEST_JWT_SECRET,
            publishable_keys=[],
            clock=lambda: now,
        )

    assert (await caller_at(expires_at - 1)).is_admin
    assert (await caller_at(expires_at - 1)).is_admin  # the remembered verification
    expired = await caller_at(expires_at)
    assert not expired.is_admin
    assert expired.auth_error is not None
    assert expired.auth_error.message == auth.REFUSED
    assert expired.refused_because == "an expired token"


async def test_a_token_is_judged_by_the_service_clock_not_the_wall_clock() -> None:
    """A token that expired an hour ago by the wall clock is good while the service's clock
    says it is earlier, and one not valid yet (`nbf`) is refused until its time comes."""
    now = time.time()
    expired = make_jwt(TEST_JWT_SECRET, expires_in=-3600)
    claims = {"actor_id": "user_01", "actor_type": "user", "nbf": now + 60, "exp": now + 600}
    early = jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")

    async def caller(token: str, at: float) -> auth.Caller:
        return await auth.authenticate(
            authorization=f"Bearer {token}",
            publishable_key=None,
            jwt_secret=TEST_JWT_SECRET,
            publishable_keys=[],
            clock=lambda: at,
        )

    assert (await caller(expired, now - 7200)).is_admin
    assert (await caller(expired, now)).refused_because == "an expired token"
    assert (await caller(early, now)).refused_because == "a token not valid yet"
    assert (await caller(early, now + 61)).is_admin


async def test_a_token_verified_under_one_secret_proves_nothing_under_another() -> None:
    token = make_jwt(TEST_JWT_SECRET)
    for secret, admin in ((TEST_JWT_SECRET, True), ("another-secret-" + "z" * 30, False)):
        caller = await auth.authenticate(
            authorization=f"Bearer {token}",
            publishable_key=None,
            jwt_secret=secret,
            publishable_keys=[],
        )
        assert caller.is_admin is admin


async def test_a_token_of_the_wrong_kind_is_refused_afresh_each_time() -> None:
    """The refusal is remembered, but each request gets an error of its own: one raised again
    would carry every earlier request's traceback, and its frames, with it."""
    token = make_jwt(TEST_JWT_SECRET, actor_type="vendor")
    refusals = []
    for _ in range(3):
        caller = await auth.authenticate(
            authorization=f"Bearer {token}",
            publishable_key=None,
            jwt_secret=TEST_JWT_SECRET,
            publishable_keys=[],
        )
        assert isinstance(caller.auth_error, Forbidden)
        refusals.append(caller.auth_error)
    assert len({id(error) for error in refusals}) == 3
    depths = [len(traceback.extract_tb(error.__traceback__)) for error in refusals]
    assert depths[0] == depths[-1]
