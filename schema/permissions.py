"""Who may call what; each class raises the domain error that names what is missing.

Each permission is a check of the request's `Context` alone (`check`), so the same classes
serve twice: on each field as Strawberry runs it, and on the root fields of an operation before
its variables are read (`schema.gate`), so a refused caller's input costs nothing to coerce.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any

from strawberry.permission import BasePermission

from services.shared.errors import Unauthenticated

if TYPE_CHECKING:
    import strawberry

    from schema.context import Context

__all__ = ["IsAdmin", "IsStorefront", "Permission", "QikinkProxy"]


class Permission(BasePermission):
    """A permission decided by the request's context alone: `check` raises the refusal."""

    @abstractmethod
    def check(self, context: Context) -> None:
        """Return when the caller may; raise the domain error that says why not."""

    def has_permission(self, source: Any, info: strawberry.Info[Context], **kwargs: Any) -> bool:
        self.check(info.context)
        return True


class IsAdmin(Permission):
    """An admin: a Medusa admin user's JWT or an API key from `create-api-key`."""

    message = "Admin credentials are required: send 'Authorization: Bearer <token or API key>'."

    def check(self, context: Context) -> None:
        caller = context.caller
        if not caller.is_admin:
            raise caller.auth_error or Unauthenticated(self.message)


class IsStorefront(Permission):
    """A storefront (with a valid publishable key when keys are configured) or an admin."""

    message = "A valid x-publishable-api-key header is required."

    def check(self, context: Context) -> None:
        if not context.caller.may_use_storefront:
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

    def check(self, context: Context) -> None:
        caller = context.caller
        if caller.is_admin:
            return
        if not context.settings.storefront_qikink_proxy:
            raise caller.auth_error or Unauthenticated(self.closed_message)
        super().check(context)
