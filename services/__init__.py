"""Domain services: Qikink, the database, orders and auth. Nothing here knows GraphQL."""

__all__: list[str] = []
