"""Who is calling: Medusa-compatible admin JWTs, admin API keys, storefront publishable keys."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

import jwt
from jwt.warnings import InsecureKeyLengthWarning
from tortoise.exceptions import IntegrityError

from models import ApiKey
from services.shared.clock import SYSTEM, Clock
from services.shared.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from services.shared.validation import clean_text

__all__ = [
    "API_KEY_PREFIX",
    "NOT_AN_ADMIN",
    "REFUSED",
    "Caller",
    "CallerKind",
    "authenticate",
    "create_api_key",
    "hash_api_key",
    "list_api_keys",
    "revoke_api_key",
    "same_secret",
]

API_KEY_PREFIX = "qkg_"
# What every caller hears of refused credentials, whatever was wrong with them: telling an
# expired token from a forged one, or a revoked key from an unknown one, helps only a guesser.
# The reason is kept on the Caller for the log.
REFUSED = "The credentials in Authorization are invalid, expired or revoked."
NOT_AN_ADMIN = "Admin access needs an admin user's token or an API key; this token is neither."
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")


class CallerKind(StrEnum):
    ANONYMOUS = "anonymous"
    STOREFRONT = "storefront"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller of one request."""

    kind: CallerKind
    # "user:<actor_id>" for a JWT, "api_key:<name>" for a key; None when not an admin.
    admin: str | None = None
    # The Medusa customer a store JWT (`actor_type` customer) names; None for anyone else.
    customer_id: str | None = None
    # Why the admin credentials that were sent were refused, reported by admin-only fields.
    auth_error: Unauthenticated | Forbidden | None = None
    # What was wrong with them, for the log only (never the credential itself).
    refused_because: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.kind is CallerKind.ADMIN

    @property
    def may_use_storefront(self) -> bool:
        return self.kind is not CallerKind.ANONYMOUS

    @property
    def customer(self) -> str | None:
        """The signed-in customer of a storefront request (who sent a valid publishable key
        where keys are required); None otherwise."""
        return self.customer_id if self.kind is CallerKind.STOREFRONT else None


def hash_api_key(key: str) -> str:
    # Keys carry 256 random bits, so a plain SHA-256 is enough to make the stored value useless.
    return hashlib.sha256(key.encode()).hexdigest()


JWT_CACHE_SIZE = 1024


class _Refusal(NamedTuple):
    """Why a well-signed token names no admin: raised afresh on each use, since an exception
    raised again would carry every earlier request's traceback (and frames) with it."""

    error: type[Unauthenticated | Forbidden]
    reason: str


class _Refused(Exception):
    """Credentials refused: `error` is what the caller hears, `reason` what the log says."""

    def __init__(self, error: Unauthenticated | Forbidden, reason: str) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason


class _Actor(NamedTuple):
    """Who a well-signed token names: Medusa's `actor_type` (user, customer) and `actor_id`."""

    type: str
    id: str


