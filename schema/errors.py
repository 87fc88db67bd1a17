"""The one place errors become what the caller sees: every error coded, the unexpected masked.

- the document does not parse: `GRAPHQL_PARSE_FAILED`;
- it fails validation (limits, unknown fields, no introspection): `GRAPHQL_VALIDATION_FAILED`;
- a variable's value does not fit its type: `BAD_USER_INPUT`, graphql-core's whole message;
- a domain error (`services.shared.errors`): its own code, and the value it is about as
  `extensions.field`, a dotted path rooted at the argument it came from
  (`order.shippingAddress.phone`, `order.items.1.quantity`, `input.lineItems.0.sku`, `limit`);
- anything else: `INTERNAL_SERVER_ERROR`, masked and logged.

Services name a value by their own names relative to what they were given
(`("items", 1, "quantity")`); a field whose argument is made into that (`order`, `input`) says
so with `services.shared.errors.within(<argument>)`, and `field_path` spells the whole in the API's
words.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

from graphql.error import GraphQLError, GraphQLSyntaxError
from graphql.pyutils import inspect

from schema.naming import camel_case
from services.shared.errors import ErrorCode, ServiceError

if TYPE_CHECKING:
    from services.shared.errors import FieldPath

__all__ = ["INTERNAL_ERROR_MESSAGE", "field_path", "present_errors"]

logger = logging.getLogger("qikink_graphql.errors")
INTERNAL_ERROR_MESSAGE = "Internal server error."
_VARIABLE = re.compile(r"^Variable '\$(\w+)'")


def present_errors(
    errors: list[GraphQLError],
    request_id: str,
    *,
    executed: bool,
    variables: dict[str, Any] | None = None,
) -> list[GraphQLError]:
    """Give every error its `extensions.code`; mask and log the unexpected.

    `executed`: the operation got past parsing and validation, so an error with no path is
    about its variables.
    """
    return [_present(error, request_id, executed, variables or {}) for error in errors]


def field_path(path: FieldPath) -> str:
    """A service's path as the caller spells it: `order.shippingAddress.phone`."""
    return ".".join(str(part) if isinstance(part, int) else camel_case(part) for part in path)


def _coded(
    error: GraphQLError,
    code: ErrorCode,
    message: str | None = None,
    *,
    kept: dict[str, Any] | None = None,
    **details: Any,
) -> GraphQLError:
    """`error` with its code and `details`; the extensions it had are `kept` unless given."""
    kept = error.extensions or {} if kept is None else kept
    return GraphQLError(
        error.message if message is None else message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**kept, "code": code, **details},
    )


def _present(
    error: GraphQLError, request_id: str, executed: bool, variables: dict[str, Any]
) -> GraphQLError:
    original = error.original_error
    if isinstance(original, ServiceError):
        # Services name their details in Python's words (`retry_after`); the API in its own.
        # graphql-core copied them onto the located error as they were: none is kept.
        details = {camel_case(key): value for key, value in original.extensions.items()}
        if original.field:
            details["field"] = field_path(original.field)
        return _coded(error, original.code, original.message, kept={}, **details)
    if error.path is None and (original is None or isinstance(original, GraphQLError)):
        # About the request itself, not one field: the caller's document or variables.
        if isinstance(error, GraphQLSyntaxError):
            return _coded(error, ErrorCode.GRAPHQL_PARSE_FAILED)
        if not executed:
            return _coded(error, ErrorCode.GRAPHQL_VALIDATION_FAILED)
        return _coded(error, ErrorCode.BAD_USER_INPUT, _as_json(error.message, variables))
    # Anything else at a field, graphql-core's own checks of a result included (a null for a
    # non-null field): the service's fault, not the caller's.
    logger.error(
        "unexpected error in %s (request %s)",
        ".".join(str(part) for part in error.path or ()),
        request_id,
        exc_info=original,
    )
    return _coded(
        error, ErrorCode.INTERNAL_SERVER_ERROR, INTERNAL_ERROR_MESSAGE, requestId=request_id
    )


def _as_json(message: str, variables: dict[str, Any]) -> str:
    """graphql-core quotes a variable's value as Python prints it (`{'not': 'an id'}`); the
    caller sent JSON, so that is how the message shows it."""
    named = _VARIABLE.match(message)
    if named is None or named.group(1) not in variables:
        return message
    for value in sorted(_parts(variables[named.group(1)]), key=lambda v: -len(inspect(v))):
        message = message.replace(inspect(value), json.dumps(value, ensure_ascii=False))
    return message


def _parts(value: Any) -> list[Any]:
    """`value` and what it holds, where Python's way of printing differs from JSON's."""
    if isinstance(value, dict):
        return [value, *(part for item in value.values() for part in _parts(item))]
    if isinstance(value, list):
        return [value, *(part for item in value for part in _parts(item))]
    if value is None or isinstance(value, bool):
        return [value]
    return []
