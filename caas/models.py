"""Imports every model so that metadata (Alembic, relationships) knows them all."""
from caas.audit.models import AuditEntry  # noqa: F401
from caas.events.models import OutboxMessage  # noqa: F401
from caas.tenancy.models import Client, Provider, User  # noqa: F401
