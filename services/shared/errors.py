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

An error about one value names it with `field`: a path of this code's own names (attributes,
list indexes) relative to what the service was given, e.g. `("shipping_address", "phone")` or
`("items", 0, "quantity")`, and its message says it in a merchant's words. How a path is
spelled to a caller (and under which argument) is the caller's layer's business.
"""

from __future__ import annotations

from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "Conflict",
    "ErrorCode",
    "FieldPath",
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
    "within",
]


class ErrorCode(StrEnum):
    """Every `extensions.code` a caller may read, the one list of them: clients branch on
    these words, so each is written here alone."""

    # A service's domain errors (the tree above).
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    RATE_LIMITED = "RATE_LIMITED"
    QIKINK_UNAVAILABLE = "QIKINK_UNAVAILABLE"
    QIKINK_REJECTED = "QIKINK_REJECTED"
    MEDUSA_UNAVAILABLE = "MEDUSA_UNAVAILABLE"
    MEDUSA_REJECTED = "MEDUSA_REJECTED"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    # The caller's document or variables, before any field ran.
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    # An error nobody coded (counted under this in the metrics and the log).
    GRAPHQL_ERROR = "GRAPHQL_ERROR"
    # HTTP refusals before any operation ran.
    BAD_REQUEST = "BAD_REQUEST"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    BATCHING_NOT_SUPPORTED = "BATCHING_NOT_SUPPORTED"


FieldPath = tuple[str | int, ...]


class ServiceError(Exception):
    """An expected failure whose message is safe to show the caller."""

    code: ClassVar[ErrorCode] = ErrorCode.INTERNAL_SERVER_ERROR

    def __init__(
        self, message: str, *, field: str | FieldPath | None = None, **extensions: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        # One name is a path of one; `()` is the whole of what the service was given.
        self.field: FieldPath | None = (field,) if isinstance(field, str) else field
        self.extensions = extensions


@contextmanager
def within(*prefix: str | int) -> Iterator[None]:
    """Errors raised inside name their field under `prefix`: the part being checked is
    `prefix` of a larger whole (the second line item: `within("line_items", 1)`)."""
    try:
        yield
    except ServiceError as error:
        if error.field is not None:
            error.field = (*prefix, *error.field)
        raise


class Unauthenticated(ServiceError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(ServiceError):
    code = ErrorCode.FORBIDDEN


class NotFound(ServiceError):
    code = ErrorCode.NOT_FOUND


class Conflict(ServiceError):
    code = ErrorCode.CONFLICT


class InvalidInput(ServiceError):
    code = ErrorCode.BAD_USER_INPUT


class RateLimited(ServiceError):
    code = ErrorCode.RATE_LIMITED


class QikinkRateLimited(RateLimited):
    """Qikink refused a call for its own rate limit (an error body in HTTP 200, or a 429)."""


class QikinkError(ServiceError):
    code = ErrorCode.QIKINK_UNAVAILABLE


class QikinkUnavailable(QikinkError):
    code = ErrorCode.QIKINK_UNAVAILABLE

    def __init__(self, message: str, *, outcome_unknown: bool = False, **extensions: Any) -> None:
        super().__init__(message, **extensions)
        # True when the request may have reached Qikink and been acted on.
        self.outcome_unknown = outcome_unknown


class QikinkRejected(QikinkError):
    code = ErrorCode.QIKINK_REJECTED


class MedusaError(ServiceError):
    code = ErrorCode.MEDUSA_UNAVAILABLE


class MedusaUnavailable(MedusaError):
    code = ErrorCode.MEDUSA_UNAVAILABLE


class MedusaRejected(MedusaError):
    code = ErrorCode.MEDUSA_REJECTED
