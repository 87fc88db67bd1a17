"""One structured log line and the metrics for every GraphQL operation."""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING

from graphql import FieldNode, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from services.metrics import GRAPHQL_DURATION, GRAPHQL_REQUESTS

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["RequestLog"]

logger = logging.getLogger("qikink_graphql.requests")


class RequestLog(SchemaExtension):
    """Logs operation, caller kind, duration and outcome; never arguments, tokens or keys."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        duration = time.perf_counter() - started
        ctx = self.execution_context
        # Metrics are labelled by what the schema bounds (the root fields), not by the
        # operation name a client chose.
        errors = ctx.result.errors if ctx.result is not None else None
        label = "invalid"
        document = ctx.graphql_document
        request_error = any(error.path is None for error in errors or [])
        if document is not None and not request_error:
            for definition in document.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    names = {
                        s.name.value if isinstance(s, FieldNode) else "fragment"
                        for s in definition.selection_set.selections
                    }
                    label = f"{definition.operation.value}:{','.join(sorted(names))}"[:200]
                    break
        codes = sorted(
            {(error.extensions or {}).get("code", "GRAPHQL_ERROR") for error in errors or []}
        )
        outcome = "ok" if not codes else codes[0]
        GRAPHQL_REQUESTS.labels(operation=label, outcome=outcome).inc()
        GRAPHQL_DURATION.labels(operation=label).observe(duration)
        if not logger.isEnabledFor(logging.INFO):
            return
        context = ctx.context
        logger.info(
            json.dumps(
                {
                    "event": "graphql",
                    "request_id": getattr(context, "request_id", "-"),
                    "operation": (ctx.operation_name or "")[:100] or None,
                    "fields": label,
                    "caller": getattr(getattr(context, "caller", None), "kind", None),
                    "duration_ms": round(duration * 1000, 2),
                    "outcome": outcome,
                    "errors": codes,
                }
            )
        )
