"""Thin functions between the schema and the services: check input, call, return rows."""

__all__: list[str] = []
