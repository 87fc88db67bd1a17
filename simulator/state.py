"""The simulator's state: one Qikink account, its token, its orders, its rate window, its faults.

Everything here is synchronous and guarded by one lock, because the HTTP side may run in a
uvicorn thread while a test drives the control methods from its own thread. What needs the
event loop (sleeping, breaking connections) lives in `app.py`.
"""

from __future__ import annotations

import contextlib
import copy
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from simulator.orders import (
    CreateRefused,
    ServerCrash,
    build_order,
    example_address,
    format_timestamp,
    money,
    order_suffix,
    validate_create,
)

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Iterable, Mapping
    from decimal import Decimal

__all__ = [
    "ENDPOINTS",
    "FAULT_KINDS",
    "RATE_LIMIT_MESSAGE",
    "Admission",
    "Call",
    "Fault",
    "QikinkSimulator",
    "Reply",
    "SimRequest",
]

ENDPOINTS: tuple[str, ...] = ("token", "create", "get", "list", "other")
FAULT_KINDS: tuple[str, ...] = (
    "timeout",
    "accept_then_timeout",
    "drop",
    "accept_then_drop",
    "accept_then_garbage",
    "html_502",
    "error_200",
    "rate_limit_200",
    "rate_limit_429",
    "stale_token",
    "non_json",
    "empty",
    "status_500",
)
# Faults that let the request through to the real handler before (or instead of) misbehaving.
PROCESSING_FAULTS: frozenset[str] = frozenset(
    {"accept_then_timeout", "accept_then_drop", "accept_then_garbage", "stale_token"}
)
# Injected refusals look like the real limiter's, so like it they do not use up the window.
_UNCOUNTED_FAULTS: frozenset[str] = frozenset({"rate_limit_200", "rate_limit_429"})

RATE_LIMIT_MESSAGE = "Too many requests. Rate limit exceeded."
BAD_CREDENTIALS = "Invalid client_id or client_secret"
BAD_TOKEN = "Invalid AccessToken or Client Id"
# What a client assumes when `expires_in` is missing; the fake's tokens die then too.
DEFAULT_TOKEN_LIFETIME = 3600
RATE_WINDOW_SECONDS = 60.0
PAGE_SIZE = 10
FIRST_ORDER_ID = 4518823
DEFAULT_COURIER = "Delhivery"
_LIST_PARAMETERS = ("id", "page_no", "from_date", "to_date")
# Orders that have not reached production yet carry no live_date.
_NOT_LIVE = frozenset({"On Hold", "Live OOS", "Action Required", "Cancelled"})

_NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
_PHP_ERROR_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Error</title></head>
<body>
<div style="border:1px solid #990000;padding-left:20px;margin:0 0 10px 0;">
<h4>A PHP Error was encountered</h4>
<p>Severity: Warning</p>
<p>Message:  {message}</p>
<p>Filename: controllers/Order.php</p>
<p>Line Number: 212</p>
</div>
<h1>An uncaught Exception was encountered</h1>
<p>Type: TypeError</p>
</body>
</html>
"""


def encode_json(value: object) -> bytes:
    # PHP's json_encode escapes "/" by default; a client must decode JSON, not pattern-match it.
    return json.dumps(value, separators=(",", ":")).replace("/", "\\/").encode()


@dataclass
class SimRequest:
    """One request the fake Qikink received, as the control API reports it."""

    at: float
    method: str
    path: str
    endpoint: str
    status: int = 0
    outcome: str = "pending"
    query: str = ""
    client_id: str = ""
    detail: str | None = None
    order_id: int | None = None
    counted: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Call:
    """An HTTP request reduced to what the fake needs; headers keyed in lower case."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def query_string(self) -> str:
        return "&".join(f"{name}={value}" for name, value in self.query)


@dataclass(frozen=True)
class Reply:
    """What the handler answers, with the outcome to record."""

    status: int
    body: bytes
    content_type: str = "application/json"
    outcome: str = "ok"
    detail: str | None = None
    order_id: int | None = None


