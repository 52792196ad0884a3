"""CaaS domain package: business logic by area. Knows nothing of HTTP requests."""
