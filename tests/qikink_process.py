"""What a process of its own holds to call Qikink as the service does: the database
connected and one Qikink client. Used by a test's child processes (tests/budget_worker.py)
and by the benches that drive the client in process."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from services.qikink.client import QikinkClient, build_http_client
from services.shared import db

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["connected_qikink_client"]


@contextlib.asynccontextmanager
async def connected_qikink_client(
    database_url: str,
    *,
    api_url: str,
    client_id: str,
    client_secret: str,
    per_minute: int,
    http_timeout: float = 20.0,
) -> AsyncIterator[QikinkClient]:
    """This process connected to `database_url` and a client of the Qikink at `api_url`
    allowed `per_minute` calls (0: no budget), each reply awaited `http_timeout` s at most;
    both closed when the block ends."""
    await db.connect_db(database_url)
    http = build_http_client(http_timeout)
    try:
        yield QikinkClient(
            http,
            api_url=api_url,
            client_id=client_id,
            client_secret=client_secret,
            rate_limit_per_minute=per_minute,
            postgres=db.is_postgres(database_url),
        )
    finally:
        await http.aclose()
        await db.close_db()
