"""Events: the transactional outbox (jobs to send, domain events) and, later, webhooks and notices."""
