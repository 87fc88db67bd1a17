"""The one place domain errors become GraphQL errors, and everything else is masked."""

from __future__ import annotations

import logging

from graphql.error import GraphQLError
from strawberry.utils.str_converters import to_camel_case

from services.errors import ServiceError

__all__ = ["INTERNAL_ERROR_MESSAGE", "present_errors"]

logger = logging.getLogger("qikink_graphql.errors")
INTERNAL_ERROR_MESSAGE = "Internal server error."


def present_errors(errors: list[GraphQLError], request_id: str) -> list[GraphQLError]:
    """Give every expected error its `extensions.code`; mask and log the unexpected."""
    return [_present(error, request_id) for error in errors]


def _present(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    if original is None:
        # Parse and validation errors: the caller's own document, safe to show as is.
        return error
    if isinstance(original, GraphQLError):
        return original
    if isinstance(original, ServiceError):
        # Services name their details in Python's words (`retry_after`); the API in its own.
        details = {to_camel_case(key): value for key, value in original.extensions.items()}
        return GraphQLError(
            original.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": original.code, **details},
        )
    logger.error(
        "unexpected error in %s (request %s)",
        ".".join(str(part) for part in error.path or ()),
        request_id,
        exc_info=original,
    )
    return GraphQLError(
        INTERNAL_ERROR_MESSAGE,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
    )
