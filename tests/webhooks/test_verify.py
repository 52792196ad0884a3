"""The shipped verifier (pure), and the Python and JavaScript snippets of docs/webhooks.md, against
signatures made by the sending side."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from caas.events import signing
from caas.events.verify import SignatureVerificationError, construct_event, parse_header, verify_header

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
NEW, OLD = "whsec_new-secret", "whsec_old-secret"
BODY = signing.body_bytes({"id": "evt_1", "type": "caas.test", "created": 1, "client_id": "c", "data": {"x": "é"}})


def signed(secrets=(NEW,), at: int | None = None, body: bytes = BODY) -> str:
    return signing.header_value(body, list(secrets), int(time.time()) if at is None else at)


def test_accepts_a_good_signature_and_returns_the_event():
    assert construct_event(BODY, signed(), NEW) == json.loads(BODY)
    assert construct_event(BODY.decode(), signed(), NEW)["data"] == {"x": "é"}


def test_rotation_header_verifies_with_either_secret():
    header = signed((NEW, OLD))
    assert header.count(",v1=") == 2
    for secret in (NEW, OLD, ["whsec_unrelated", OLD]):
        verify_header(BODY, header, secret)


@pytest.mark.parametrize("body, header, secret, message", [
    (BODY + b" ", None, NEW, "no signature matches"),  # body changed
    (BODY, None, "whsec_wrong", "no signature matches"),
    (BODY, "", NEW, "missing"),
    (BODY, "v1=abc", NEW, "no timestamp"),
    (BODY, "t=123", NEW, "no v1"),
    (BODY, "t=abc,v1=00", NEW, "malformed timestamp"),
    (BODY, "t=%(now)s,v1=zz-not-hex-ü", NEW, "no signature matches"),
    (BODY, "t=%(now)s,v0=%(v1)s", NEW, "no v1"),  # an unknown scheme is ignored, not trusted
])
def test_refuses_bad_signatures(body, header, secret, message):
    now = int(time.time())
    good = signing.signature(NEW, now, BODY)
    header = signed() if header is None else header % {"now": now, "v1": good}
    with pytest.raises(SignatureVerificationError, match=message):
        verify_header(body, header, secret)


def test_timestamp_tolerance_is_5_minutes_both_ways():
    now = 1_800_000_000
    for skew in (-300, 0, 300):
        verify_header(BODY, signed(at=now + skew), NEW, now=now)
    for skew in (-301, 301, -86400):
        with pytest.raises(SignatureVerificationError, match="tolerance"):
            verify_header(BODY, signed(at=now + skew), NEW, now=now)


def test_header_parsing_tolerates_spaces_and_keeps_every_v1():
    assert parse_header(" t=5 , v1=aa,v1=bb ,x=1") == (5, ["aa", "bb"])


def test_no_secret_is_an_error_not_a_pass():
    with pytest.raises(SignatureVerificationError):
        verify_header(BODY, signed(), [])


def _block(language: str, marker: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)
    return next(b for b in blocks if marker in b)


def test_the_python_snippet_in_the_docs_verifies():
    scope: dict = {}
    exec(_block("python", "def verify_caas_signature"), scope)  # noqa: S102 (our own docs)
    check = scope["verify_caas_signature"]
    header = signed((NEW, OLD))
    assert check(BODY, header, OLD) and check(BODY, header, NEW)
    assert not check(BODY + b"x", header, NEW)
    assert not check(BODY, signed(at=int(time.time()) - 600), NEW)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_javascript_snippet_in_the_docs_verifies(tmp_path):
    script = tmp_path / "verify.js"
    script.write_text(_block("js", "function verifyCaasSignature") + """
const [body, header, secret] = process.argv.slice(2);
try { const event = verifyCaasSignature(Buffer.from(body, "base64"), header, JSON.parse(secret));
      console.log(JSON.stringify({ ok: true, id: event.id })); }
catch (err) { console.log(JSON.stringify({ ok: false, error: err.message })); }
""")
    import base64

    def run(body: bytes, header: str, secret) -> dict:
        out = subprocess.run(["node", str(script), base64.b64encode(body).decode(), header, json.dumps(secret)],
                             capture_output=True, text=True, timeout=30, check=True)
        return json.loads(out.stdout)

    header = signed((NEW, OLD))
    assert run(BODY, header, OLD) == {"ok": True, "id": "evt_1"}
    assert run(BODY, header, [NEW]) == {"ok": True, "id": "evt_1"}
    assert run(BODY + b" ", header, NEW)["error"] == "no signature matches"
    assert run(BODY, signed(at=int(time.time()) - 301), NEW)["error"] == "timestamp outside the tolerance"
    assert run(BODY, "t=1", NEW)["error"] == "malformed CaaS-Signature"
