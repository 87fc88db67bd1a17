"""The one Qikink access token per (API URL, client id), shared by every process.

Qikink kills a ClientId's previous token whenever a new one is minted, so processes that each
minted their own would knock each other out. The token lives in `qikink_tokens`; a process that
needs a new one takes the row's mint lease with a conditional UPDATE (the database lets exactly
one win), mints outside any transaction, and stores it with the next generation number. The
others wait for that generation to appear. After a 401 only the token of the generation that
was refused is replaced, so many processes seeing the same 401 cause one mint.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from models import QikinkToken
from services.shared.clock import SYSTEM, Clock, utc_now
from services.shared.db import to_the_end
from services.shared.errors import QikinkUnavailable
from services.shared.leases import Lease

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["REFRESH_MARGIN_SECONDS", "Token", "TokenGrant", "TokenStore", "token_key"]

REFRESH_MARGIN_SECONDS = 30.0
DEFAULT_EXPIRES_IN = 3600
# Longer than a mint can take (client timeouts), so a crashed minter's lease runs out.
MINT_LEASE_SECONDS = 20.0
_POLL_SECONDS = 0.05
# Whoever holds it is minting; everyone else waits for the new generation.
MINT = Lease(QikinkToken, "mint_owner", "mint_lease_until")


def token_key(api_url: str, client_id: str) -> str:
    return hashlib.sha256(f"{api_url}\n{client_id}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What Qikink's token endpoint gave."""

    access_token: str
    expires_in: int | None


@dataclass(frozen=True, slots=True)
class Token:
    access_token: str
    expires_at: datetime
    generation: int

    def usable(self, now: datetime) -> bool:
        return self.expires_at - timedelta(seconds=REFRESH_MARGIN_SECONDS) > now


class TokenStore:
    """Single-flight access to the shared token, within this process and across processes."""

    def __init__(
        self,
        key: str,
        mint: Callable[[bool, Callable[[], Awaitable[None]]], Awaitable[TokenGrant]],
        *,
        clock: Clock = SYSTEM,
    ) -> None:
        self.key = key
        self._mint = mint
        self.clock = clock
        self._owner = secrets.token_hex(8)
        self._cached: Token | None = None
        self._lock = asyncio.Lock()
        self.mints = 0

    def _now(self) -> datetime:
        return utc_now(self.clock)

    async def get(self, *, wait: bool = False) -> Token:
        """A token good for at least 30 more seconds; `wait` is passed to a mint's budget."""
        cached = self._cached
        if cached is not None and cached.usable(self._now()):
            return cached
        async with self._lock:
            cached = self._cached
            if cached is not None and cached.usable(self._now()):
                return cached
            self._cached = await self._shared_token(refused_generation=None, wait=wait)
            return self._cached

    async def replace(self, refused: Token, *, wait: bool = False) -> Token:
        """Qikink refused `refused`: a newer token, minting one only if nobody else has."""
        async with self._lock:
            cached = self._cached
            if cached is not None and cached.generation > refused.generation:
                return cached
            self._cached = await self._shared_token(
                refused_generation=refused.generation, wait=wait
            )
            return self._cached

    async def _row(self) -> QikinkToken:
        row = await QikinkToken.get_or_none(key=self.key)
        if row is not None:
            return row
        try:
            return await QikinkToken.create(key=self.key)
        except IntegrityError:
            return await QikinkToken.get(key=self.key)

    async def _shared_token(self, *, refused_generation: int | None, wait: bool) -> Token:
        while True:
            row = await self._row()
            stored = _token_of(row)
            now = self._now()
            refused = refused_generation is not None and row.generation <= refused_generation
            if stored is not None and stored.usable(now) and not refused:
                return stored
            if await self._take_lease(row.generation, now):
                try:
                    # Minting kills the token every process uses: once begun, it ends with the
                    # new one stored, whether or not this caller is still there to use it.
                    return await to_the_end(self._mint_and_store(row.generation, wait=wait))
                except _LeaseLost:
                    continue  # another process minted meanwhile: use its token
            await self._wait_for_change(row.generation)

    async def _take_lease(self, generation: int, now: datetime) -> bool:
        return await MINT.take(
            Q(key=self.key),
            self._owner,
            when=Q(generation=generation),
            now=now,
            until=now + timedelta(seconds=MINT_LEASE_SECONDS),
        )

    async def _renew_lease(self) -> None:
        """Called while the mint waits for a rate slot, so the lease outlives the wait."""
        until = self._now() + timedelta(seconds=MINT_LEASE_SECONDS)
        if not await MINT.renew(Q(key=self.key), self._owner, until=until):
            raise _LeaseLost

    async def _mint_and_store(self, generation: int, *, wait: bool) -> Token:
        try:
            grant = await self._mint(wait, self._renew_lease)
        except BaseException:
            await MINT.release(Q(key=self.key), self._owner)
            raise
        self.mints += 1
        expires_in = grant.expires_in if grant.expires_in and grant.expires_in > 0 else None
        expires_at = self._now() + timedelta(seconds=expires_in or DEFAULT_EXPIRES_IN)
        stored = await MINT.release(
            Q(key=self.key),
            self._owner,
            access_token=grant.access_token,
            expires_at=expires_at,
            generation=generation + 1,
        )
        if not stored:
            # Our lease ran out mid-call and another process took over: one of the two
            # tokens is already dead, and the stored one is not ours to judge.
            raise QikinkUnavailable("Minting the Qikink token took too long; try again.")
        return Token(grant.access_token, expires_at, generation + 1)

    async def _wait_for_change(self, generation: int) -> None:
        """Another process holds the mint lease: wait for its token or for the lease to lapse."""
        # On the service's clock, like the lease it waits out: a test moving it moves both.
        deadline = self.clock() + MINT_LEASE_SECONDS + 1
        while self.clock() < deadline:
            await asyncio.sleep(_POLL_SECONDS)
            row = await QikinkToken.get(key=self.key)
            now = self._now()
            if row.generation != generation:
                return
            if row.mint_lease_until is None or row.mint_lease_until < now:
                return


class _LeaseLost(Exception):
    """Our mint lease lapsed (and was taken) while we waited for a rate slot."""


def _token_of(row: QikinkToken) -> Token | None:
    if not row.access_token or row.expires_at is None:
        return None
    return Token(row.access_token, row.expires_at, row.generation)
