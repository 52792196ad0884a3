"""SMS: the gateway interface and the sandbox gateway.

A gateway sends one text and returns its id for the message. The sandbox sends nothing: it records
the message in ``sms_messages`` in the caller's transaction, so the row and the "sent" mark of the
notification commit together (tests and the development console read the table). A real gateway
(Twilio, Africa's Talking, Termii…) implements the same ``send`` and ignores the session.
"""
from __future__ import annotations

import uuid
from typing import Protocol

from sqlalchemy.orm import Session

from caas.events.models import SmsMessage


class SmsGateway(Protocol):
    name: str

    def send(self, session: Session, *, to: str, body: str, client_id: uuid.UUID | None, reference: str) -> str:
        """Send ``body`` to ``to`` (E.164); return the gateway's id for it. Raise to have it retried."""


class SandboxSms:
    name = "sandbox"

    def send(self, session: Session, *, to: str, body: str, client_id: uuid.UUID | None, reference: str) -> str:
        if client_id is None:
            raise ValueError("the sandbox records SMS of a tenant's borrowers only")
        row = SmsMessage(id=uuid.uuid4(), client_id=client_id, to_phone=to, body=body, reference=reference)
        session.add(row)
        session.flush()
        return f"sandbox-{row.id}"


GATEWAYS: dict[str, type] = {"sandbox": SandboxSms}


def gateway(name: str | None = None) -> SmsGateway:
    """The configured gateway (``SMS_BACKEND``; the sandbox by default)."""
    if name is None:
        from flask import current_app, has_app_context

        name = current_app.config.get("SMS_BACKEND", "sandbox") if has_app_context() else "sandbox"
    try:
        return GATEWAYS[name]()
    except KeyError:
        raise ValueError(f"unknown SMS backend {name!r}; known: {', '.join(GATEWAYS)}") from None
