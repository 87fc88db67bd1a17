"""Prometheus metrics of this process (each worker process serves its own at /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from tortoise.functions import Count

from models import OrderMapping

__all__ = [
    "ADOPTION_MISMATCHES",
    "GRAPHQL_DURATION",
    "GRAPHQL_REQUESTS",
    "MAPPINGS",
    "QIKINK_CALLS",
    "RATE_LIMIT_REFUSALS",
    "RATE_LIMIT_WAITS",
    "REGISTRY",
    "render",
]

REGISTRY = CollectorRegistry()
GRAPHQL_REQUESTS = Counter(
    "qikink_graphql_requests",
    "GraphQL operations by name and outcome (ok, or the first error code).",
    ["operation", "outcome"],
    registry=REGISTRY,
)
GRAPHQL_DURATION = Histogram(
    "qikink_graphql_request_duration_seconds",
    "Time to execute a GraphQL operation.",
    ["operation"],
    registry=REGISTRY,
)
QIKINK_CALLS = Counter(
    "qikink_calls",
    "Calls to Qikink by lane (what for: token, submit, interactive, storefront, sync), "
    "endpoint (token, create, get, list) and outcome.",
    ["lane", "endpoint", "outcome"],
    registry=REGISTRY,
)
RATE_LIMIT_WAITS = Counter(
    "qikink_rate_limit_waits",
    "Times a caller waited for a slot of the shared Qikink budget, by lane.",
    ["lane"],
    registry=REGISTRY,
)
RATE_LIMIT_REFUSALS = Counter(
    "qikink_rate_limit_refusals",
    "Calls refused RATE_LIMITED because the shared Qikink budget (or the lane's share) was "
    "spent, by lane.",
    ["lane"],
    registry=REGISTRY,
)
ADOPTION_MISMATCHES = Counter(
    "qikink_adoption_mismatches",
    "Orders found in Qikink under a mapping's order number that were not the mapping's order "
    "(someone else's order took the number), so not adopted; by what led to the lookup "
    "(duplicate: Qikink said Duplicate Order; unknown: a create's outcome was unknown).",
    ["after"],
    registry=REGISTRY,
)
MAPPINGS = Gauge(
    "qikink_order_mappings",
    "Order mappings by submission state and status (read from the database when scraped).",
    ["submit_state", "status"],
    registry=REGISTRY,
)


async def render() -> bytes:
    """The text exposition, with the mapping counts read fresh from the database."""
    rows = (
        await OrderMapping.annotate(count=Count("id"))
        .group_by("submit_state", "status")
        .values_list("submit_state", "status", "count")
    )
    MAPPINGS.clear()
    for state, status, count in rows:
        MAPPINGS.labels(
            submit_state=getattr(state, "value", state), status=getattr(status, "value", status)
        ).set(count)
    return generate_latest(REGISTRY)
