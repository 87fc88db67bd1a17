"""The shared token store: one mint however many stores (processes) need a token at once."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from services.qikink.token import MINT_LEASE_SECONDS, TokenGrant, TokenStore
from tests.waiting import eventually

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from simulator import ManualClock


class CountingClock:
    """`clock`, counting how often a store reads it: each read is a store looking."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.clock()

    def at_least(self, reads: int) -> Callable[[], bool]:
        return lambda: self.reads >= reads


async def test_a_mint_waiting_for_a_rate_slot_keeps_its_lease(
    connected_db: str, clock: ManualClock
) -> None:
    waiting = asyncio.Event()
    release = asyncio.Event()
    mints: list[str] = []

    async def slow_mint(wait: bool, on_wait: Callable[[], Awaitable[None]]) -> TokenGrant:
        # The budget is full: the mint waits for a slot far longer than its lease.
        clock.advance(MINT_LEASE_SECONDS * 3)
        await on_wait()
        waiting.set()
        await release.wait()
        mints.append("a")
        return TokenGrant("token-a", 3600)

    async def other_mint(wait: bool, on_wait: Callable[[], Awaitable[None]]) -> TokenGrant:
        mints.append("b")
        return TokenGrant("token-b", 3600)

    watched = CountingClock(clock)
    first = TokenStore("key", slow_mint, clock=clock)
    second = TokenStore("key", other_mint, clock=watched)
    getting = asyncio.create_task(first.get(wait=True))
    await waiting.wait()
    # Another process needs a token now: it must wait for the one being minted, not mint.
    other = asyncio.create_task(second.get(wait=True))
    await eventually(watched.at_least(3))  # it has looked, and looked again
    assert not other.done()
    release.set()
    assert (await getting).access_token == "token-a"
    assert (await other).access_token == "token-a"
    assert mints == ["a"]


async def test_many_stores_asking_at_once_cause_one_mint(
    connected_db: str, clock: ManualClock
) -> None:
    mints = 0
    minting = asyncio.Event()
    watched = CountingClock(clock)

    async def mint(wait: bool, on_wait: Callable[[], Awaitable[None]]) -> TokenGrant:
        nonlocal mints
        mints += 1
        await minting.wait()  # the mint is under way while the others ask
        return TokenGrant(f"token-{mints}", 3600)

    stores = [TokenStore("key", mint, clock=watched) for _ in range(8)]
    asking = asyncio.gather(*(store.get() for store in stores for _ in range(5)))
    # Every store has looked at the shared row (and found the mint under way) at least once.
    await eventually(watched.at_least(len(stores) + 1))
    minting.set()
    tokens = await asking
    assert {token.access_token for token in tokens} == {"token-1"}
    assert mints == 1


async def test_after_a_refusal_only_the_refused_generation_is_replaced(
    connected_db: str, clock: ManualClock
) -> None:
    mints = 0

    async def mint(wait: bool, on_wait: Callable[[], Awaitable[None]]) -> TokenGrant:
        nonlocal mints
        mints += 1
        return TokenGrant(f"token-{mints}", 3600)

    one, two = TokenStore("key", mint, clock=clock), TokenStore("key", mint, clock=clock)
    stale = await one.get()
    # Both processes saw the same 401: one replacement, not two.
    fresh = await asyncio.gather(one.replace(stale), two.replace(stale))
    assert {token.access_token for token in fresh} == {"token-2"}
    assert mints == 2
