"""The outbox's worker: queued order mappings are sent to Qikink, each exactly once.

A `SubmissionWorker` (in `serve`, or alone with
`qikink-graphql worker`, as many as you like) claims due mappings with a conditional UPDATE
that only one worker can win, waits for a rate slot, and sends them.

What keeps a paid order from being sent twice is the Qikink order number: derived from the
store order, so a resend is answered `Duplicate Order.`. Then, and whenever a create's outcome
is unknown (a timeout, a dropped connection, a broken reply, a worker that died mid-call), the
worker looks the order up in Qikink by its number and adopts its id instead of creating another,
but only if it is the order we sent (`services.orders.adoption`): an order someone else made
under our number is left alone, and the mapping fails with a new number for its retry.

    queued --claim--> in_flight --accepted / found--> done      (status SUBMITTED)
      ^                  |  |----refused------------> failed    (status FAILED; retry -> queued)
      |                  |------transient---------> queued    (backoff; `unknown` if it may
      |                                                          have reached Qikink)
      +-- lease expired (the worker died) is claimed again as `unknown`
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from contextlib import suppress
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from models import OrderMapping, OrderMappingStatus, SubmitState
from services.orders.adoption import (
    alert_not_adopted,
    differences,
    find_order_by_number,
    not_adopted,
)
from services.orders.outbox import NEVER_SENT
from services.shared.background import backoff
from services.shared.clock import Clock, utc_now
from services.shared.errors import QikinkRejected, QikinkUnavailable, RateLimited
from services.shared.install_secret import install_secret
from services.shared.leases import Lease

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from services.qikink.client import QikinkClient

__all__ = ["SubmissionWorker"]

logger = logging.getLogger("qikink_graphql.orders")
# A submission's claim: the worker that holds it is the one sending the order.
CLAIM = Lease(OrderMapping, "lease_owner", "lease_expires_at")

DUPLICATE_ORDER = re.compile(r"duplicate\s+order", re.IGNORECASE)
# Refusals that sending the same order again cannot change: the merchant has to act. Any other
# error text (Qikink's "Something went wrong") is retried, up to the attempt limit.
PERMANENT_REFUSAL = re.compile(
    r"invalid|cannot|can't|required|not allowed|must|exceed|special char|not found|"
    r"insufficient|balance|wallet|not serviceable|unserviceable|blocked|disabled|suspended",
    re.IGNORECASE,
)


class SubmissionWorker:
    """Claims due mappings and sends them to Qikink; safe to run in many processes."""

    def __init__(
        self,
        client: QikinkClient,
        *,
        lease_seconds: float = 120.0,
        backoff_base: float = 5.0,
        backoff_max: float = 900.0,
        poll_seconds: float = 2.0,
        batch: int = 5,
        max_attempts: int = 8,
        clock: Clock | None = None,
        canceled_in_store: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self.client = client
        # Asked before each send: an order canceled while its event was lost (the service
        # was down) is caught here, before the sweep would see it.
        self.canceled_in_store = canceled_in_store
        # When a claim lapses and a retry is due: the client's clock unless told otherwise.
        self.clock = clock or client.clock
        self.owner = f"worker-{secrets.token_hex(6)}"
        self.lease_seconds = lease_seconds
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.max_attempts = max_attempts
        self._wake = asyncio.Event()
        self.submitted = 0

    def _now(self) -> datetime:
        return utc_now(self.clock)

    def wake(self) -> None:
        """New work was queued in this process: look now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set; a failing database is logged and retried."""
        while not stop.is_set():
            self._wake.clear()
            try:
                done = await self.run_once()
            except Exception:
                logger.exception("submission worker: a pass failed; trying again shortly")
                done = 0
            if done:
                continue
            waiters = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
            _, pending = await asyncio.wait(
                waiters, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()

    async def run_once(self) -> int:
        """Claim and process every mapping due now; returns how many were processed."""
        processed = 0
        while claimed := await self._claim_some():
            for row, needs_lookup in claimed:
                await self._process(row, needs_lookup)
                processed += 1
        return processed

    async def _claim_some(self) -> list[tuple[OrderMapping, bool]]:
        now = self._now()
        due = Q(
            submit_state__in=[SubmitState.QUEUED, SubmitState.UNKNOWN], next_attempt_at__lte=now
        )
        abandoned = Q(submit_state=SubmitState.IN_FLIGHT, lease_expires_at__lt=now)
        candidates = (
            await OrderMapping.filter(due | abandoned)
            .order_by("next_attempt_at", "id")
            .limit(self.batch)
            .only("id", "submit_state", "lease_expires_at", "attempts")
        )
        claimed = []
        until = now + timedelta(seconds=self.lease_seconds)
        for row in candidates:
            # Claim only if the row is still as we saw it: exactly one worker wins each row.
            if await CLAIM.take(
                Q(id=row.id),
                self.owner,
                when=Q(submit_state=row.submit_state),
                now=now,
                until=until,
                submit_state=SubmitState.IN_FLIGHT,
            ):
                needs_lookup = row.submit_state is not SubmitState.QUEUED
                claimed.append((await OrderMapping.get(id=row.id), needs_lookup))
        return claimed

    def _where(self, row: OrderMapping) -> Q:
        return Q(id=row.id, submit_state=SubmitState.IN_FLIGHT)

    def _mine(self, row: OrderMapping) -> Any:
        return CLAIM.held(self._where(row), self.owner)

    async def _renew_to_send(self, row: OrderMapping) -> bool:
        """The last step before the create: the claim, renewed only if the store has not
        canceled the order. A cancel after it finds the order sent."""
        expires = self._now() + timedelta(seconds=self.lease_seconds)
        where = self._where(row) & Q(cancel_requested=False)
        return await CLAIM.renew(where, self.owner, until=expires)

    async def _canceled(self, row: OrderMapping) -> None:
        stopped = await CLAIM.release(
            self._where(row) & Q(cancel_requested=True),
            self.owner,
            submit_state=SubmitState.FAILED,
            status=OrderMappingStatus.CANCELED,
            last_error=NEVER_SENT,
            next_attempt_at=None,
        )
        if stopped:
            logger.info("order %s canceled in the store: not sent", row.medusa_order_id)

    async def _process(self, row: OrderMapping, needs_lookup: bool) -> None:
        number = row.qikink_order_number or ""
        try:
            if needs_lookup:
                found = await find_order_by_number(self.client, number, since=row.created_at)
                if found is not None:
                    await self._adopt(row, found, after="unknown")
                    return
            if self.canceled_in_store is not None and await self.canceled_in_store(
                row.medusa_order_id
            ):
                await OrderMapping.filter(id=row.id).update(cancel_requested=True)
            if not await self._renew_to_send(row):
                # Canceled in the store, or the lease was lost to another worker.
                await self._canceled(row)
                return
            await self._count_attempt(row)
            order_id = await self.client.create_order(row.payload or {}, wait=True)
            await self._accepted(row, order_id, adopted=False)
        except QikinkRejected as exc:
            if DUPLICATE_ORDER.search(exc.message):
                await self._duplicate(row, number)
            elif PERMANENT_REFUSAL.search(exc.message) or row.attempts >= self.max_attempts:
                await self._failed(row, exc.message)
            else:
                await self._later(row, f"Qikink said: {exc.message}", unknown=True)
        except QikinkUnavailable as exc:
            await self._later(row, exc.message, unknown=exc.outcome_unknown or needs_lookup)
        except RateLimited as exc:
            await self._later(row, exc.message, unknown=needs_lookup)

    async def _duplicate(self, row: OrderMapping, number: str) -> None:
        try:
            found = await find_order_by_number(self.client, number, since=row.created_at)
        except (QikinkUnavailable, RateLimited, QikinkRejected) as exc:
            await self._later(row, f"Duplicate Order; lookup failed: {exc.message}", unknown=True)
            return
        if found is None:
            await self._later(
                row, "Qikink says Duplicate Order but the order was not found yet.", unknown=True
            )
            return
        await self._adopt(row, found, after="duplicate")

    async def _adopt(self, row: OrderMapping, found: dict[str, Any], *, after: str) -> None:
        differ = differences(found, row.payload or {})
        if not differ:
            await self._accepted(row, str(found["order_id"]), adopted=True)
            return
        alert_not_adopted(row, found, differ, after=after)
        key = await install_secret()
        for skip in range(3):  # the next number may be another mapping's (a chance in millions)
            with suppress(IntegrityError):
                fields = not_adopted(row, differ, key, skip=skip)
                await CLAIM.release(self._where(row), self.owner, **fields)
                return
        raise RuntimeError(f"no free Qikink order number after {row.qikink_order_number}")

    async def _count_attempt(self, row: OrderMapping) -> None:
        row.attempts += 1
        await self._mine(row).update(attempts=row.attempts)

    async def _accepted(self, row: OrderMapping, order_id: str, *, adopted: bool) -> None:
        try:
            updated = await CLAIM.release(
                self._where(row),
                self.owner,
                submit_state=SubmitState.DONE,
                status=OrderMappingStatus.SUBMITTED,
                qikink_order_id=order_id,
                qikink_status="On Hold",
                last_error=None,
                next_attempt_at=None,
            )
        except IntegrityError:
            await self._failed(row, f"Qikink order {order_id} is already mapped to another order.")
            return
        if updated:
            self.submitted += 1
            logger.info(
                "order %s %s Qikink order %s (%s)",
                row.medusa_order_id,
                "adopted" if adopted else "created",
                order_id,
                row.qikink_order_number,
            )

    async def _failed(self, row: OrderMapping, message: str) -> None:
        logger.warning("order %s refused by Qikink: %s", row.medusa_order_id, message)
        await CLAIM.release(
            self._where(row),
            self.owner,
            submit_state=SubmitState.FAILED,
            status=OrderMappingStatus.FAILED,
            last_error=message,
            next_attempt_at=None,
        )

    async def _later(self, row: OrderMapping, message: str, *, unknown: bool) -> None:
        delay = backoff(row.attempts, base=self.backoff_base, cap=self.backoff_max)
        logger.info("order %s: %s; retrying in %.0f s", row.medusa_order_id, message, delay)
        await CLAIM.release(
            self._where(row),
            self.owner,
            submit_state=SubmitState.UNKNOWN if unknown else SubmitState.QUEUED,
            last_error=message,
            next_attempt_at=self._now() + timedelta(seconds=delay),
        )
