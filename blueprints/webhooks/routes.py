from __future__ import annotations

import logging
from datetime import datetime, timezone

from flask import abort, jsonify, request

from blueprints.webhooks import bp
from caas.core.extensions import db
from caas.payments import payouts, service
from caas.payments.gateways import InvalidSignature

log = logging.getLogger(__name__)


@bp.route("/<gateway>", methods=["POST"])
def inbound(gateway: str):
    """Verify the gateway's signature over the raw body, record the event once, apply it to its
    payout. A bad signature is 400, logged, and changes nothing."""
    router = service.router()
    if gateway not in router.gateways:
        abort(404)
    body = request.get_data(cache=False)
    try:
        event = router.gateway(gateway).parse_webhook(request.headers, body)
    except InvalidSignature as exc:
        log.warning("gateway webhook with a bad signature", extra={"gateway": gateway, "error": str(exc)})
        return jsonify({"error": {"code": "invalid_signature", "message": "The signature does not match."}}), 400
    except (ValueError, KeyError) as exc:
        log.warning("gateway webhook we cannot read", extra={"gateway": gateway, "error": str(exc)})
        return jsonify({"error": {"code": "invalid_payload", "message": "The body is not a known event."}}), 400
    outcome = payouts.handle_webhook(db.session, event, datetime.now(timezone.utc))
    return jsonify({"received": True, "outcome": outcome})
