"""The rate budget's lanes (what a Qikink call is for, who gets a freed slot first) and how a
refusal tells its wait; the window that enforces them is `services.qikink.budget`."""

from __future__ import annotations

import math
from enum import StrEnum

__all__ = ["LOWEST_PRIORITY", "Lane", "rate_limit_message", "whole_seconds"]


class Lane(StrEnum):
    """What a Qikink call is for."""

    # The account's access token, which every other call needs.
    TOKEN = "token"
    # A paid order: the create, and the lookups that adopt one.
    SUBMIT = "submit"
    # An admin's GraphQL call that needs Qikink now (the proxy fields).
    INTERACTIVE = "interactive"
    # The same for storefronts, within their share of the budget.
    STOREFRONT = "storefront"
    # Status sync: the periodic one, `qikink-graphql sync` and the refresh mutation.
    SYNC = "sync"

    @property
    def priority(self) -> int:
        """Who gets a freed slot first when several wait: lower goes first."""
        return _PRIORITY[self]


_PRIORITY = {
    Lane.TOKEN: 0,
    Lane.SUBMIT: 0,
    Lane.INTERACTIVE: 1,
    Lane.STOREFRONT: 1,
    Lane.SYNC: 2,
}
# Nothing yields to the last lane, so its waiters need no row.
LOWEST_PRIORITY = max(_PRIORITY.values())


def whole_seconds(retry_after: float) -> int:
    """A wait as the caller is told it (message, `retryAfter`, `Retry-After`): whole seconds,
    rounded up, so that trying again after it never comes too early."""
    return max(1, math.ceil(retry_after))


def rate_limit_message(per_minute: int, retry_after: int) -> str:
    """The refusal the plugin's callers know, saying the real wait (`whole_seconds`)."""
    return (
        f"Rate limit exceeded. Try again later. You can access api {per_minute} times per "
        f"minute. Please try again after {retry_after} seconds."
    )
