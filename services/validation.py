"""Input checks shared by every entry point (GraphQL, CLI, the order worker)."""

from __future__ import annotations

from services.errors import InvalidInput

__all__ = ["check_id", "clean_text"]


def clean_text(value: str, *, field: str, label: str, max_length: int) -> str:
    """Trim `value`; refuse it when empty, too long, or containing control characters."""
    cleaned = value.strip()
    if not cleaned:
        raise InvalidInput(f"{label} must not be empty.", field=field)
    if len(cleaned) > max_length:
        raise InvalidInput(f"{label} must be at most {max_length} characters.", field=field)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in cleaned):
        raise InvalidInput(f"{label} must not contain control characters.", field=field)
    return cleaned


def check_id(value: str, *, field: str = "id") -> str:
    """An object id as a caller sent it: non-empty and of a length an id can have."""
    return clean_text(value, field=field, label=field, max_length=255)
