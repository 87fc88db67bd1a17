"""Input checks shared by every entry point (GraphQL, CLI, the order worker)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from services.shared.errors import InvalidInput

if TYPE_CHECKING:
    from services.shared.errors import FieldPath

__all__ = ["check_filter", "check_id", "clean_text"]

# C0 controls and DEL: one regex search instead of a Python test per character.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_text(value: str, *, field: str | FieldPath, label: str, max_length: int) -> str:
    """Trim `value`; refuse it when empty, too long, or containing control characters."""
    cleaned = value.strip()
    if not cleaned:
        raise InvalidInput(f"{label} must not be empty.", field=field)
    if len(cleaned) > max_length:
        raise InvalidInput(f"{label} must be at most {max_length} characters.", field=field)
    if _CONTROL.search(cleaned):
        raise InvalidInput(f"{label} must not contain control characters.", field=field)
    return cleaned


def check_id(value: str, *, field: str | FieldPath = "id", label: str = "The id") -> str:
    """An object id as a caller sent it: non-empty and of a length an id can have."""
    return clean_text(value, field=field, label=label, max_length=255)


def check_filter(value: str, *, field: str | FieldPath) -> str:
    """A filter's text as a caller sent it (an exact match, kept as it is; one longer than
    any stored value matches nothing): refused with control characters, which no stored
    value holds and PostgreSQL refuses in any query (NUL)."""
    if _CONTROL.search(value):
        raise InvalidInput("A filter value must not contain control characters.", field=field)
    return value
