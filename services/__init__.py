"""Domain services, nothing of GraphQL or HTTP: `qikink` (the client, token, budget, the orders
it is sent and read), `medusa` (its client, the write-back, the sweep), `orders` (the mappings,
the outbox and its worker, statuses and the sync), `shared` (the plumbing they share) and
`runtime` (what a process owns of them)."""

__all__: list[str] = []
