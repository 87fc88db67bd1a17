"""A paid store order as the services take it: the twin of
tests/graphql_client.store_order_input, for code that queues orders without GraphQL."""

from __future__ import annotations

from decimal import Decimal

from services.orders.store import StoreAddress, StoreItem, StoreOrder

__all__ = ["TEE_VARIANT", "paid_store_order"]

TEE_VARIANT = "variant_tee_white_s"


def paid_store_order(order_id: str, display_id: str, variant_id: str = TEE_VARIANT) -> StoreOrder:
    """A paid order of one tee (549) to Bengaluru."""
    return StoreOrder(
        id=order_id,
        email="asha@example.com",
        items=[StoreItem(variant_id, 1, Decimal("549"))],
        shipping_address=StoreAddress(
            first_name="Asha",
            last_name="Rao",
            address1="12 MG Road",
            address2=None,
            city="Bengaluru",
            province="Karnataka",
            postal_code="560001",
            country_code="IN",
            phone="9876543210",
        ),
        display_id=display_id,
    )
