"""Small helpers for talking GraphQL over HTTP in tests."""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING, Any

import jwt

if TYPE_CHECKING:
    import httpx

__all__ = [
    "codes",
    "gql",
    "large_qikink_order_input",
    "make_jwt",
    "qikink_order_input",
    "revoked_api_key",
    "store_order_input",
    "unsigned_jwt",
]


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    return response.json()


def codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors") or []]


def make_jwt(
    secret: str,
    *,
    actor_type: str = "user",
    actor_id: str = "user_01",
    expires_in: int = 3600,
    algorithm: str = "HS256",
) -> str:
    now = int(time.time())
    claims = {
        "actor_id": actor_id,
        "actor_type": actor_type,
        "auth_identity_id": "authid_01",
        "app_metadata": {},
        "iat": now,
        "exp": now + expires_in,
    }
    return jwt.encode(claims, secret, algorithm=algorithm)


def unsigned_jwt() -> str:
    """An admin's claims with no signature at all (`alg: none`): what a forger tries first."""
    claims = {"actor_id": "user_01", "actor_type": "user", "exp": 4_102_444_800}
    return jwt.encode(claims, None, algorithm="none")


async def revoked_api_key(name: str = "revoked") -> str:
    """An API key that was made, then revoked (the database must be connected)."""
    from services.shared import auth

    _, key = await auth.create_api_key(name)
    await auth.revoke_api_key(name)
    return key


def store_order_input(order_id: str, display_id: str, variant_id: str) -> dict[str, Any]:
    """A paid Medusa order of one tee to Bengaluru, as `submitStoreOrder(order:)` takes it."""
    return {
        "id": order_id,
        "displayId": display_id,
        "email": "asha@example.com",
        "currencyCode": "inr",
        "items": [{"variantId": variant_id, "quantity": 1, "unitPrice": "549", "title": "Tee"}],
        "shippingAddress": {
            "firstName": "Asha",
            "address1": "12 MG Road",
            "city": "Bengaluru",
            "province": "Karnataka",
            "postalCode": "560001",
            "countryCode": "in",
            "phone": "9876543210",
        },
    }


ORDER_INPUT: dict[str, Any] = {
    "orderNumber": "SO1001",
    "gateway": "PREPAID",
    "totalOrderValue": "1098",
    "lineItems": [{"sku": "MVnHs-Wh-S", "quantity": 2, "price": "549"}],
    "shippingAddress": {
        "firstName": "Asha",
        "lastName": "Rao",
        "address1": "12 MG Road",
        "phone": "9876543210",
        "email": "asha@example.com",
        "city": "Bengaluru",
        "zip": "560001",
        "province": "Karnataka",
        "countryCode": "in",
    },
}


def qikink_order_input(**changes: Any) -> dict[str, Any]:
    """`createQikinkOrder(input:)` for a prepaid tee to Bengaluru; `address` changes the address."""
    value = copy.deepcopy(ORDER_INPUT)
    address = changes.pop("address", None)
    if address:
        value["shippingAddress"].update(address)
    value.update(changes)
    return value


def large_qikink_order_input(lines: int = 100) -> dict[str, Any]:
    """A storefront's big `createQikinkOrder(input:)`: `lines` printed line items, each with its
    own design and mockup links (the body a storefront may need the most room for)."""
    items = [
        {
            "sku": f"MVnHs-Wh-{index:03d}",
            "quantity": 1,
            "price": "549",
            "searchFromMyProducts": False,
            "printTypeId": 1,
            "designs": [
                {
                    "designCode": f"design-{index:04d}",
                    "widthInches": "12",
                    "heightInches": "14",
                    "placementSku": "fr",
                    "designLink": f"https://cdn.example.com/designs/{index:04d}/front-v2.png",
                    "mockupLink": f"https://cdn.example.com/mockups/{index:04d}/front-v2.jpg",
                }
            ],
        }
        for index in range(lines)
    ]
    return qikink_order_input(totalOrderValue=str(549 * lines), lineItems=items)
