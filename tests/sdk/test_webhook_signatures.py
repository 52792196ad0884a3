"""The SDK's verifier is written apart from the app's signer (a client copies it); here it checks
deliveries exactly as the app signs them, and the `caas webhooks verify` command does too."""
from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from caas.events import signing
from caas_sdk import webhooks
from caas_sdk.cli import main
from caas_sdk.webhooks import WebhookVerificationError

OLD, NEW = "whsec_" + "a" * 40, "whsec_" + "b" * 40
ENVELOPE = {"id": "evt_3f0c2b8e6a1d4c0f9b7e5a3c1d2e4f60", "type": "credit.application.submitted",
            "created": 1_795_449_600, "client_id": "0c7e", "data": {"object": "application", "amount": "250000.00",
                                                                    "legal_name": "Adaèze Ókoro"}}


def delivery(secrets, timestamp=None):
    body = signing.body_bytes(ENVELOPE)
    return body, signing.header_value(body, secrets, int(timestamp or time.time()))


def test_a_delivery_signed_by_the_app_verifies_and_gives_the_event():
    body, header = delivery([OLD])
    assert webhooks.verify(body, header, OLD) == ENVELOPE


def test_during_a_rotation_either_secret_verifies():
    body, header = delivery([NEW, OLD])
    assert webhooks.verify(body, header, OLD)["id"] == ENVELOPE["id"]
    assert webhooks.verify(body, header, NEW)["id"] == ENVELOPE["id"]


def test_a_tampered_body_a_wrong_secret_and_an_old_delivery_are_refused():
    body, header = delivery([OLD])
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(body.replace(b"250000.00", b"950000.00"), header, OLD)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(body, header, NEW)
    body, header = delivery([OLD], timestamp=time.time() - 600)
    with pytest.raises(WebhookVerificationError, match="tolerance 300"):
        webhooks.verify(body, header, OLD)


def test_the_command_verifies_a_delivery_and_exits_1_on_a_bad_one(tmp_path):
    body, header = delivery([OLD])
    path = tmp_path / "body.json"
    path.write_bytes(body)
    runner = CliRunner()
    ok = runner.invoke(main, ["webhooks", "verify", "--secret", OLD, "--header", header, "--body-file", str(path),
                              "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output) == {"valid": True, "event": ENVELOPE}
    human = runner.invoke(main, ["webhooks", "verify", "--secret", OLD, "--header", header, "--body-file", str(path)])
    assert human.output.strip() == f"Valid signature: credit.application.submitted {ENVELOPE['id']}"
    bad = runner.invoke(main, ["webhooks", "verify", "--secret", NEW, "--header", header, "--body-file", str(path)])
    assert bad.exit_code == 1 and "No signature matches the secret." in bad.output
