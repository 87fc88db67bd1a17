"""Who may call what; each class raises the domain error that names what is missing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from strawberry.permission import BasePermission

from services.errors import Unauthenticated

if TYPE_CHECKING:
    import strawberry

    from schema.context import Context

__all__ = ["IsAdmin", "IsStorefront", "QikinkProxy"]


class IsAdmin(BasePermission):
    """An admin: a Medusa admin user's JWT or an API key from `create-api-key`."""

    message = "Admin credentials are required: send 'Authorization: Bearer <token or API key>'."

    def has_permission(self, source: Any, info: strawberry.Info[Context], **kwargs: Any) -> bool:
        caller = info.context.caller
        if caller.is_admin:
            return True
        raise caller.auth_error or Unauthenticated(self.message)


class IsStorefront(BasePermission):
    """A storefront (with a valid publishable key when keys are configured) or an admin."""

    message = "A valid x-publishable-api-key header is required."

    def has_permission(self, source: Any, info: strawberry.Info[Context], **kwargs: Any) -> bool:
        if info.context.caller.may_use_storefront:
            return True
        raise Unauthenticated(self.message)


class QikinkProxy(IsStorefront):
    """The Qikink proxy, which acts on the merchant's Qikink account: admins; storefronts too
    where the service opens it (`STOREFRONT_QIKINK_PROXY=true`), as any storefront field."""

    # While the proxy is closed; once opened, a storefront hears IsStorefront's message.
    closed_message = (
        "This field acts on the merchant's Qikink account: send admin credentials "
        "('Authorization: Bearer <token or API key>'). Storefronts may use it only where the "
        "service sets STOREFRONT_QIKINK_PROXY=true."
    )

    def has_permission(self, source: Any, info: strawberry.Info[Context], **kwargs: Any) -> bool:
        caller = info.context.caller
        if caller.is_admin:
            return True
        if not info.context.settings.storefront_qikink_proxy:
            raise caller.auth_error or Unauthenticated(self.closed_message)
        return super().has_permission(source, info, **kwargs)
