"""Python names to GraphQL names (snake_case to camelCase), each worked out once.

Strawberry converts the name of every argument of a resolved field on every request; the names
are the schema's own, so a cache of them is bounded and never stale.
"""

from __future__ import annotations

from functools import cache

from strawberry.schema.name_converter import NameConverter
from strawberry.utils.str_converters import to_camel_case

__all__ = ["CachedNameConverter"]

_camel_case = cache(to_camel_case)


class CachedNameConverter(NameConverter):
    """Strawberry's name converter, remembering each conversion."""

    def apply_naming_config(self, name: str) -> str:
        return _camel_case(name) if self.auto_camel_case else name
