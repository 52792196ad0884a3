"""The borrower's own identity check, for the profile page: a lazy template helper, so only the
pages that show it query it."""
from __future__ import annotations

from flask_login import current_user

from blueprints.borrower import bp
from caas.core.extensions import db
from caas.credit import identity, profiles
from caas.credit.identity import records


@bp.context_processor
def identity_helpers() -> dict:
    def identity_check():
        """The check of the signed-in borrower's present details, or None (not checked yet)."""
        if not current_user.is_authenticated:
            return None
        profile = profiles.get(db.session, current_user.id)
        return records.current_for(db.session, profile, identity.fingerprint_key()) if profile else None

    return {"identity_check": identity_check}