@lru_cache(maxsize=JWT_CACHE_SIZE)
def _verify_jwt(token: str, secret: str) -> tuple[_Actor | _Refusal, float, float]:
    """The actor a well-signed token names (or why it names none), when it becomes valid and
    when it expires.

    Verifying a signature and parsing claims costs more than the rest of a small query, and an
    admin page sends the same token with every request: the outcome of a good signature is
    kept, keyed by the token and the secret, and `nbf` and `exp` are checked on each use,
    against the service's clock rather than PyJWT's reading of the wall clock. A token that
    fails to verify raises, which is never cached.
    """
    with warnings.catch_warnings():
        # Medusa's development default ("supersecret") is short; production refuses it at
        # start-up, so a warning on every request would say nothing new.
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={
                "require": ["exp"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    try:
        expires_at = float(claims["exp"])
        not_before = float(claims.get("nbf", 0))
    except (TypeError, ValueError):
        raise jwt.DecodeError("exp and nbf must be numbers") from None
    actor_type = claims.get("actor_type")
    if actor_type not in ("user", "customer"):
        reason = f"a token of actor_type {str(actor_type)[:40]!r}"
        return _Refusal(Forbidden, reason), not_before, expires_at
    actor_id = claims.get("actor_id")
    if not isinstance(actor_id, str) or not actor_id.strip():
        return _Refusal(Unauthenticated, "a token without actor_id"), not_before, expires_at
    return _Actor(actor_type, actor_id.strip()), not_before, expires_at


def _refusal(error: type[Unauthenticated | Forbidden], reason: str) -> _Refused:
    message = NOT_AN_ADMIN if error is Forbidden else REFUSED
    return _Refused(error(message), reason)


def _decode_jwt(token: str, secret: str, now: float) -> _Actor:
    try:
        actor, not_before, expires_at = _verify_jwt(token, secret)
    except jwt.InvalidTokenError as exc:
        # The kind of failure (InvalidSignatureError, DecodeError, ...), nothing of the token.
        raise _refusal(Unauthenticated, f"an invalid token ({type(exc).__name__})") from None
    if expires_at <= now:  # as PyJWT decides it, with no leeway
        raise _refusal(Unauthenticated, "an expired token")
    if not_before > now:
        raise _refusal(Unauthenticated, "a token not valid yet")
    if isinstance(actor, _Refusal):
        raise _refusal(actor.error, actor.reason)
    return actor


async def _check_api_key(key: str) -> str:
    row = await ApiKey.get_or_none(key_hash=hash_api_key(key)).only("name", "revoked_at")
    if row is None:
        raise _refusal(Unauthenticated, "an unknown API key")
    if row.revoked_at is not None:
        raise _refusal(Unauthenticated, f"the revoked API key {row.name!r}")
    return f"api_key:{row.name}"


def same_secret(sent: str, expected: str) -> bool:
    """Constant-time equality of two header values as bytes: `hmac.compare_digest` refuses
    str holding anything but ASCII, and a header may hold any byte."""
    return hmac.compare_digest(
        sent.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )


async def authenticate(
    *,
    authorization: str | None,
    publishable_key: str | None,
    jwt_secret: str,
    publishable_keys: list[str],
    clock: Clock = SYSTEM,
) -> Caller:
    """Work out who is calling from the request's headers, at `clock`'s time (the runtime's);
    never raises.

    A Medusa admin's JWT or an API key makes an admin. A Medusa customer's JWT (signed with the
    same secret) names the customer, who is still a storefront caller: a publishable key is
    needed as for anyone else, and admin fields answer FORBIDDEN.
    """
    auth_error: Unauthenticated | Forbidden | None = None
    refused_because: str | None = None
    customer_id: str | None = None
    if authorization:
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        try:
            if scheme.lower() != "bearer" or not credential:
                raise _Refused(
                    Unauthenticated("Send credentials as 'Authorization: Bearer <token>'."),
                    "an Authorization header that is no Bearer credential",
                )
            if credential.startswith(API_KEY_PREFIX):
                return Caller(kind=CallerKind.ADMIN, admin=await _check_api_key(credential))
            actor = _decode_jwt(credential, jwt_secret, clock())
            if actor.type == "user":
                return Caller(kind=CallerKind.ADMIN, admin=f"user:{actor.id}")
            customer_id = actor.id
            auth_error = Forbidden(NOT_AN_ADMIN)
        except _Refused as refused:
            auth_error, refused_because = refused.error, refused.reason
    storefront = not publishable_keys or (
        publishable_key is not None
        # Every key compared, so the time taken says nothing about which one came close.
        and sum(same_secret(publishable_key, key) for key in publishable_keys) > 0
    )
    kind = CallerKind.STOREFRONT if storefront else CallerKind.ANONYMOUS
    return Caller(
        kind=kind,
        customer_id=customer_id,
        auth_error=auth_error,
        refused_because=refused_because,
    )


def _check_name(name: str) -> str:
    name = clean_text(name, field="name", label="API key name", max_length=100)
    if not _NAME_PATTERN.match(name):
        raise InvalidInput("API key names use letters, digits, spaces, '.', '_' and '-'.")
    return name


async def create_api_key(name: str) -> tuple[ApiKey, str]:
    """Store a new key under `name`; returns the row and the key, which is never stored."""
    name = _check_name(name)
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    try:
        row = await ApiKey.create(name=name, key_hash=hash_api_key(key), prefix=key[:12])
    except IntegrityError:
        raise Conflict(f"An API key named {name!r} already exists.") from None
    return row, key


async def list_api_keys() -> list[ApiKey]:
    return await ApiKey.all().order_by("created_at", "id")


async def revoke_api_key(name: str) -> ApiKey:
    row = await ApiKey.get_or_none(name=name.strip())
    if row is None:
        raise NotFound(f"No API key is named {name!r}.")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        await row.save(update_fields=["revoked_at"])
    return row
