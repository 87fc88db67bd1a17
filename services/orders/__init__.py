"""Orders: the mappings, the outbox and its worker, adoption, statuses and the status sync."""
