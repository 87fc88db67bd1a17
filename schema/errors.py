"""The one place domain errors become GraphQL errors, and everything else is masked."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from services.errors import ServiceError

if TYPE_CHECKING:
    from schema.context import Context

__all__ = ["INTERNAL_ERROR_MESSAGE", "ErrorCodes"]

logger = logging.getLogger("qikink_graphql.errors")
INTERNAL_ERROR_MESSAGE = "Internal server error."


class ErrorCodes(MaskErrors):
    """Give every expected error its `extensions.code`; mask and log the unexpected."""

    def __init__(self) -> None:
        super().__init__(error_message=INTERNAL_ERROR_MESSAGE)

    def _request_id(self) -> str:
        context: Context | None = self.execution_context.context
        return getattr(context, "request_id", "-")

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._process_error(error) for error in errors]

    def _process_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None:
            # Parse and validation errors: the caller's own document, safe to show as is.
            return error
        if isinstance(original, GraphQLError):
            return original
        if isinstance(original, ServiceError):
            return GraphQLError(
                original.message,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                extensions={"code": original.code, **original.extensions},
            )
        request_id = self._request_id()
        logger.error(
            "unexpected error in %s (request %s)",
            ".".join(str(part) for part in error.path or ()),
            request_id,
            exc_info=original,
        )
        masked = self.anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
        return masked
