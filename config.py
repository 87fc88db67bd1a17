"""Settings: the only place that reads the environment (and the `.env` file).

Every value is typed and validated once, at start-up: each on its own, then the rules across
fields (production, secrets, the budget's shares, a writable SQLite file), which a broken one
reports under the variable it names. A bad value stops the process with a
`ConfigError` whose message names the environment variable to fix. Explicit values passed to
`load_settings(...)` (and so to `create_app`) win over the environment.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "DEFAULT_JWT_SECRET",
    "AppEnv",
    "ConfigError",
    "Settings",
    "configure_logging",
    "load_settings",
    "sqlite_file",
    "with_overrides",
]

MIN_METRICS_TOKEN_LENGTH = 16
ADMIN_MAX_BODY_BYTES = 1024 * 1024
# Qikink counts its rate limit over a rolling minute (QIKINK_RATE_WINDOW_SECONDS).
QIKINK_RATE_WINDOW_SECONDS = 60.0
DEFAULT_SQLITE_PATH = Path("data") / "qikink.db"


# Medusa's own fallback secret: a token signed with it proves nothing, so a service that can
# reach a real Qikink account (or runs in production) refuses it.
DEFAULT_JWT_SECRET = "supersecret"
MIN_PRODUCTION_SECRET_LENGTH = 32


class FieldError(ValueError):
    """Raised by cross-field rules so the message can still name one variable."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def http_url(value: str, example: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError(f"must be an http(s) URL such as {example}")
    return value


def is_loopback_url(url: str) -> bool:
    """Whether `url` names this machine (localhost, 127.0.0.0/8, ::1)."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite URL; None for another database or an in-memory one."""
    if not database_url.startswith("sqlite://"):
        return None
    path = database_url.removeprefix("sqlite://").split("?", 1)[0]
    return None if path in {"", ":memory:"} else Path(path)


def _writable(path: Path) -> bool:
    if path.exists():
        return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    return ancestor.is_dir() and os.access(ancestor, os.W_OK)


def _writable_sqlite(settings: Settings) -> None:
    path = sqlite_file(settings.database_url)
    if path is not None and not _writable(path):
        raise FieldError(
            "database_url",
            f"points at {path}, which this process cannot write (SQLite needs the file "
            "and its folder writable)",
        )


def _reserve_fits(settings: Settings) -> None:
    budget = settings.qikink_rate_limit_requests_per_minute
    if budget and settings.rate_reserve >= budget:
        raise FieldError(
            "qikink_rate_reserve",
            f"must be less than QIKINK_RATE_LIMIT_REQUESTS_PER_MINUTE ({budget}), or the "
            "status sync could never run",
        )


def _test_only_window(settings: Settings) -> None:
    """Qikink's window is a minute; a shorter one lets tests see it roll without waiting a
    real minute, and anywhere else would let the service send more than Qikink accepts."""
    window = settings.qikink_rate_window_seconds
    if window != QIKINK_RATE_WINDOW_SECONDS and settings.app_env is not AppEnv.TEST:
        raise FieldError(
            "qikink_rate_window_seconds",
            f"may differ from {QIKINK_RATE_WINDOW_SECONDS:g} only when APP_ENV=test: Qikink "
            "counts its limit over a minute, and a shorter window would overrun it",
        )


def _storefront_share(settings: Settings) -> None:
    budget = settings.qikink_rate_limit_requests_per_minute
    if (
        settings.storefront_qikink_proxy
        and budget
        and settings.qikink_storefront_calls_per_minute >= budget
    ):
        raise FieldError(
            "qikink_storefront_calls_per_minute",
            f"must be less than QIKINK_RATE_LIMIT_REQUESTS_PER_MINUTE ({budget}) when "
            "STOREFRONT_QIKINK_PROXY is on, so storefronts cannot use the whole budget "
            "that paid orders need",
        )


