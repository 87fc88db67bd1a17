"""The `qikink-graphql` command line: the service's commands and the admin's."""

from __future__ import annotations

from cli.commands import main

__all__ = ["main"]
