"""Large bodies from callers who are not admins take turns (web.guards.CallerMiddleware).

Every body is read whole first, within its limit and deadlines; then one over LARGE_BODY_BYTES
is parsed and answered one at a time, at most MAX_LARGE_WAITING waiting behind the one being
answered; the next is refused 503 at once. Small bodies and admins' bodies never wait for a
turn, and a body still arriving takes none. Each request here is the app's own ASGI call, so a
request holds its turn for as long as its answer waits for the test's say-so, and a client
that stalls half-way through its body is a receive that never brings the rest.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.waiting import eventually
from web.guards import LARGE_BODY_BYTES, MAX_LARGE_WAITING, CallerMiddleware

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette
    from starlette.types import Message

# `{ __typename }`, padded with spaces past the large-body threshold (but under the limit).
LARGE_BODY = json.dumps({"query": "{ __typename }" + " " * (LARGE_BODY_BYTES + 100)}).encode()
SMALL_BODY = json.dumps({"query": "{ __typename }"}).encode()
JSON = {"content-type": "application/json"}


class Client:
    """One POST /graphql from a caller without credentials (a storefront's body, which takes
    turns when large). Its answer is taken only once `go` is set; with `stall_after`, only
    that many bytes of its body ever arrive."""

    def __init__(self, app: Starlette, body: bytes, *, stall_after: int | None = None) -> None:
        self.go = asyncio.Event()
        self.answering = False  # the app is sending its answer: this request has its turn
        self.reads = 0
        self.messages: list[Message] = []
        raw = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"test"), *raw],
            "client": ("127.0.0.1", 40000),
            "server": ("test", 80),
        }
        self.body = body if stall_after is None else body[:stall_after]
        self.stalls = stall_after is not None
        self.task = asyncio.create_task(app(scope, self.receive, self.send))

    async def receive(self) -> Message:
        self.reads += 1
        if self.body:
            body, self.body = self.body, b""
            return {"type": "http.request", "body": body, "more_body": self.stalls}
        await asyncio.Event().wait()  # the rest never comes, and the client never leaves
        raise AssertionError("unreachable")

    async def send(self, message: Message) -> None:
        self.answering = True
        await self.go.wait()
        self.messages.append(message)

    @property
    def status(self) -> int | None:
        starts = [m for m in self.messages if m["type"] == "http.response.start"]
        return starts[0]["status"] if starts else None

    def answer(self) -> dict[str, Any]:
        return json.loads(b"".join(m.get("body", b"") for m in self.messages[1:]))  # type: ignore[no-any-return]


def guard(app: Starlette) -> CallerMiddleware:
    found = app.state.get_cache.app
    assert isinstance(found, CallerMiddleware)
    return found


async def test_large_bodies_take_turns_and_the_one_too_many_is_refused_at_once(
    client: httpx.AsyncClient, app: Starlette, admin_headers: dict[str, str]
) -> None:
    caller = guard(app)
    first = Client(app, LARGE_BODY)
    await eventually(lambda: first.answering)
    queued = [Client(app, LARGE_BODY) for _ in range(MAX_LARGE_WAITING)]
    await eventually(lambda: caller.large_waiting == MAX_LARGE_WAITING)
    # Their bodies were read; behind the first, none is being answered yet.
    assert all(client.reads for client in queued)
    assert not any(client.answering for client in queued)

    refused = await client.post("/graphql", content=LARGE_BODY, headers=JSON)
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"

    # Small bodies, and an admin's large one, do not wait for a turn.
    small = await client.post("/graphql", content=SMALL_BODY, headers=JSON)
    assert small.json() == {"data": {"__typename": "Query"}}
    admin = await client.post("/graphql", content=LARGE_BODY, headers={**JSON, **admin_headers})
    assert admin.json() == {"data": {"__typename": "Query"}}

    # Released one by one, each is answered only once the one before it has been.
    for before, after in zip([first, *queued], [*queued, None], strict=True):
        before.go.set()
        await before.task
        assert before.status == 200
        assert before.answer() == {"data": {"__typename": "Query"}}
        if after is not None:
            await eventually(lambda after=after: after.answering)
    assert caller.large_waiting == 0
    assert not caller.large_turn.locked()


async def test_a_caller_gone_while_waiting_gives_up_its_place(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    caller = guard(app)
    first = Client(app, LARGE_BODY)
    await eventually(lambda: first.answering)
    waiting = Client(app, LARGE_BODY)
    await eventually(lambda: caller.large_waiting == 1)
    waiting.task.cancel()
    await asyncio.gather(waiting.task, return_exceptions=True)
    assert caller.large_waiting == 0
    first.go.set()
    await first.task
    # The turn is free again: the next large body is read and answered.
    answered = await client.post("/graphql", content=LARGE_BODY, headers=JSON)
    assert answered.json() == {"data": {"__typename": "Query"}}


@pytest.mark.slow
async def test_a_body_still_arriving_takes_no_turn_and_is_refused_408_when_it_stalls(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    caller = guard(app)
    stalled = Client(app, LARGE_BODY, stall_after=LARGE_BODY_BYTES // 2)
    stalled.go.set()
    await eventually(lambda: stalled.reads >= 2)  # half its body read, waiting for the rest
    # A large body that came whole is answered meanwhile: the stalled one holds no turn.
    async with asyncio.timeout(30):
        answered = await client.post("/graphql", content=LARGE_BODY, headers=JSON)
    assert answered.json() == {"data": {"__typename": "Query"}}
    async with asyncio.timeout(30):
        await stalled.task
    assert stalled.status == 408
    [error] = stalled.answer()["errors"]
    assert error["extensions"]["code"] == "REQUEST_TIMEOUT"
    assert error["message"].startswith("The request body did not arrive in time")
    start = stalled.messages[0]
    assert (b"connection", b"close") in start["headers"]
    assert not caller.large_turn.locked()


async def test_a_small_body_of_no_declared_length_takes_no_turn(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    first = Client(app, LARGE_BODY)
    await eventually(lambda: first.answering)

    async def chunked() -> Any:
        yield SMALL_BODY

    # No Content-Length: measured once read, it is small and goes ahead of the large one.
    async with asyncio.timeout(30):
        answered = await client.post("/graphql", content=chunked(), headers=JSON)
    assert answered.json() == {"data": {"__typename": "Query"}}
    first.go.set()
    await first.task
    assert first.status == 200
