"""The plumbing the services share: database, leases, clock, background tasks, metrics,
paging, domain errors, validation, the install secret and authentication."""
