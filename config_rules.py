"""What a set of settings must hold across its fields, and the checks of single values that
need no environment: `config.Settings` runs them, and `load_settings` reports a broken one
under the variable it names."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable

    from config import Settings

__all__ = [
    "DEFAULT_JWT_SECRET",
    "FieldError",
    "check_settings",
    "http_url",
    "is_loopback_url",
    "split_csv",
    "sqlite_file",
]

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
    _storefront_share,
    _proxy_needs_keys,
    _strong_secret,
    _production_rules,
)


def check_settings(settings: Settings) -> None:
    """Raise `FieldError` for the first cross-field rule `settings` breaks."""
    for rule in _RULES:
        rule(settings)