def _why_production(settings: Settings) -> str:
    """Why the production rules hold, as the message of a broken one says it."""
    if settings.is_production:
        return "when APP_ENV=production"
    return (
        "when Qikink credentials (QIKINK_CLIENT_ID, QIKINK_CLIENT_SECRET) are set, whatever "
        "APP_ENV says"
    )


def _proxy_needs_keys(settings: Settings) -> None:
    """The opened proxy lists every customer's name, phone and address and creates orders on
    the merchant's wallet: never for anyone who asks, in any APP_ENV."""
    if settings.storefront_qikink_proxy and not settings.qikink_publishable_keys:
        raise FieldError(
            "qikink_publishable_keys",
            "is required when STOREFRONT_QIKINK_PROXY=true (in every APP_ENV): without a "
            "publishable key anyone could list your customers' orders and create orders on "
            "your Qikink wallet",
        )


def _strong_secret(settings: Settings) -> None:
    """Whoever knows JWT_SECRET signs admin tokens: once the service can act on a Qikink
    account or a Medusa backend (or runs in production), a guessable secret hands them out."""
    if settings.production_rules or settings.has_qikink_credentials:
        when = _why_production(settings)
    elif settings.medusa_backend_url is not None:
        when = "when MEDUSA_BACKEND_URL is set"
    else:
        return
    secret = settings.jwt_secret.get_secret_value()
    if secret == DEFAULT_JWT_SECRET or len(secret) < MIN_PRODUCTION_SECRET_LENGTH:
        raise FieldError(
            "jwt_secret",
            f"must be set to a secret of at least {MIN_PRODUCTION_SECRET_LENGTH} characters "
            f"(not the default) {when}: anyone knowing a weak secret could forge admin "
            "tokens",
        )


def _production_rules(settings: Settings) -> None:
    if not settings.production_rules:
        return
    if settings.is_production:
        for name in ("qikink_client_id", "qikink_client_secret"):
            if getattr(settings, name) is None:
                raise FieldError(name, "is required when APP_ENV=production")
    if not settings.qikink_publishable_keys:
        raise FieldError(
            "qikink_publishable_keys",
            f"is required {_why_production(settings)}: without a publishable key anyone may "
            "call the storefront fields",
        )


# In this order: a set of settings that breaks several rules is told of the first.
_RULES: tuple[Callable[[Settings], None], ...] = (
    _writable_sqlite,
    _reserve_fits,
    _test_only_window,
    _storefront_share,
    _proxy_needs_keys,
    _strong_secret,
    _production_rules,
)


