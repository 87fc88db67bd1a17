"""Every GraphQL operation's outcome: coded errors, one structured log line, the metrics."""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from graphql import FieldNode
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from schema.errors import present_errors
from services.shared.errors import ErrorCode
from services.shared.metrics import GRAPHQL_DURATION, GRAPHQL_REQUESTS

if TYPE_CHECKING:
    from collections.abc import Iterator

    from graphql import DocumentNode, ExecutionResult, GraphQLError

__all__ = ["Outcome", "record_outcome"]

logger = logging.getLogger("qikink_graphql.requests")
# The series each (label, outcome) counts in: `labels()` checks its arguments and takes a lock
# on every call, the larger part of this module's cost per request. As many entries as the
# metrics have series: root-field sets (which the schema bounds) x outcomes.
_series: dict[tuple[str, str], tuple[Any, Any]] = {}


def _label(
    document: DocumentNode | None, operation_name: str | None, errors: list[GraphQLError] | None
) -> str:
    """What the metrics are labelled by: the root fields of the operation that ran, which the
    schema bounds (not the operation name, which the client chooses); "invalid" when nothing
    executed."""
    if document is None or any(error.path is None for error in errors or ()):
        return "invalid"
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return "invalid"
    names = {
        s.name.value if isinstance(s, FieldNode) else "fragment"
        for s in operation.selection_set.selections
    }
    return f"{operation.operation.value}:{','.join(sorted(names))}"[:200]


def _metrics(label: str, outcome: str) -> tuple[Any, Any]:
    """The request counter's and the duration histogram's series for a label and outcome."""
    series = _series.get((label, outcome))
    if series is None:
        series = _series[(label, outcome)] = (
            GRAPHQL_REQUESTS.labels(operation=label, outcome=outcome),
            GRAPHQL_DURATION.labels(operation=label),
        )
    return series


def record_outcome(
    result: ExecutionResult,
    *,
    document: DocumentNode | None,
    context: Any,
    operation_name: str | None,
    duration: float,
    executed: bool,
    variables: dict[str, Any] | None = None,
) -> ExecutionResult:
    """Code and mask the operation's errors, then count and log it: operation, caller kind,
    duration and outcome, never arguments, tokens or keys. Returns `result`, recoded.

    `document` is None when the operation never parsed; `context` is the request's;
    `executed`: it passed validation (so a variable's error is the caller's input)."""
    request_id = getattr(context, "request_id", "-")
    errors = None
    if result.errors:
        errors = result.errors = present_errors(
            result.errors, request_id, executed=executed, variables=variables
        )
    # Whoever is refused chooses the root fields they name: one label for all of them.
    refused = getattr(context, "refused", False)
    label = "refused" if refused else _label(document, operation_name, errors)
    codes = sorted(
        {(error.extensions or {}).get("code", ErrorCode.GRAPHQL_ERROR) for error in errors or ()}
    )
    outcome = codes[0] if codes else "ok"
    requests, durations = _metrics(label, outcome)
    requests.inc()
    durations.observe(duration)
    if logger.isEnabledFor(logging.INFO):
        logger.info(
            json.dumps(
                {
                    "event": "graphql",
                    "request_id": request_id,
                    "operation": (operation_name or "")[:100] or None,
                    "fields": label,
                    "caller": getattr(getattr(context, "caller", None), "kind", None),
                    "duration_ms": round(duration * 1000, 2),
                    "outcome": outcome,
                    "errors": codes,
                }
            )
        )
    return result


class Outcome(SchemaExtension):
    """Every operation's outcome, once it has run: `record_outcome` on its result."""

    executed = False

    def on_execute(self) -> Iterator[None]:
        self.executed = True
        yield

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        result = context.result
        if result is None or not hasattr(result, "errors"):
            return  # incremental delivery, which this schema does not enable
        record_outcome(
            result,  # type: ignore[arg-type]  # an ExecutionResult: the incremental kind left above
            document=context.graphql_document,
            context=context.context,
            operation_name=context.operation_name,
            duration=time.perf_counter() - started,
            executed=self.executed,
            variables=context.variables,
        )
