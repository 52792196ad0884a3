"""``flask applications show ID``: one application, whichever tenant owns it, for the operator.

Read through the audited all-tenants path; prints the owning client, the application as the API
serialises it, and its latest decision.
"""
from __future__ import annotations

from caas.core.cli_output import OperatorGroup, emit_record, show_command, tenant_label
from caas.money import describe

applications_cli = OperatorGroup("applications", help="Credit applications, across tenants (read only).")


def _load(session, application_id) -> dict:
    from caas.credit import applications, decisions

    application = applications.get(session, application_id)
    data = applications.serialise(application)
    data["client_id"] = application.client_id
    decision = decisions.latest_decision(session, application.id)
    data["decision"] = None if decision is None else {
        "outcome": decision.outcome, "grade": decision.grade, "score": decision.score,
        "pd": decision.pd, "model_version": decision.model_version, "reasons": decision.reasons,
        "decided_at": decision.decided_at}
    return data


def _reason(reason) -> str:
    return f"{reason.get('code')}: {reason.get('text', '')}" if isinstance(reason, dict) else str(reason)


def _render(data: dict) -> None:
    amount = describe(data["amount_minor"], data["currency"]) if data["amount_minor"] is not None else None
    decision = data["decision"] or {}
    emit_record({**data, "client": tenant_label(data), "amount": amount,
                 "term": f"{data['term_months']} months" if data["term_months"] else None,
                 "decision": (f"{decision['outcome']} grade {decision['grade'] or '-'} "
                              f"(model {decision['model_version']})") if decision else None,
                 "reasons": "; ".join(_reason(r) for r in data["decision_reasons"]) or None},
                False, labels=[("id", "application"), ("client", "client"), ("status", "status"),
                               ("amount", "amount"), ("term", "term"), ("purpose", "purpose"),
                               ("channel", "channel"), ("borrower_id", "borrower"), ("submitted_at", "submitted"),
                               ("decision", "decision"), ("reasons", "reasons")])


show_command(applications_cli, "application", _load, _render,
             help="An application by id, whichever tenant owns it, with its latest decision.")
