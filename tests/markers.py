"""Markers shared by test modules."""

from __future__ import annotations

import pytest

# `make test` runs the suite once per database; a test about PostgreSQL itself runs once, on
# the PostgreSQL pass (and is reported as skipped, with this reason, on the SQLite pass).
postgres_pass = pytest.mark.skipif(
    "config.getoption('--db') != 'postgres'", reason="runs on the PostgreSQL pass"
)
