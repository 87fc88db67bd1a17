"""Strawberry types the executor tests share: an enum and a permission nobody has."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry.permission import BasePermission

__all__ = ["Colour", "Never"]


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


class Never(BasePermission):
    message = "nobody may"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False
