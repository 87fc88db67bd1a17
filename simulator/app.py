"""The HTTP face of the simulator: the Qikink API, its faults, and the `/__sim__/` control API."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator.state import (
    PROCESSING_FAULTS,
    Call,
    QikinkSimulator,
    canned_reply,
    encode_json,
)

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import Receive, Scope, Send

    from simulator.state import Fault, Reply, SimRequest

__all__ = ["create_simulator_app"]

_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _sim(request: Request) -> QikinkSimulator:
    # Read per request, so a test may swap app.state.sim between calls.
    sim: QikinkSimulator = request.app.state.sim
    return sim


def _respond(reply: Reply) -> Response:
    return Response(reply.body, status_code=reply.status, media_type=reply.content_type)


def _behind_real_server(scope: Scope) -> bool:
    # uvicorn (and hypercorn) announce an ASGI spec_version; httpx's ASGITransport and
    # Starlette's TestClient do not. Only a real server can close a socket mid-body.
    return "spec_version" in scope.get("asgi", {})


def _broken_connection() -> Exception:
    """What an in-process client would have seen had a real socket been cut mid-body."""
    try:
        # Imported late: only in-process clients, which are httpx-based, ever get here.
        import httpx
    except ImportError:  # pragma: no cover
        return ConnectionResetError("simulated drop: connection closed mid-body")
    return httpx.RemoteProtocolError(
        "peer closed connection without sending complete message body (simulated drop)"
    )


class _DroppedResponse(Response):
    """Sends the status line, headers and half the body, then abandons the connection."""

    def __init__(
        self, body: bytes, status_code: int = 200, media_type: str = "application/json"
    ) -> None:
        super().__init__(body, status_code=status_code, media_type=media_type)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": self.status_code,
                "headers": self.raw_headers,
            }
        )
        await send(
            {
                "type": "http.response.body",
                "body": self.body[: len(self.body) // 2],
                "more_body": True,
            }
        )
        if _behind_real_server(scope):
            # uvicorn closes the socket when the app returns mid-body: the client sees the
            # Content-Length go unmet, exactly like a proxy that died half way.
            return
        raise _broken_connection()


class _NoResponse(Response):
    """The client already hung up: send nothing (uvicorn stays quiet about it)."""

    def __init__(self) -> None:
        super().__init__(b"")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        return None


async def _client_gone(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _pause(sim: QikinkSimulator, request: Request, delay: float) -> bool:
    """Hold the reply for `delay` seconds; False when the client hung up meanwhile.

    Waking early on a disconnect keeps a 30 s injected delay from outliving the client that
    gave up on it, and `sim.wake()` lets tests and shutdown end every delay at once.
    """
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()
    sim.add_sleeper(loop, woken)
    gone = asyncio.ensure_future(_client_gone(request.receive))
    wake = asyncio.ensure_future(woken.wait())
    try:
        await asyncio.wait({gone, wake}, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        return not gone.done()
    finally:
        sim.remove_sleeper(loop, woken)
        gone.cancel()
        wake.cancel()


async def _qikink(request: Request) -> Response:
    sim = _sim(request)
    call = Call(
        method=request.method,
        # Relative to wherever the app is mounted (the service mounts it at /simulator).
        path="/" + request.path_params.get("path", ""),
        query=tuple(request.query_params.multi_items()),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=await request.body(),
    )
    admission = sim.admit(call)
    record, fault = admission.record, admission.fault
    if sim.latency_seconds:
        # Counted on arrival, as Qikink counts; answered once the work would be done.
        await asyncio.sleep(sim.latency_seconds)
    if admission.refusal is not None:
        return _respond(admission.refusal)
    if fault is None:
        reply = sim.handle(call, record)
        sim.finish(record, reply)
        return _respond(reply)
    if fault.kind == "timeout":
        return await _slow(sim, request, call, record, fault)
    if fault.kind == "drop":
        sim.finish(record, None, fault=fault, status=200)
        filler = encode_json({"status_code": "200", "message": "Order created successfully"})
        return _DroppedResponse(filler)
    if fault.kind in PROCESSING_FAULTS:
        return await _after_processing(sim, request, call, record, fault)
    canned = canned_reply(fault)
    sim.finish(record, None, fault=fault, status=canned.status)
    return _respond(canned)


async def _slow(
    sim: QikinkSimulator, request: Request, call: Call, record: SimRequest, fault: Fault
) -> Response:
    """`timeout`: nothing is done until the delay is over, and nothing at all if the client left."""
    if not await _pause(sim, request, fault.delay):
        sim.finish(record, None, fault=fault, client_gone=True)
        return _NoResponse()
    reply = sim.handle(call, record)
    sim.finish(record, reply, fault=fault)
    return _respond(reply)


async def _after_processing(
    sim: QikinkSimulator, request: Request, call: Call, record: SimRequest, fault: Fault
) -> Response:
    """Faults that let Qikink do the work (create the order, say) and then spoil the reply."""
    reply = sim.handle(call, record)
    if fault.kind == "accept_then_garbage":
        sim.finish(record, reply, fault=fault, status=200)
        cut = reply.body[: len(reply.body) // 2]
        return Response(cut, status_code=200, media_type="application/json")
    if fault.kind == "accept_then_drop":
        sim.finish(record, reply, fault=fault)
        return _DroppedResponse(reply.body, reply.status, reply.content_type)
    if fault.kind == "accept_then_timeout" and not await _pause(sim, request, fault.delay):
        sim.finish(record, reply, fault=fault, client_gone=True)
        return _NoResponse()
    sim.finish(record, reply, fault=fault)
    return _respond(reply)


def create_simulator_app(sim: QikinkSimulator | None = None) -> Starlette:
    """The fake Qikink API plus its `/__sim__/` control API, serving `sim` (a fresh one if None)."""
    routes = [
        Route("/__sim__/stats", _stats, methods=["GET"]),
        Route("/__sim__/orders", _list_orders, methods=["GET"]),
        Route("/__sim__/orders", _seed_orders, methods=["POST"]),
        Route("/__sim__/requests", _list_requests, methods=["GET"]),
        Route("/__sim__/advance", _advance, methods=["POST"]),
        Route("/__sim__/inject", _inject, methods=["POST"]),
        Route("/__sim__/reset", _reset, methods=["POST"]),
        Route("/__sim__/wake", _wake, methods=["POST"]),
        # Unknown control paths must not leak into the fake's request log.
        Route("/__sim__/{rest:path}", _control_not_found, methods=_ALL_METHODS),
        Route("/{path:path}", _qikink, methods=_ALL_METHODS),
    ]
    app = Starlette(routes=routes)
    app.state.sim = sim if sim is not None else QikinkSimulator()
    return app


# -- control API ------------------------------------------------------------------------------


class _BadControlRequest(Exception):
    pass


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as error:
        raise _BadControlRequest("body must be a JSON object") from error
    if not isinstance(body, dict):
        raise _BadControlRequest("body must be a JSON object")
    return body


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)


def _web_link(link: str) -> bool:
    parts = urlsplit(link)
    return (
        parts.scheme.lower() in ("http", "https")
        and bool(parts.netloc)
        and not any(char.isspace() or ord(char) < 0x20 for char in link)
    )


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _stats(request: Request) -> Response:
    return JSONResponse(_sim(request).stats())


async def _list_orders(request: Request) -> Response:
    sim = _sim(request)
    number = request.query_params.get("number")
    orders = sim.orders if number is None else sim.orders_with_number(number)
    return JSONResponse(orders)


async def _seed_orders(request: Request) -> Response:
    sim = _sim(request)
    try:
        body = await _json_object(request)
        if "count" in body:
            orders = sim.seed_orders(
                int(body["count"]),
                prefix=str(body.get("prefix", "SEED")),
                start=body.get("start"),
                spacing=float(body.get("spacing", 60.0)),
                status=str(body.get("status", "On Hold")),
            )
        else:
            orders = [sim.add_order(**body)]
    except (_BadControlRequest, TypeError, ValueError) as error:
        return _bad(str(error))
    return JSONResponse({"orders": orders})


async def _list_requests(request: Request) -> Response:
    sim = _sim(request)
    endpoint = request.query_params.get("endpoint")
    return JSONResponse(
        [
            logged.to_dict()
            for logged in list(sim.requests)
            if endpoint is None or logged.endpoint == endpoint
        ]
    )


async def _advance(request: Request) -> Response:
    sim = _sim(request)
    try:
        body = await _json_object(request)
        order_id, status = int(body["order_id"]), str(body["status"])
    except KeyError:
        return _bad("order_id and status are required")
    except (_BadControlRequest, TypeError, ValueError) as error:
        return _bad(str(error))
    link = _optional_text(body.get("tracking_link"))
    if link is not None and not _web_link(link):
        # What is set here reaches a customer's shipment email through the service's
        # write-back: a `javascript:` or `data:` link would be sent as it is.
        return _bad("tracking_link must be an http:// or https:// URL")
    try:
        order = sim.advance(
            order_id,
            status,
            awb=_optional_text(body.get("awb")),
            courier=_optional_text(body.get("courier")),
            tracking_link=link,
        )
    except KeyError:
        return _bad(f"no order with id {order_id}", 404)
    return JSONResponse(order)


async def _inject(request: Request) -> Response:
    sim = _sim(request)
    try:
        body = await _json_object(request)
        sim.inject(
            str(body["kind"]),
            endpoint=str(body.get("endpoint", "*")),
            times=int(body.get("times", 1)),
            message=body.get("message"),
            delay=float(body.get("delay", 30.0)),
        )
    except KeyError:
        return _bad("kind is required")
    except (_BadControlRequest, TypeError, ValueError) as error:
        return _bad(str(error))
    return JSONResponse({"ok": True, "faults_pending": sim.stats()["faults_pending"]})


async def _reset(request: Request) -> Response:
    _sim(request).reset()
    return JSONResponse({"ok": True})


async def _wake(request: Request) -> Response:
    _sim(request).wake()
    return JSONResponse({"ok": True})


async def _control_not_found(request: Request) -> Response:
    return _bad(f"no control endpoint {request.url.path}", 404)
