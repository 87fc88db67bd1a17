"""Leases: at most one process holds a row's job at a time, and a dead holder's lapses.

A lease is two columns of a row: who holds it and until when. `Lease.take` is one conditional
UPDATE that the database lets exactly one process win (the row matches and its lease is free:
none, or lapsed); only the holder renews or releases it, again by a conditional UPDATE, which
may carry the row's other changes with it. Three kinds of row hold one:

- a job's, in `job_state` (`JOB`: the periodic status sync, the Medusa sweep), through
  `take_lease` and `release_lease`;
- the Qikink token's mint, in `qikink_tokens` (`services.qikink.token`);
- a submission's claim, in `order_mappings` (`services.orders.worker`).

Callers pass the time (`now`, `until`): each reads its own clock. Each UPDATE runs to its end
even when its caller is cancelled meanwhile (`services.shared.db.to_the_end`): a lease a cancelled
caller had just taken is given back, not left to lapse, and a release always lands.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from models import JobState
from services.shared.clock import SYSTEM, Clock, utc_now
from services.shared.db import to_the_end

if TYPE_CHECKING:
    from tortoise.models import Model
    from tortoise.queryset import QuerySet

__all__ = ["JOB", "Lease", "job_value", "release_lease", "set_job_value", "take_lease"]


@dataclass(frozen=True, slots=True)
class Lease:
    """The lease columns `owner` and `until` of `model`'s rows."""

    model: type[Model]
    owner: str
    until: str

    async def take(
        self,
        row: Q,
        holder: str,
        *,
        now: datetime,
        until: datetime,
        when: Q | None = None,
        reentrant: bool = False,
        **changes: Any,
    ) -> bool:
        """Hold the row `row` names until `until`, if it matches `when` and its lease is free at
        `now` (or, with `reentrant`, held by `holder` already); `changes` are written with it.
        True if taken.

        A lease taken for a caller that is gone is given back lapsed (held until `now`): free
        for anyone, and a row its `changes` marked as taken (a claim's in-flight state) looks
        abandoned, which is how its job finds it again. `when` is not asked again then: the
        changes may have made it false.
        """
        lapsed: dict[str, Any] = {f"{self.until}__isnull": True}
        expired: dict[str, Any] = {f"{self.until}__lt": now}
        free = Q(**lapsed) | Q(**expired)
        if reentrant:
            free |= Q(**{self.owner: holder})
        take = self.model.filter(row, when or Q(), free).update(
            **{self.owner: holder, self.until: until}, **changes
        )

        async def give_back(taken: int) -> None:
            if taken:
                await self.model.filter(row, **{self.owner: holder, self.until: until}).update(
                    **{self.owner: None, self.until: now}
                )

        return await to_the_end(take, undo=give_back) == 1

    def held(self, where: Q, holder: str) -> QuerySet[Any]:
        """The row `where` names, while `holder` holds its lease."""
        return self.model.filter(where, Q(**{self.owner: holder}))

    async def renew(self, where: Q, holder: str, *, until: datetime) -> bool:
        """Extend `holder`'s lease; False when it is no longer theirs."""
        return bool(await to_the_end(self.held(where, holder).update(**{self.until: until})))

    async def release(self, where: Q, holder: str, **changes: Any) -> bool:
        """Give the lease up, writing `changes` with it; False when it was no longer theirs."""
        release = self.held(where, holder).update(**{self.owner: None, self.until: None}, **changes)
        return bool(await to_the_end(release))


JOB = Lease(JobState, "lease_owner", "lease_expires_at")


async def _ensure(name: str) -> None:
    if await JobState.exists(name=name):
        return
    # Another process may create it first: that is as good.
    with contextlib.suppress(IntegrityError):
        await JobState.create(name=name)


async def take_lease(name: str, owner: str, seconds: float, *, clock: Clock = SYSTEM) -> bool:
    """Hold job `name` for `seconds` unless someone else holds it now; True when taken."""
    await _ensure(name)
    now = utc_now(clock)
    return await JOB.take(
        Q(name=name), owner, now=now, until=now + timedelta(seconds=seconds), reentrant=True
    )


async def release_lease(name: str, owner: str) -> None:
    await JOB.release(Q(name=name), owner)


async def job_value(name: str) -> dict[str, Any]:
    row = await JobState.get_or_none(name=name)
    return dict(row.value or {}) if row is not None else {}


async def set_job_value(name: str, value: dict[str, Any]) -> None:
    await _ensure(name)
    await JobState.filter(name=name).update(value=value)
