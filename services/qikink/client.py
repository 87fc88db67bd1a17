"""The one way this service talks to Qikink: an httpx client that knows Qikink's habits.

Qikink wants a form-encoded token request, `ClientId`/`Accesstoken` headers, and often reports
failures inside HTTP 200 (or as HTML, or as nothing at all). Every call here takes a slot of the
shared rate budget first, uses the shared token, mints once and repeats once on a 401, and turns
every failure into one of the typed errors of `services.shared.errors`. The client secret is sent in
the token request body and nowhere else: never logged, never put in an error.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

import httpx

from services.qikink.budget import WINDOW_SECONDS, RateBudget, budget_key
from services.qikink.lanes import Lane, rate_limit_message
from services.qikink.token import TokenGrant, TokenStore, token_key
from services.shared.clock import SYSTEM, Clock
from services.shared.errors import QikinkRateLimited, QikinkRejected, QikinkUnavailable
from services.shared.metrics import QIKINK_CALLS

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from services.qikink.token import Token

__all__ = ["QikinkClient", "build_http_client", "decode_reply"]

# Qikink's documented allowance, quoted when our own budget is switched off.
QIKINK_REQUESTS_PER_MINUTE = 30
_RATE_LIMIT_TEXT = re.compile(r"rate.?limit|too many|limit exceeded|throttl", re.IGNORECASE)


def build_http_client(timeout_seconds: float, **kwargs: Any) -> httpx.AsyncClient:
    """The process's one AsyncClient for Qikink, with explicit timeouts."""
    timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 10.0))
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    return httpx.AsyncClient(timeout=timeout, limits=limits, **kwargs)


