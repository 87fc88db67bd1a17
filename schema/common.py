"""Types shared by every domain of the schema."""

from __future__ import annotations

from enum import Enum

import strawberry

__all__ = ["DeletedPayload", "SortDirection"]


@strawberry.enum(description="Sort direction; ties are always broken by id.")
class SortDirection(Enum):
    ASC = "asc"
    DESC = "desc"

    @property
    def descending(self) -> bool:
        return self is SortDirection.DESC


@strawberry.type(description="The result of a delete.")
class DeletedPayload:
    id: strawberry.ID
    deleted: bool