@dataclass
class Fault:
    """An injected misbehaviour, armed for the next `times` requests to `endpoint`."""

    kind: str
    endpoint: str = "*"
    times: int = 1
    message: str | None = None
    delay: float = 30.0

    def matches(self, endpoint: str) -> bool:
        return self.endpoint in ("*", endpoint)


@dataclass(frozen=True)
class Admission:
    """The verdict on a request before it is handled: refused, faulted, or let through."""

    record: SimRequest
    refusal: Reply | None = None
    fault: Fault | None = None


def _json_reply(status: int, body: object, outcome: str, detail: str | None = None) -> Reply:
    return Reply(status, encode_json(body), outcome=outcome, detail=detail)


def _refusal(message: str, outcome: str = "rejected") -> Reply:
    return _json_reply(200, {"error": True, "message": message}, outcome, message)


def canned_reply(fault: Fault) -> Reply:
    """The body a fault that never reaches the handler answers with."""
    outcome = f"fault:{fault.kind}"
    if fault.kind == "html_502":
        return Reply(502, _NGINX_502, "text/html", outcome)
    if fault.kind == "error_200":
        message = fault.message or "Something went wrong"
        return _json_reply(200, {"error": True, "message": message}, outcome, message)
    if fault.kind == "rate_limit_200":
        message = fault.message or RATE_LIMIT_MESSAGE
        return _json_reply(200, {"error": True, "message": message}, outcome, message)
    if fault.kind == "rate_limit_429":
        message = fault.message or RATE_LIMIT_MESSAGE
        return _json_reply(429, {"error": True, "message": message}, outcome, message)
    if fault.kind == "non_json":
        text = fault.message or "Service temporarily unavailable. Please try again later."
        return Reply(200, text.encode(), "text/plain; charset=utf-8", outcome)
    if fault.kind == "empty":
        return Reply(200, b"", "application/json", outcome)
    if fault.kind == "status_500":
        message = fault.message or "Insufficient wallet balance"
        return _json_reply(500, {"error": True, "message": message}, outcome, message)
    raise ValueError(f"fault {fault.kind!r} has no canned reply")


def classify(method: str, path: str, query: Iterable[tuple[str, str]]) -> str:
    # PHP routers tolerate a trailing slash, so the fake does too.
    route = path.rstrip("/") or "/"
    if method == "POST" and route == "/api/token":
        return "token"
    if method == "POST" and route == "/api/order/create":
        return "create"
    if method == "GET" and route == "/api/order":
        return "get" if any(name == "id" for name, _ in query) else "list"
    return "other"


def _form_fields(call: Call) -> dict[str, str]:
    # Like PHP's $_POST: only a form-encoded body fills it; JSON leaves every field missing.
    content_type = call.headers.get("content-type", "")
    if not content_type.lower().startswith("application/x-www-form-urlencoded"):
        return {}
    try:
        text = call.body.decode()
    except UnicodeDecodeError:
        return {}
    fields: dict[str, str] = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        fields.setdefault(name, value)
    return fields


def _valid_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