def check_settings(settings: Settings) -> None:
    """Raise `FieldError` for the first cross-field rule `settings` breaks."""
    for rule in _RULES:
        rule(settings)


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the environment variable."""


class AppEnv(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Typed service settings; field `foo_bar` is read from the variable `FOO_BAR`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", validate_default=True
    )

    app_env: AppEnv = AppEnv.DEVELOPMENT
    database_url: str = ""
    jwt_secret: SecretStr = SecretStr(DEFAULT_JWT_SECRET)

    qikink_api_url: str = "https://sandbox.qikink.com"
    qikink_client_id: str | None = None
    qikink_client_secret: SecretStr | None = None
    qikink_rate_limit_requests_per_minute: int = Field(default=30, ge=0, le=10_000)
    # Calls of every window the status sync leaves to paid orders and people (unset: a fifth
    # of the budget; 0: none).
    qikink_rate_reserve: int | None = Field(default=None, ge=0, le=10_000)
    # The length of the budget's rolling window: Qikink's minute, shorter only under APP_ENV=test.
    qikink_rate_window_seconds: float = Field(default=QIKINK_RATE_WINDOW_SECONDS, gt=0, le=3600)
    qikink_publishable_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The Qikink proxy fields are the merchant's: storefronts reach them only when opened,
    # and then within their own share of the budget.
    storefront_qikink_proxy: bool = False
    qikink_storefront_calls_per_minute: int = Field(default=5, ge=1, le=10_000)
    qikink_timeout_seconds: float = Field(default=20.0, gt=0, le=300)

    # Orders: the Qikink order number prefix, the outbox worker and the status sync.
    qikink_order_number_prefix: str = "MD"
    run_worker: bool = True
    worker_poll_seconds: float = Field(default=2.0, gt=0, le=300)
    submit_lease_seconds: float = Field(default=120.0, ge=1, le=3600)
    submit_backoff_base_seconds: float = Field(default=5.0, gt=0, le=3600)
    submit_backoff_max_seconds: float = Field(default=900.0, gt=0, le=86_400)
    submit_max_attempts: int = Field(default=8, ge=1, le=100)
    sync_interval_seconds: float = Field(default=900.0, ge=0, le=86_400)

    # The Medusa backend whose placed orders are swept for any the subscriber missed.
    medusa_backend_url: str | None = None
    medusa_api_key: SecretStr | None = None
    reconcile_interval_seconds: float = Field(default=600.0, ge=0, le=86_400)
    reconcile_overlap_seconds: float = Field(default=600.0, ge=0, le=86_400)
    reconcile_max_orders: int = Field(default=500, ge=1, le=10_000)
    # Qikink's progress written back to the Medusa order (fulfillment, shipment, delivery):
    # the fulfillment is made when a mapping reaches MEDUSA_FULFILL_AT, from the stock
    # location given (else the one of the order's shipping option).
    medusa_fulfillment_sync: bool = True
    medusa_fulfill_at: Literal["SHIPPED", "IN_PRODUCTION"] = "SHIPPED"
    medusa_stock_location_id: str | None = None

    # How long a storefront's GET answer may be reused (Cache-Control max-age, and this
    # process's micro-cache of public answers); 0 = never.
    storefront_cache_seconds: int = Field(default=5, ge=0, le=300)

    # The largest request body from a caller without admin credentials (an admin may send
    # ADMIN_MAX_BODY_BYTES): room for a storefront's order of 100 line items, no more.
    storefront_max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=ADMIN_MAX_BODY_BYTES)
    # /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it is not served.
    metrics_token: SecretStr | None = None

    graphiql_enabled: bool | None = None
    introspection_enabled: bool | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return f"sqlite://{DEFAULT_SQLITE_PATH.resolve()}"
        if value.startswith("postgresql://"):
            value = "postgres://" + value.removeprefix("postgresql://")
        if not re.match(r"^(sqlite|postgres|asyncpg|psycopg)://", value):
            raise ValueError(
                "must be a Tortoise URL such as sqlite:///abs/path.db or "
                "postgres://user@host:5432/db"
            )
        return value

    @field_validator(
        "qikink_client_id",
        "qikink_client_secret",
        "medusa_backend_url",
        "medusa_api_key",
        "metrics_token",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # `FOO=` in a .env file or a deployment template means "not set", not an empty value.
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text is None or (isinstance(text, str) and not text.strip()):
            return None
        return text.strip() if isinstance(text, str) else value

    @field_validator("qikink_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        # Qikink's paths start at /api; a pasted base URL ending in /v1 is a known mistake.
        value = re.sub(r"/v1$", "", value.strip().rstrip("/")).rstrip("/")
        return http_url(value, "https://sandbox.qikink.com")

    @field_validator("medusa_backend_url")
    @classmethod
    def _medusa_url(cls, value: str | None) -> str | None:
        return None if value is None else http_url(value.rstrip("/"), "http://127.0.0.1:9000")

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_METRICS_TOKEN_LENGTH:
            raise ValueError(
                f"must be at least {MIN_METRICS_TOKEN_LENGTH} characters: it is all that "
                "keeps the metrics from anyone who asks"
            )
        return value

    @field_validator("qikink_publishable_keys", "cors_origins", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return split_csv(value)

    @field_validator("qikink_order_number_prefix")
    @classmethod
    def _order_prefix(cls, value: str) -> str:
        value = value.strip()
        # Order numbers are at most 15 letters and digits; leave room for the store's number.
        if not re.fullmatch(r"[A-Za-z0-9]{0,6}", value):
            raise ValueError("must be 0-6 letters or digits")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Settings:
        check_settings(self)
        return self

    @property
    def is_production(self) -> bool:
        return self.app_env is AppEnv.PRODUCTION

    @property
    def has_qikink_credentials(self) -> bool:
        return bool(self.qikink_client_id and self.qikink_client_secret)

    @property
    def has_real_qikink(self) -> bool:
        """Credentials for a Qikink that is not on this machine: a real account, whose
        customers' details and wallet the service can reach. A QIKINK_API_URL on a loopback
        address is a local simulator or test double."""
        return self.has_qikink_credentials and not is_loopback_url(self.qikink_api_url)

    @property
    def production_rules(self) -> bool:
        """The production rules hold: APP_ENV=production, or a real Qikink account whatever
        APP_ENV says (a forgotten APP_ENV must not open a live account to anyone)."""
        return self.is_production or self.has_real_qikink

    @property
    def graphiql(self) -> bool:
        if self.graphiql_enabled is not None:
            return self.graphiql_enabled
        return not self.production_rules

    @property
    def introspection(self) -> bool:
        if self.introspection_enabled is not None:
            return self.introspection_enabled
        return not self.production_rules

    @property
    def suggestions(self) -> bool:
        """ "Did you mean" in errors names schema fields and values: a slice of what
        introspection tells, so it follows INTROSPECTION_ENABLED."""
        return self.introspection

    @property
    def rate_reserve(self) -> int:
        """Calls of each window the status sync must leave free (0 with no budget)."""
        budget = self.qikink_rate_limit_requests_per_minute
        if not budget:
            return 0
        return budget // 5 if self.qikink_rate_reserve is None else self.qikink_rate_reserve

    @property
    def uses_simulator(self) -> bool:
        """No Qikink credentials outside production: run against the built-in simulator."""
        return not self.has_qikink_credentials and not self.is_production

    @property
    def has_medusa(self) -> bool:
        return bool(self.medusa_backend_url and self.medusa_api_key)

    @property
    def guards_simulator(self) -> bool:
        """The built-in simulator's HTTP face needs admin credentials: beside a Medusa
        backend, what it is told (a tracking link, say) reaches real customers."""
        return self.medusa_backend_url is not None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite://")

    @property
    def access_log(self) -> bool:
        """uvicorn's line per HTTP request follows LOG_LEVEL: on at INFO and DEBUG only."""
        return logging.getLevelName(self.log_level) <= logging.INFO


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(settings: Settings) -> None:
    """Send the service's log records to stderr at LOG_LEVEL, once per process (every uvicorn
    worker is a process of its own); a process whose logging is set up already is left as is."""
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)


def _variable(loc: tuple[int | str, ...]) -> str:
    return str(loc[0]).upper() if loc else "settings"


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Read settings from the environment and `env_file`; `overrides` win over both."""
    try:
        return Settings(_env_file=env_file, **overrides)
    except ValidationError as exc:
        raise _config_error(exc) from None


def with_overrides(settings: Settings, **overrides: Any) -> Settings:
    """`settings` with `overrides` (field names) on top, held to every rule the environment
    is: a value no variable could take is refused the same way, naming the variable."""
    unknown = sorted(name for name in overrides if name not in Settings.model_fields)
    if unknown:
        names = ", ".join(name.upper() for name in unknown)
        raise ConfigError(f"Invalid configuration: {names}: no such setting")
    try:
        return Settings.model_validate({**settings.model_dump(), **overrides})
    except ValidationError as exc:
        raise _config_error(exc) from None


def _config_error(exc: ValidationError) -> ConfigError:
    """One message naming every variable that is wrong and why."""
    problems = []
    for error in exc.errors():
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):
            problems.append(f"{cause.field.upper()} {cause.message}")
            continue
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{_variable(error['loc'])}: {message}")
    return ConfigError("Invalid configuration: " + "; ".join(problems))
