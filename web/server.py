"""How `serve` runs uvicorn: a request head of bounded size and time, connections that do not
outlive their requests, and an access log without the query string (a GraphQL GET carries the
whole operation and its variables there)."""

from __future__ import annotations

import logging
from typing import Any

from web.compat import (
    HEAD_TIMEOUT_SECONDS,
    MAX_HEADER_BYTES,
    MAX_URL_BYTES,
    BoundedHeadProtocol,
    uvicorn_logging_config,
)

# A kept-alive connection waiting for its next request (uvicorn's timeout_keep_alive): a
# browser polling every few seconds keeps it, an idle one gives its socket back.
IDLE_TIMEOUT_SECONDS = 5

__all__ = [
    "HEAD_TIMEOUT_SECONDS",
    "IDLE_TIMEOUT_SECONDS",
    "MAX_HEADER_BYTES",
    "MAX_URL_BYTES",
    "AccessLogWithoutQuery",
    "BoundedHeadProtocol",
    "log_config",
]


class AccessLogWithoutQuery(logging.Filter):
    """Drops the query string from uvicorn's access log line: a GraphQL GET's query string is
    the operation and its variables (order ids, a customer's details), no log's business."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            client, method, path, version, status = args
            if isinstance(path, str):
                record.args = (client, method, path.split("?", 1)[0], version, status)
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's own logging setup, its access log passed through AccessLogWithoutQuery."""
    config = uvicorn_logging_config()
    config.setdefault("filters", {})["without_query"] = {"()": AccessLogWithoutQuery}
    config["loggers"]["uvicorn.access"]["filters"] = ["without_query"]
    return config
