"""A job used by the tests: reports the tenant it ran under and the borrowers it could see."""
from sqlalchemy import select

from caas.core import tenant
from caas.core.extensions import db
from caas.tenancy.models import Role, User


def record_tenant(*_args):
    borrowers = db.session.scalars(select(User.id).where(User.role == Role.borrower)).all()
    client_id = tenant.current_client_id()
    return {"tenant": str(client_id) if client_id else None, "borrowers": sorted(str(b) for b in borrowers)}
