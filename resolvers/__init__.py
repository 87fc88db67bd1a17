"""Thin functions between the schema and the services: check input, call, return rows.

Each runs to its end even when graphql-core cancels its field because another field of the
operation failed (`services.db.uninterrupted`): cut short inside Tortoise, a query can leave the
database connection's lock held, and every later query of the process would hang.
"""

__all__: list[str] = []
