"""Thin functions between the schema and the services: check input, call, return rows.

A service names a bad value by a path in what it was given (`("items", 1, "quantity")`); the
resolver of a field whose argument that was made of says which (`within("order")`), so the
caller reads `order.items.1.quantity` (spelled by `schema.errors`).

Each runs to its end even when graphql-core cancels its field because another field of the
operation failed (`resolvers.cancellation.uninterrupted`): cut short inside Tortoise, a query can
leave the database connection's lock held, and every later query of the process would hang.
"""

__all__: list[str] = []
