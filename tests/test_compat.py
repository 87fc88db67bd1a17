"""Canaries of the framework internals web/compat.py relies on: each fails naming the internal
an upgrade moved, before the behaviour resting on it breaks in production."""

from __future__ import annotations

import importlib
import inspect

import pytest

UVICORN_PROTOCOL = "uvicorn.protocols.http.httptools_impl"


def _internal(module: str, name: str) -> object:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        pytest.fail(f"{module} no longer has {name!r}")


@pytest.mark.parametrize(
    ("owner", "attributes"),
    [
        ("HttpToolsProtocol", ["cycle", "pipeline", "transport", "loop", "logger", "server_state"]),
        ("RequestResponseCycle", ["more_body", "response_complete"]),
    ],
)
def test_uvicorn_protocol_keeps_the_attributes_bounded_heads_read(
    owner: str, attributes: list[str]
) -> None:
    found = _internal(UVICORN_PROTOCOL, owner)
    assert isinstance(found, type), f"uvicorn {owner} is no longer a class"
    source = inspect.getsource(found)
    for attribute in attributes:
        assert f"self.{attribute} " in source or f"self.{attribute}:" in source, (
            f"uvicorn {owner} no longer has {attribute!r}"
        )


def test_uvicorn_protocol_keeps_the_methods_bounded_heads_override() -> None:
    protocol = _internal(UVICORN_PROTOCOL, "HttpToolsProtocol")
    for method in (
        "connection_made",
        "data_received",
        "on_url",
        "on_header",
        "on_headers_complete",
        "on_message_complete",
    ):
        assert callable(getattr(protocol, method, None)), (
            f"uvicorn HttpToolsProtocol no longer has {method!r}"
        )


def test_uvicorn_logging_config_keeps_its_access_logger() -> None:
    config = _internal("uvicorn.config", "LOGGING_CONFIG")
    assert isinstance(config, dict), "uvicorn LOGGING_CONFIG is no longer a dict"
    assert "uvicorn.access" in config.get("loggers", {}), (
        "uvicorn LOGGING_CONFIG no longer has the 'uvicorn.access' logger"
    )


def test_graphql_core_keeps_its_resolver_helpers() -> None:
    helpers = _internal("graphql.type.definition", "GraphQLResolveInfoHelpers")
    assert getattr(helpers, "_fields", None) == ("gather", "track"), (
        "graphql-core GraphQLResolveInfoHelpers is no longer the pair (gather, track)"
    )
    executor = _internal("graphql.execution.executor", "Executor")
    assert isinstance(executor, type), "graphql-core Executor is no longer a class"
    source = inspect.getsource(executor)
    for name in ("self.async_helpers =", "def gather_async_work", "def track_async_work"):
        assert name in source, f"graphql-core Executor no longer has {name!r}"


def test_strawberry_keeps_its_execution_context_class() -> None:
    from graphql import Executor

    strawberry_context = _internal(
        "strawberry.schema.schema", "StrawberryGraphQLCoreExecutionContext"
    )
    assert isinstance(strawberry_context, type), (
        "Strawberry StrawberryGraphQLCoreExecutionContext is no longer a class"
    )
    assert issubclass(strawberry_context, Executor), (
        "Strawberry StrawberryGraphQLCoreExecutionContext is no longer graphql-core's Executor"
    )
