"""Tortoise models; aerich migrations live in `models/migrations/`."""

from __future__ import annotations

from models.api_key import ApiKey
from models.install_secret import InstallSecret
from models.job_state import JobState
from models.order_mapping import (
    FINAL_STATUSES,
    MedusaSyncedState,
    OrderMapping,
    OrderMappingStatus,
    SubmitState,
)
from models.product_mapping import ProductMapping
from models.qikink import QikinkCall, QikinkToken, QikinkWaiter

__all__ = [
    "FINAL_STATUSES",
    "ApiKey",
    "InstallSecret",
    "JobState",
    "MedusaSyncedState",
    "OrderMapping",
    "OrderMappingStatus",
    "ProductMapping",
    "QikinkCall",
    "QikinkToken",
    "QikinkWaiter",
    "SubmitState",
]
