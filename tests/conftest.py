"""Test harness: one database backend per pytest run (`--db sqlite` or `--db postgres`).

Tortoise binds its model classes to one SQL dialect per process, so `make test` runs the suite
once per backend. On the PostgreSQL run only the tests that use a database are collected. When
PostgreSQL is unreachable those tests are skipped with the reason, unless
`QKG_REQUIRE_POSTGRES=1` (set by `.ci/run`), which turns the skip into a failure.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager

from config import Settings, load_settings
from services.qikink.client import QikinkClient, build_http_client
from services.shared import auth, db
from services.shared.clock import SYSTEM, Clock
from simulator import AppServer, ManualClock, QikinkSimulator, SimulatorServer
from tests.fake_medusa import FakeMedusa
from tests.postgres import ThrowawayDatabase
from web.app import create_app

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator
    from pathlib import Path

    from starlette.applications import Starlette

TEST_JWT_SECRET = "test-secret-" + "x" * 60
# /metrics answers only this bearer token (METRICS_TOKEN) in the tests' servers.
TEST_METRICS_TOKEN = "test-metrics-" + "m" * 20
METRICS_HEADERS = {"authorization": f"Bearer {TEST_METRICS_TOKEN}"}


def series(text: str, name: str) -> float:
    """The value of the series `name` (labels included) in /metrics' `text`; 0 when absent."""
    found = re.search(rf"^{re.escape(name)} ([\d.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


DB_FIXTURES = {
    "postgres_admin_url",
    "make_qikink_client",
    "database_url",
    "connected_db",
    "settings",
    "app",
    "client",
    "admin_headers",
    "admin_key",
}
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db", choices=["sqlite", "postgres"], default="sqlite", help="database backend"
    )
    parser.addoption(
        "--postgres-url",
        default=os.environ.get("QKG_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a PostgreSQL URL whose user may create databases",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--db") != "postgres":
        return
    # The PostgreSQL pass runs what the backend can change: tests on a database, less those
    # marked `any_db` (they hold a database only because the app they serve needs one).
    keep = [
        item
        for item in items
        if DB_FIXTURES & set(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("any_db") is None
    ]
    deselected = [item for item in items if item not in keep]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep


def _postgres_reachable(url: str) -> str | None:
    async def probe() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"PostgreSQL at {url} is unreachable: {exc}"
    return None


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


@pytest.fixture(scope="session")
def postgres_admin_url(request: pytest.FixtureRequest) -> str:
    url = str(request.config.getoption("--postgres-url"))
    problem = _postgres_reachable(url)
    if problem:
        if os.environ.get("QKG_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{problem} (QKG_REQUIRE_POSTGRES=1 forbids skipping)")
        pytest.skip(problem)
    return url


@pytest.fixture(scope="session")
def migrated_database(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database built by the migrations once per run: a SQLite file or a PG database."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite://{path}"
        asyncio.run(db.migrate(url))
        yield url
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    database = ThrowawayDatabase(admin_url, "qkg_test")
    asyncio.run(database.create())
    try:
        asyncio.run(db.migrate(database.url))
        yield database.url
    finally:
        asyncio.run(database.drop())


TABLES = (
    "product_mappings",
    "order_mappings",
    "api_keys",
    "qikink_tokens",
    "qikink_calls",
    "qikink_waiters",
)


@pytest.fixture
async def database_url(backend: str, migrated_database: str, tmp_path: Path) -> str:
    """A migrated, empty database for this test alone."""
    if backend == "sqlite":
        template = migrated_database.removeprefix("sqlite://")
        target = tmp_path / "test.db"
        shutil.copyfile(template, target)
        return f"sqlite://{target}"
    conn = await asyncpg.connect(migrated_database)
    try:
        await conn.execute(f"TRUNCATE {', '.join(TABLES)}, job_state")
    finally:
        await conn.close()
    return migrated_database


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "app_env": "test",
        "database_url": database_url,
        "jwt_secret": TEST_JWT_SECRET,
        "qikink_api_url": "http://qikink.invalid",
        "qikink_client_id": None,
        "qikink_client_secret": None,
        "qikink_publishable_keys": [],
        "graphiql_enabled": None,
        "introspection_enabled": None,
        "cors_origins": [],
        "log_level": "INFO",
        "metrics_token": TEST_METRICS_TOKEN,
        # Background work only where a test asks for it.
        "run_worker": False,
        "sync_interval_seconds": 0,
    }
    values.update(overrides)
    return load_settings(env_file=None, **values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@asynccontextmanager
async def serving(settings: Settings, *, clock: Clock = SYSTEM) -> AsyncIterator[httpx.AsyncClient]:
    """The app built from `settings` (its services reading `clock`), its lifespan running, and
    a client that talks to it."""
    application = create_app(settings, clock=clock)
    async with (
        LifespanManager(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://test"
        ) as http,
    ):
        http.app = application  # type: ignore[attr-defined]
        yield http


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(settings) as http:
        yield http


@pytest.fixture
async def production(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app as a merchant deploys it: APP_ENV=production, its secrets set."""
    settings = make_settings(
        database_url,
        app_env="production",
        jwt_secret="p" * 48,
        qikink_client_id="123456789012345",
        qikink_client_secret="live",
        qikink_publishable_keys=["pk_live_1"],
    )
    async with serving(settings) as http:
        yield http


@pytest.fixture
def app(client: httpx.AsyncClient) -> Starlette:
    """The app behind `client` (its lifespan is running)."""
    return client.app  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
async def admin_key(app: Starlette) -> str:
    _, key = await auth.create_api_key("tests")
    return key


@pytest.fixture
def admin_headers(admin_key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {admin_key}"}


@pytest.fixture
async def connected_db(database_url: str) -> AsyncIterator[str]:
    """This test's database, connected for direct use of services and models."""
    await db.connect_db(database_url)
    try:
        yield database_url
    finally:
        await db.close_db()


@pytest.fixture
def clock() -> ManualClock:
    """One clock for the simulator and the client, moved only by the test."""
    return ManualClock()


@pytest.fixture(scope="session")
def _shared_sim_server() -> Iterator[SimulatorServer]:
    with SimulatorServer(QikinkSimulator()) as server:
        yield server


@pytest.fixture
def sim_server(_shared_sim_server: SimulatorServer, clock: ManualClock) -> SimulatorServer:
    """The Qikink simulator on a real loopback port, fresh for this test and on `clock`."""
    sim = _shared_sim_server.sim
    sim.reset()
    defaults = QikinkSimulator()
    sim.rate_limit_per_minute = defaults.rate_limit_per_minute
    sim.token_expires_in = defaults.token_expires_in
    sim.known_skus = defaults.known_skus
    sim.clock = clock
    return _shared_sim_server


def qikink_settings(database_url: str, server: SimulatorServer, **overrides: Any) -> Settings:
    """Settings that point the app at `server` with the simulator's credentials."""
    values: dict[str, Any] = {
        "qikink_api_url": server.url,
        "qikink_client_id": server.sim.client_id,
        "qikink_client_secret": server.sim.client_secret,
    }
    values.update(overrides)
    return make_settings(database_url, **values)


@pytest.fixture
async def make_qikink_client(
    database_url: str, sim_server: SimulatorServer, clock: ManualClock
) -> AsyncIterator[Callable[..., QikinkClient]]:
    """Build Qikink clients against the simulator, on `clock`; each stands for a process."""
    clients: list[httpx.AsyncClient] = []

    def make(
        *,
        per_minute: int = 30,
        reserve: int = 0,
        storefront: int | None = None,
        timeout: float = 5.0,
        secret: str | None = None,
        url: str = "",
    ) -> QikinkClient:
        http = build_http_client(timeout)
        clients.append(http)
        return QikinkClient(
            http,
            api_url=url or sim_server.url,
            client_id=sim_server.sim.client_id,
            client_secret=secret or sim_server.sim.client_secret,
            rate_limit_per_minute=per_minute,
            rate_reserve=reserve,
            storefront_per_minute=storefront,
            postgres=database_url.startswith("postgres"),
            clock=clock,
        )

    yield make
    for http in clients:
        await http.aclose()


@pytest.fixture
def fake_medusa() -> Iterator[tuple[FakeMedusa, AppServer]]:
    """A fake Medusa Admin API (tests/fake_medusa.py) on a real loopback port."""
    fake = FakeMedusa()
    with AppServer(fake.app) as server:
        yield fake, server
