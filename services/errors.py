"""The domain errors every service raises; `schema` maps each `code` to a GraphQL error.

ServiceError
├── Unauthenticated        UNAUTHENTICATED    no or bad credentials
├── Forbidden              FORBIDDEN          valid credentials of the wrong kind
├── NotFound               NOT_FOUND
├── Conflict               CONFLICT           a unique value is taken
├── InvalidInput           BAD_USER_INPUT     rejected before anything changed
├── RateLimited            RATE_LIMITED       the shared Qikink budget is spent
└── QikinkError
    ├── QikinkUnavailable  QIKINK_UNAVAILABLE network, timeout, 5xx, unreadable reply
    └── QikinkRejected     QIKINK_REJECTED    Qikink refused, with its message
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "MedusaError",
    "MedusaRejected",
    "MedusaUnavailable",
    "NotFound",
    "QikinkError",
    "QikinkRateLimited",
    "QikinkRejected",
    "QikinkUnavailable",
    "RateLimited",
    "ServiceError",
    "Unauthenticated",
]


class ServiceError(Exception):
    """An expected failure whose message is safe to show the caller."""

    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class Unauthenticated(ServiceError):
    code = "UNAUTHENTICATED"


class Forbidden(ServiceError):
    code = "FORBIDDEN"


class NotFound(ServiceError):
    code = "NOT_FOUND"


class Conflict(ServiceError):
    code = "CONFLICT"


class InvalidInput(ServiceError):
    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, field: str | None = None, **extensions: Any) -> None:
        if field is not None:
            extensions["field"] = field
        super().__init__(message, **extensions)


class RateLimited(ServiceError):
    code = "RATE_LIMITED"


class QikinkRateLimited(RateLimited):
    """Qikink refused a call for its own rate limit (an error body in HTTP 200, or a 429)."""


class QikinkError(ServiceError):
    code = "QIKINK_UNAVAILABLE"


class QikinkUnavailable(QikinkError):
    code = "QIKINK_UNAVAILABLE"

    def __init__(self, message: str, *, outcome_unknown: bool = False, **extensions: Any) -> None:
        super().__init__(message, **extensions)
        # True when the request may have reached Qikink and been acted on.
        self.outcome_unknown = outcome_unknown


class QikinkRejected(QikinkError):
    code = "QIKINK_REJECTED"


class MedusaError(ServiceError):
    code = "MEDUSA_UNAVAILABLE"


class MedusaUnavailable(MedusaError):
    code = "MEDUSA_UNAVAILABLE"


class MedusaRejected(MedusaError):
    code = "MEDUSA_REJECTED"
