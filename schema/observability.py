"""Every GraphQL operation's outcome: coded errors, one structured log line, the metrics."""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING

from graphql import FieldNode, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from schema.errors import present_errors
from services.metrics import GRAPHQL_DURATION, GRAPHQL_REQUESTS

if TYPE_CHECKING:
    from collections.abc import Iterator

    from graphql import DocumentNode, GraphQLError

__all__ = ["OperationOutcome"]

logger = logging.getLogger("qikink_graphql.requests")


def _label(document: DocumentNode | None, errors: list[GraphQLError] | None) -> str:
    """What the metrics are labelled by: the root fields, which the schema bounds (not the
    operation name, which the client chooses); "invalid" when nothing executed."""
    if document is None or any(error.path is None for error in errors or ()):
        return "invalid"
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            names = {
                s.name.value if isinstance(s, FieldNode) else "fragment"
                for s in definition.selection_set.selections
            }
            return f"{definition.operation.value}:{','.join(sorted(names))}"[:200]
    return "invalid"


class OperationOutcome(SchemaExtension):
    """Codes and masks the operation's errors, then counts and logs it: operation, caller
    kind, duration and outcome, never arguments, tokens or keys."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        duration = time.perf_counter() - started
        ctx = self.execution_context
        context = ctx.context
        request_id = getattr(context, "request_id", "-")
        result = ctx.result
        errors = None
        if result is not None and result.errors:
            errors = result.errors = present_errors(result.errors, request_id)
        label = _label(ctx.graphql_document, errors)
        codes = sorted(
            {(error.extensions or {}).get("code", "GRAPHQL_ERROR") for error in errors or ()}
        )
        outcome = codes[0] if codes else "ok"
        GRAPHQL_REQUESTS.labels(operation=label, outcome=outcome).inc()
        GRAPHQL_DURATION.labels(operation=label).observe(duration)
        if not logger.isEnabledFor(logging.INFO):
            return
        logger.info(
            json.dumps(
                {
                    "event": "graphql",
                    "request_id": request_id,
                    "operation": (ctx.operation_name or "")[:100] or None,
                    "fields": label,
                    "caller": getattr(getattr(context, "caller", None), "kind", None),
                    "duration_ms": round(duration * 1000, 2),
                    "outcome": outcome,
                    "errors": codes,
                }
            )
        )
