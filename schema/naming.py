"""Python names to GraphQL names (snake_case to camelCase), each worked out once.

Strawberry converts the name of every argument of a resolved field on every request; the names
are the schema's own, so a cache of them is bounded and never stale.
"""

from __future__ import annotations

from functools import cache

from strawberry.schema.name_converter import NameConverter

__all__ = ["CachedNameConverter", "camel_case"]


def camel_case(name: str) -> str:
    """A Python name as GraphQL spells it, as Strawberry's `auto_camel_case` does:
    `line_items` is `lineItems`, and a doubled underscore keeps one (`a__b` is `a_B`)."""
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() if part else "_" for part in rest)


_camel_case = cache(camel_case)


class CachedNameConverter(NameConverter):
    """Strawberry's name converter, remembering each conversion."""

    def apply_naming_config(self, name: str) -> str:
        return _camel_case(name) if self.auto_camel_case else name