def _failure_message(body: Any) -> str | None:
    """Qikink's error text when `body` reports a failure, whatever the HTTP status said."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    message = body.get("message")
    text = message if isinstance(message, str) and message.strip() else None
    if error:
        return text or (error if isinstance(error, str) else "Qikink reported an error.")
    if body.get("success") is False:
        return text or "Qikink reported a failure."
    try:
        status_code = int(body.get("status_code", 0))
    except (TypeError, ValueError):
        status_code = 0
    if status_code >= 400:
        return text or f"Qikink reported status {status_code}."
    return None


def decode_reply(response: httpx.Response) -> Any:
    """The JSON body of a successful reply; a typed error for every kind of failure."""
    status = response.status_code
    if status == 429:
        raise QikinkRateLimited("Qikink refused the call: too many requests.")
    if not response.content.strip():
        raise QikinkUnavailable(
            f"Qikink sent an empty reply (HTTP {status}).", outcome_unknown=True
        )
    try:
        body = response.json()
    except ValueError:
        head = response.text[:512].lstrip().lower()
        what = "an HTML page" if head.startswith("<") or "<html" in head else "a reply not in JSON"
        raise QikinkUnavailable(
            f"Qikink answered with {what} (HTTP {status}).", outcome_unknown=True
        ) from None
    failure = _failure_message(body)
    if failure is not None:
        if _RATE_LIMIT_TEXT.search(failure):
            raise QikinkRateLimited(f"Qikink refused the call: {failure}")
        if status >= 500:
            raise QikinkUnavailable(f"Qikink failed (HTTP {status}): {failure}")
        raise QikinkRejected(failure)
    if status >= 500:
        raise QikinkUnavailable(f"Qikink failed (HTTP {status}).", outcome_unknown=True)
    if status >= 400:
        raise QikinkRejected(f"Qikink refused the request (HTTP {status}).")
    return body


def _orders_of(body: Any) -> list[dict[str, Any]]:
    """Qikink gives orders as an array, a bare object or {"orders": [...]}: accept each."""
    if isinstance(body, list):
        return [item for item in body if isinstance(item, dict)]
    if isinstance(body, dict):
        for key in ("orders", "data"):
            if isinstance(body.get(key), list):
                return [item for item in body[key] if isinstance(item, dict)]
        if "order_id" in body:
            return [body]
        return []
    raise QikinkUnavailable("Qikink answered with an unreadable order list.")


class QikinkClient:
    """Qikink's API for one account, sharing token and budget with every other process."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_url: str,
        client_id: str,
        client_secret: str,
        rate_limit_per_minute: int,
        postgres: bool,
        rate_reserve: int = 0,
        storefront_per_minute: int | None = None,
        lane: Lane = Lane.INTERACTIVE,
        clock: Clock = SYSTEM,
        rate_window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        self.http = http
        self.api_url = api_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        # The service's clock: the budget, the token and whoever works with this client.
        self.clock = clock
        self.budget = RateBudget(
            budget_key(client_id),
            rate_limit_per_minute,
            postgres=postgres,
            reserve=rate_reserve,
            storefront_per_minute=storefront_per_minute,
            clock=clock,
            window_seconds=rate_window_seconds,
        )
        self.tokens = TokenStore(token_key(self.api_url, client_id), self._mint_token, clock=clock)
        # (endpoint, outcome) -> count, for benchmarks; /metrics has them by lane too.
        self.calls: Counter[tuple[str, str]] = Counter()
        # What this client's calls are for (see `in_lane`).
        self.lane = lane

    def in_lane(self, lane: Lane) -> QikinkClient:
        """This client, with the same connection, token, budget and counts, calling in `lane`.

        A token it has to mint is the account's, for every caller, and is made in the token
        lane: nothing a caller sends makes one more likely (a mint happens when the token is
        old or Qikink refused it).
        """
        view = copy.copy(self)
        view.lane = lane
        return view

    def _count(self, lane: Lane, endpoint: str, outcome: str) -> None:
        self.calls[endpoint, outcome] += 1
        QIKINK_CALLS.labels(lane=lane, endpoint=endpoint, outcome=outcome).inc()

    def __repr__(self) -> str:
        return f"QikinkClient(api_url={self.api_url!r}, client_id={self.client_id!r})"

    async def _send(
        self,
        endpoint: str,
        request: httpx.Request,
        *,
        wait: bool,
        on_wait: Callable[[], Awaitable[None]] | None = None,
        lane: Lane | None = None,
    ) -> Any:
        """One HTTP exchange within the budget; returns the decoded reply or raises."""
        lane = lane or self.lane
        await self.budget.acquire(wait=wait, on_wait=on_wait, lane=lane)
        try:
            response = await self.http.send(request)
        except httpx.TimeoutException as exc:
            self._count(lane, endpoint, "timeout")
            # A connect or pool timeout means nothing left this process.
            unknown = not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
            raise QikinkUnavailable(
                "Qikink did not answer in time.", outcome_unknown=unknown
            ) from None
        except httpx.TransportError as exc:
            self._count(lane, endpoint, "network")
            unknown = not isinstance(exc, httpx.ConnectError)
            raise QikinkUnavailable(
                "Could not reach Qikink (network error).", outcome_unknown=unknown
            ) from None
        if response.status_code == 401:
            self._count(lane, endpoint, "unauthorized")
            raise _Unauthorized
        try:
            body = decode_reply(response)
        except QikinkRateLimited as exc:
            self._count(lane, endpoint, "rate_limited")
            await self.budget.saturate()
            # Callers hear the same refusal whether our budget or Qikink's said no.
            seconds = self.budget.saturated_wait_seconds
            raise QikinkRateLimited(
                rate_limit_message(self.budget.per_minute or QIKINK_REQUESTS_PER_MINUTE, seconds),
                qikink_message=exc.message,
                retry_after=seconds,
            ) from None
        except (QikinkRejected, QikinkUnavailable) as exc:
            self._count(lane, endpoint, type(exc).__name__)
            raise
        self._count(lane, endpoint, "ok")
        return body

    async def _mint_token(
        self, wait: bool, on_wait: Callable[[], Awaitable[None]] | None = None
    ) -> TokenGrant:
        request = self.http.build_request(
            "POST",
            f"{self.api_url}/api/token",
            data={"ClientId": self.client_id, "client_secret": self._client_secret},
        )
        try:
            body = await self._send("token", request, wait=wait, on_wait=on_wait, lane=Lane.TOKEN)
        except _Unauthorized:
            raise QikinkRejected(
                "Qikink refused the client id and secret: check QIKINK_CLIENT_ID and "
                "QIKINK_CLIENT_SECRET (sandbox and live secrets differ)."
            ) from None
        if not isinstance(body, dict):
            raise QikinkUnavailable("Qikink's token reply was not an object.")
        access = body.get("Accesstoken") or body.get("AccessToken") or body.get("access_token")
        if not isinstance(access, str) or not access:
            raise QikinkUnavailable("Qikink's token reply had no access token.")
        try:
            expires_in = int(body["expires_in"]) if body.get("expires_in") is not None else None
        except (TypeError, ValueError):
            expires_in = None
        return TokenGrant(access, expires_in)

    async def token(self, *, wait: bool = False) -> Token:
        """The shared token (minted only when there is none good for 30 more seconds)."""
        return await self.tokens.get(wait=wait)

    async def _authorized(
        self, endpoint: str, method: str, path: str, *, wait: bool, **kwargs: Any
    ) -> Any:
        token = await self.tokens.get(wait=wait)
        for attempt in range(2):
            request = self.http.build_request(
                method,
                f"{self.api_url}{path}",
                headers={"ClientId": self.client_id, "Accesstoken": token.access_token},
                **kwargs,
            )
            try:
                return await self._send(endpoint, request, wait=wait)
            except _Unauthorized:
                if attempt:
                    break
                token = await self.tokens.replace(token, wait=wait)
        raise QikinkUnavailable("Qikink refused a freshly minted token; try again later.")

    async def create_order(self, payload: dict[str, Any], *, wait: bool = False) -> str:
        """Create an order; returns Qikink's order id."""
        body = await self._authorized(
            "create", "POST", "/api/order/create", json=payload, wait=wait
        )
        order_id = body.get("order_id") if isinstance(body, dict) else None
        if order_id in (None, ""):
            # Accepted or not, we cannot tell: the caller must look the order up by number.
            raise QikinkUnavailable("Qikink's reply had no order id.", outcome_unknown=True)
        return str(order_id)

    async def get_order(
        self,
        order_id: str,
        *,
        from_date: str | None = None,
        to_date: str | None = None,
        wait: bool = False,
    ) -> dict[str, Any] | None:
        params = {"id": order_id}
        if from_date:
            params["from_date"] = from_date
        if to_date:
            params["to_date"] = to_date
        body = await self._authorized("get", "GET", "/api/order", params=params, wait=wait)
        orders = _orders_of(body)
        return orders[0] if orders else None

    async def list_orders(self, page: int = 1, *, wait: bool = False) -> list[dict[str, Any]]:
        """One page of orders, newest first (Qikink gives 10 a page)."""
        body = await self._authorized(
            "list", "GET", "/api/order", params={"page_no": page}, wait=wait
        )
        return _orders_of(body)


class _Unauthorized(Exception):
    """HTTP 401: the token was refused (or, for the token call, the credentials)."""
