"""Named leases in `job_state`: at most one process runs a job (the status sync) at a time.

A lease is taken with one conditional UPDATE that the database lets exactly one process win,
and lapses on its own if its holder dies.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from models import JobState

__all__ = ["job_value", "release_lease", "set_job_value", "take_lease"]


async def _ensure(name: str) -> None:
    if await JobState.exists(name=name):
        return
    # Another process may create it first: that is as good.
    with contextlib.suppress(IntegrityError):
        await JobState.create(name=name)


async def take_lease(name: str, owner: str, seconds: float) -> bool:
    """Hold `name` for `seconds` unless someone else holds it now; True when taken."""
    await _ensure(name)
    now = datetime.now(UTC)
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now) | Q(lease_owner=owner)
    taken = await JobState.filter(Q(name=name), free).update(
        lease_owner=owner, lease_expires_at=now + timedelta(seconds=seconds)
    )
    return taken == 1


async def release_lease(name: str, owner: str) -> None:
    await JobState.filter(name=name, lease_owner=owner).update(
        lease_owner=None, lease_expires_at=None
    )


async def job_value(name: str) -> dict[str, Any]:
    row = await JobState.get_or_none(name=name)
    return dict(row.value or {}) if row is not None else {}


async def set_job_value(name: str, value: dict[str, Any]) -> None:
    await _ensure(name)
    await JobState.filter(name=name).update(value=value)
