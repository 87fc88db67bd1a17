"""`updated_at` moves on every write, `.update()` included.

Tortoise sets an `auto_now` field in `save()` only; a queryset's `.update()` (how every status,
tracking and submission change is written: conditional, one statement) leaves it as it was, so
`updatedAt`, `order: UPDATED_AT` and anything that detects a change by it would be wrong.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from tortoise import timezone
from tortoise.fields import DatetimeField
from tortoise.manager import Manager
from tortoise.models import Model
from tortoise.queryset import QuerySet, UpdateQuery

__all__ = ["StampedManager"]

M = TypeVar("M", bound=Model)


class StampedQuerySet(QuerySet[M]):
    """A queryset whose `.update()` also sets the model's `auto_now` fields."""

    def update(self, **kwargs: Any) -> UpdateQuery:
        for name in _auto_now_fields(self.model):
            kwargs.setdefault(name, timezone.now())
        return super().update(**kwargs)


@functools.cache
def _auto_now_fields(model: type[Model]) -> tuple[str, ...]:
    # Model.describe is Tortoise's public account of a model's fields.
    return tuple(
        field["name"]
        for field in model.describe(serializable=False)["data_fields"]
        if issubclass(field["field_type"], DatetimeField) and field.get("auto_now")
    )


class StampedManager(Manager):
    """The manager of a model with an `updated_at` (`Meta.manager = StampedManager()`)."""

    def get_queryset(self) -> QuerySet[Any]:
        # Tortoise's documented override, and the model its queryset is for.
        return StampedQuerySet(super().get_queryset().model)