class QikinkSimulator:
    """A faithful, controllable fake of one Qikink account."""

    def __init__(
        self,
        *,
        client_id: str = "123456789012345",
        client_secret: str = "sim-secret",
        account_number: str = "654367",
        rate_limit_per_minute: int = 30,
        token_expires_in: int | None = 3600,
        known_skus: set[str] | None = None,
        latency_seconds: float = 0.0,
        clock: Callable[[], float] = time.time,
        rate_window_seconds: float = RATE_WINDOW_SECONDS,
    ) -> None:
        if latency_seconds < 0:
            raise ValueError("latency cannot be negative")
        self.client_id = client_id
        self.client_secret = client_secret
        self.account_number = account_number
        self.rate_limit_per_minute = rate_limit_per_minute
        # Qikink's minute; a test may shorten it together with QIKINK_RATE_WINDOW_SECONDS.
        self.rate_window_seconds = rate_window_seconds
        self.token_expires_in = token_expires_in
        self.known_skus = set(known_skus) if known_skus is not None else None
        # How long every reply takes once the request has arrived (Qikink's own pace).
        self.latency_seconds = latency_seconds
        self.clock = clock
        self.tokens_minted = 0
        self.requests: list[SimRequest] = []
        self._lock = threading.RLock()
        self._orders: list[dict[str, Any]] = []
        self._by_id: dict[int, dict[str, Any]] = {}
        self._by_suffix: dict[str, list[dict[str, Any]]] = {}
        self._next_order_id = FIRST_ORDER_ID
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._windows: dict[str, deque[float]] = {}
        self._faults: list[Fault] = []
        self._sleepers: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    # -- inspection -------------------------------------------------------------------------

    @property
    def orders(self) -> list[dict[str, Any]]:
        """Copies of every order, oldest first (newest last)."""
        with self._lock:
            return copy.deepcopy(self._orders)

    @property
    def current_token(self) -> str | None:
        """The one token Qikink would accept right now (None once it expired)."""
        with self._lock:
            if self._token is None or self.clock() >= self._token_expires_at:
                return None
            return self._token

    def order(self, order_id: int) -> dict[str, Any] | None:
        with self._lock:
            found = self._by_id.get(order_id)
            return copy.deepcopy(found) if found is not None else None

    def orders_with_number(self, order_number: str) -> list[dict[str, Any]]:
        """Every order whose number is `order_number`, bare or with the account prefix."""
        with self._lock:
            # Seeded numbers may hold "_" themselves, so try the text both whole and split.
            keys = {order_number, order_suffix(order_number)}
            found = {id(o): o for key in keys for o in self._by_suffix.get(key, [])}.values()
            return [
                copy.deepcopy(order)
                for order in sorted(found, key=lambda order: order["order_id"])
                if order_number in (order["number"], order_suffix(order["number"]))
            ]

    def order_by_number(self, order_number: str) -> dict[str, Any] | None:
        found = self.orders_with_number(order_number)
        return found[-1] if found else None

    def max_requests_in_window(self, seconds: float | None = None) -> int:
        """The most Qikink requests (refused ones included) seen in any rolling window (of
        the limiter's length unless `seconds` says)."""
        if seconds is None:
            seconds = self.rate_window_seconds
        with self._lock:
            times = sorted(request.at for request in self.requests)
        best = 0
        start = 0
        # Half-open windows [t, t + seconds), matching the limiter, which forgets a request
        # exactly `seconds` after it arrived.
        for end, at in enumerate(times):
            while times[start] <= at - seconds:
                start += 1
            best = max(best, end - start + 1)
        return best

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "tokens_minted": self.tokens_minted,
                "requests": len(self.requests),
                "orders": len(self._orders),
                "max_requests_in_window": self.max_requests_in_window(),
                "faults_pending": sum(fault.times for fault in self._faults),
            }

    # -- control ----------------------------------------------------------------------------

    def inject(
        self,
        kind: str,
        *,
        endpoint: str = "*",
        times: int = 1,
        message: str | None = None,
        delay: float = 30.0,
    ) -> None:
        """Arm a fault for the next `times` requests to `endpoint` ("*" for any).

        Each fires once per matching request that got past the rate limit, oldest first, and
        is logged as `fault:<kind>`. "Processed" means Qikink really did the work (an order
        really gets created):

        - timeout: nothing processed until `delay` is over (or `wake()`), then answered
          normally; a client that hangs up first leaves nothing processed.
        - accept_then_timeout: processed at once, the reply held back the same way.
        - drop: not processed; half a reply, then the connection is cut (a real server closes
          the socket; in-process, httpx.RemoteProtocolError is raised through the transport).
        - accept_then_drop: processed, then the reply is cut the same way.
        - accept_then_garbage: processed, then HTTP 200 with the first half of the JSON.
        - html_502: nginx's HTML 502 page.   - error_200: 200 {"error": true, "message": ...}.
        - rate_limit_200 / rate_limit_429: the limiter's refusal (not counted in the window).
        - stale_token: the current token dies as if another process minted, so this call
          (and every later one with that token) gets the 401.
        - non_json: 200 text/plain prose.   - empty: 200 with no body.
        - status_500: 500 {"error": true, "message": "Insufficient wallet balance"}.

        `message` replaces the default text of error_200, rate_limit_*, non_json and status_500.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if endpoint != "*" and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; expected '*' or one of {ENDPOINTS}")
        if times < 1:
            raise ValueError("times must be at least 1")
        if delay < 0:
            raise ValueError("delay cannot be negative")
        with self._lock:
            self._faults.append(Fault(kind, endpoint, times, message, float(delay)))

    def advance(
        self,
        order_id: int,
        status: str,
        *,
        awb: str | None = None,
        courier: str | None = None,
        tracking_link: str | None = None,
    ) -> dict[str, Any]:
        """Move an order along as Qikink's back office would; returns a copy of it."""
        with self._lock:
            order = self._by_id.get(order_id)
            if order is None:
                raise KeyError(f"no order with id {order_id}")
            order["status"] = status
            if order["live_date"] is None and status not in _NOT_LIVE:
                order["live_date"] = format_timestamp(self.clock())
            shipping = order["shipping"]
            if awb is not None:
                shipping["awb"] = awb
                if tracking_link is None:
                    tracking_link = f"https://courierupdates.com/?awb={awb}"
                # A shipped parcel always has a courier; name a common one if none was given.
                if courier is None and shipping["courier_provider_name"] is None:
                    courier = DEFAULT_COURIER
            if courier is not None:
                shipping["courier_provider_name"] = courier
            if tracking_link is not None:
                shipping["tracking_link"] = tracking_link
            return copy.deepcopy(order)

    def add_order(
        self,
        order_number: str,
        *,
        status: str = "On Hold",
        created_on: str | datetime | float | None = None,
        payment_type: str = "Prepaid",
        total_order_value: str | float | Decimal = "549.00",
        line_items: list[dict[str, Any]] | None = None,
        shipping: dict[str, Any] | None = None,
        add_ons: list[Any] | None = None,
        awb: str | None = None,
        courier: str | None = None,
        tracking_link: str | None = None,
    ) -> dict[str, Any]:
        """Seed an order directly, as if placed from Qikink's dashboard; no validation.

        `created_on` is "YYYY-MM-DD HH:MM:SS", an aware datetime or epoch seconds (default now).
        """
        if created_on is None:
            stamp = format_timestamp(self.clock())
        elif isinstance(created_on, datetime):
            stamp = format_timestamp(created_on.timestamp())
        elif isinstance(created_on, (int, float)):
            stamp = format_timestamp(float(created_on))
        else:
            stamp = created_on
        items = line_items or [
            {"sku": "MVnHs-Wh-M", "quantity": "1", "price": "549.00", "designs": []}
        ]
        with self._lock:
            order = self._store(
                order_number=order_number,
                created_on=stamp,
                status="On Hold",
                payment_type=payment_type,
                shipping_type="Qikink Shipping",
                total_order_value=money(total_order_value) or str(total_order_value),
                shipping=shipping or example_address(),
                line_items=copy.deepcopy(items),
                add_ons=copy.deepcopy(add_ons or []),
            )
            if status != "On Hold" or awb or courier or tracking_link:
                return self.advance(
                    order["order_id"],
                    status,
                    awb=awb,
                    courier=courier,
                    tracking_link=tracking_link,
                )
            return copy.deepcopy(order)

    def seed_orders(
        self,
        count: int,
        *,
        prefix: str = "SEED",
        start: float | None = None,
        spacing: float = 60.0,
        status: str = "On Hold",
    ) -> list[dict[str, Any]]:
        """Seed `count` orders `spacing` seconds apart, the last one just before now."""
        first = start if start is not None else self.clock() - count * spacing
        return [
            self.add_order(
                f"{prefix}{index:05d}",
                status=status,
                created_on=first + index * spacing,
            )
            for index in range(1, count + 1)
        ]

    def reset(self) -> None:
        """Forget everything but the configuration, and end every pending injected delay."""
        with self._lock:
            self.tokens_minted = 0
            self.requests.clear()
            self._orders.clear()
            self._by_id.clear()
            self._by_suffix.clear()
            self._next_order_id = FIRST_ORDER_ID
            self._token = None
            self._token_expires_at = 0.0
            self._windows.clear()
            self._faults.clear()
        self.wake()

    def wake(self) -> None:
        """End every injected delay now (their replies then go out as if the delay elapsed)."""
        with self._lock:
            sleepers = list(self._sleepers)
        for loop, event in sleepers:
            # The loop may be in another thread, or already gone with its server.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    def add_sleeper(self, loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
        with self._lock:
            self._sleepers.add((loop, event))

    def remove_sleeper(self, loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
        with self._lock:
            self._sleepers.discard((loop, event))

    # -- the Qikink API ---------------------------------------------------------------------

    def admit(self, call: Call) -> Admission:
        """Record a request, apply the rate limit, and pick the fault it triggers, if any."""
        with self._lock:
            now = self.clock()
            endpoint = classify(call.method, call.path, call.query)
            if endpoint == "token":
                client_id = _form_fields(call).get("ClientId", "")
            else:
                client_id = call.headers.get("clientid", "")
            record = SimRequest(
                at=now,
                method=call.method,
                path=call.path,
                endpoint=endpoint,
                query=call.query_string,
                client_id=client_id,
            )
            self.requests.append(record)
            window = self._windows.setdefault(client_id, deque())
            while window and window[0] <= now - self.rate_window_seconds:
                window.popleft()
            if self.rate_limit_per_minute and len(window) >= self.rate_limit_per_minute:
                record.counted = False
                refusal = _refusal(RATE_LIMIT_MESSAGE, "rate_limited")
                self._finish(record, refusal.status, refusal.outcome, refusal.detail)
                return Admission(record, refusal=refusal)
            fault = self._take_fault(endpoint)
            if fault is not None and fault.kind in _UNCOUNTED_FAULTS:
                record.counted = False
            else:
                window.append(now)
            if fault is not None and fault.kind == "stale_token" and self._token is not None:
                # Someone else minted: the token this caller holds is dead, and so is ours.
                self._token = secrets.token_hex(16)
            return Admission(record, fault=fault)

    def handle(self, call: Call, record: SimRequest) -> Reply:
        """Answer a request the way Qikink does (no faults here)."""
        with self._lock:
            if record.endpoint == "token":
                return self._mint(call)
            if record.endpoint == "other":
                return _json_reply(404, {"error": True, "message": "Not Found"}, "not_found")
            if not self._authorised(call):
                return _json_reply(401, {"error": BAD_TOKEN}, "unauthorized", BAD_TOKEN)
            if record.endpoint == "create":
                return self._create(call)
            return self._read(call)

    def finish(
        self,
        record: SimRequest,
        reply: Reply | None,
        *,
        fault: Fault | None = None,
        status: int | None = None,
        client_gone: bool = False,
    ) -> None:
        """Record how a request ended.

        Under a fault the outcome is `fault:<kind>` and the detail says what the handler did
        ("not_processed" when it never ran); `status` is the status line that went out when the
        fault chose it, and is 0 when the client hung up before anything was sent.
        """
        with self._lock:
            if fault is None:
                if reply is None:
                    raise ValueError("a request without a fault always has a reply")
                self._finish(record, reply.status, reply.outcome, reply.detail, reply.order_id)
                return
            detail = reply.outcome if reply is not None else "not_processed"
            if status is None:
                status = reply.status if reply is not None else 0
            if client_gone:
                status = 0
                detail += "; client_gone"
            self._finish(
                record,
                status,
                f"fault:{fault.kind}",
                detail,
                reply.order_id if reply is not None else None,
            )

    # -- internals --------------------------------------------------------------------------

    def _finish(
        self,
        record: SimRequest,
        status: int,
        outcome: str,
        detail: str | None = None,
        order_id: int | None = None,
    ) -> None:
        record.status = status
        record.outcome = outcome
        record.detail = detail
        if order_id is not None:
            record.order_id = order_id

    def _take_fault(self, endpoint: str) -> Fault | None:
        for fault in self._faults:
            if fault.matches(endpoint):
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _mint(self, call: Call) -> Reply:
        fields = _form_fields(call)
        if (
            fields.get("ClientId") != self.client_id
            or fields.get("client_secret") != self.client_secret
        ):
            return _json_reply(401, {"error": BAD_CREDENTIALS}, "unauthorized", BAD_CREDENTIALS)
        self._token = secrets.token_hex(20)
        lifetime = self.token_expires_in
        self._token_expires_at = self.clock() + (
            lifetime if lifetime is not None else DEFAULT_TOKEN_LIFETIME
        )
        self.tokens_minted += 1
        client_id: int | str = int(self.client_id) if self.client_id.isdigit() else self.client_id
        body: dict[str, Any] = {"ClientId": client_id, "Accesstoken": self._token}
        if lifetime is not None:
            body["expires_in"] = lifetime
        return _json_reply(200, body, "ok")

    def _authorised(self, call: Call) -> bool:
        # Header names are case-insensitive in HTTP; an Authorization header counts for nothing.
        return (
            self._token is not None
            and call.headers.get("clientid") == self.client_id
            and call.headers.get("accesstoken") == self._token
            and self.clock() < self._token_expires_at
        )

    def _create(self, call: Call) -> Reply:
        try:
            payload = json.loads(call.body)
        except (ValueError, UnicodeDecodeError):
            return _refusal("Invalid JSON body")
        try:
            fields = validate_create(
                payload,
                known_skus=self.known_skus,
                is_duplicate=lambda number: number in self._by_suffix,
            )
        except CreateRefused as refused:
            return _refusal(refused.message)
        except ServerCrash as crash:
            page = _PHP_ERROR_PAGE.format(message=crash.php_message).encode()
            return Reply(500, page, "text/html; charset=UTF-8", "server_error", crash.php_message)
        order = self._store(
            created_on=format_timestamp(self.clock()),
            status="On Hold",
            **fields,
        )
        body = {
            "status_code": "200",
            "message": "Order created successfully",
            "order_id": order["order_id"],
        }
        return Reply(200, encode_json(body), order_id=order["order_id"])

    def _read(self, call: Call) -> Reply:
        params: dict[str, str] = {}
        for name, value in call.query:
            if name not in _LIST_PARAMETERS:
                return _refusal(f"Invalid parameter: {name}")
            params.setdefault(name, value)
        if "id" in params:
            order_id = params["id"].strip()
            found = self._by_id.get(int(order_id)) if order_id.isdigit() else None
            return _json_reply(200, [found] if found is not None else [], "ok")
        page_text = params.get("page_no", "1").strip()
        if not page_text.isdigit() or int(page_text) < 1:
            return _refusal("Invalid page_no")
        for name in ("from_date", "to_date"):
            if name in params and not _valid_date(params[name]):
                return _refusal(f"Invalid {name}")
        first_day = params.get("from_date", "0000-00-00")
        last_day = params.get("to_date", "9999-99-99")
        matching = [
            order for order in self._orders if first_day <= order["created_on"][:10] <= last_day
        ]
        matching.sort(key=lambda order: (order["created_on"], order["order_id"]), reverse=True)
        page = int(page_text)
        return _json_reply(200, matching[(page - 1) * PAGE_SIZE : page * PAGE_SIZE], "ok")

    def _store(self, *, order_number: str, **fields: Any) -> dict[str, Any]:
        order = build_order(
            order_id=self._next_order_id,
            account_number=self.account_number,
            order_number=order_number,
            **fields,
        )
        self._next_order_id += 1
        self._orders.append(order)
        self._by_id[order["order_id"]] = order
        self._by_suffix.setdefault(order_number, []).append(order)
        return order
