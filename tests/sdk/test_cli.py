"""`caas`, the installed console script, run as a subprocess against the live app with a real key:
login, apply, status (and --watch following a change live), offers, accept, providers, loans,
usage; tables by default, parseable --json, and the API's message with a non-zero exit on errors."""
from __future__ import annotations

import json
import stat
import subprocess
import time
from pathlib import Path

from caas_sdk import CaaS
from tests.sdk.conftest import CAAS, bid, good_applicant, score


def caas(env, *args, check=True, input=None) -> subprocess.CompletedProcess:
    done = subprocess.run([CAAS, *args], env=env, capture_output=True, text=True, timeout=60, input=input)
    if check:
        assert done.returncode == 0, (done.stdout, done.stderr)
    return done


def applicant_file(tmp_path: Path, **overrides) -> str:
    path = tmp_path / "applicant.json"
    path.write_text(json.dumps({"applicant": good_applicant(**overrides),
                                "consents": {"data_processing": True, "credit_check": True}}))
    return str(path)


APPLY = ["credit", "apply", "--amount", "50000", "--currency", "NGN", "--term", "12", "--purpose",
         "business expansion"]


def test_login_checks_the_key_and_remembers_it_for_later_commands(world, cli_env, tmp_path):
    env = {k: v for k, v in cli_env.items() if k not in ("CAAS_API_KEY", "CAAS_BASE_URL")}
    refused = caas(env, "login", "--api-key", "caas_live_aaaaaaaaaaaa_" + "0" * 48, "--base-url", world.url,
                   check=False)
    assert refused.returncode == 1 and "HTTP 401" in refused.stderr
    assert not (tmp_path / "config" / "caas" / "credentials.json").exists()
    done = caas(env, "login", "--api-key", world.key, "--base-url", world.url)
    assert "Logged in to" in done.stdout and "live key" in done.stdout
    saved = tmp_path / "config" / "caas" / "credentials.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    listed = json.loads(caas(env, "credit", "providers", "--json").stdout)  # no key in the environment now
    assert {p["id"] for p in listed} == {str(world.lender_id), str(world.ghana_lender_id)}
    assert caas(env, "logout").stdout.strip() == "Forgot the saved key."
    assert "No API key" in caas(env, "credit", "providers", check=False).stderr


def test_apply_then_status_as_a_table_and_as_json(world, cli_env, tmp_path):
    done = caas(cli_env, *APPLY, "--applicant", applicant_file(tmp_path), "--json")
    created = json.loads(done.stdout)
    assert (created["status"], created["amount"], created["term_months"]) == ("submitted", "50000.00", 12)
    table = caas(cli_env, "credit", "status", created["id"]).stdout
    assert f"id                  {created['id']}" in table and "amount              50000.00 NGN" in table
    assert json.loads(caas(cli_env, "credit", "status", created["id"], "--json").stdout)["id"] == created["id"]


def test_the_same_idempotency_key_twice_gives_the_same_application(world, cli_env, tmp_path):
    path = applicant_file(tmp_path)
    first = json.loads(caas(cli_env, *APPLY, "--applicant", path, "--idempotency-key", "cli-7", "--json").stdout)
    again = json.loads(caas(cli_env, *APPLY, "--applicant", path, "--idempotency-key", "cli-7", "--json").stdout)
    assert first["id"] == again["id"]


def test_api_errors_exit_1_with_the_apis_message_and_every_field(world, cli_env, tmp_path):
    done = caas(cli_env, *APPLY, "--applicant", applicant_file(tmp_path, national_id="123"), check=False)
    assert done.returncode == 1
    assert "Enter an 11-digit BVN or NIN" in done.stderr or "applicant.national_id" in done.stderr
    as_json = caas(cli_env, *APPLY, "--applicant", applicant_file(tmp_path, national_id="123"), "--json", check=False)
    error = json.loads(as_json.stdout)["error"]
    assert as_json.returncode == 1 and error["code"] == "validation_failed" and error["status"] == 422
    assert "applicant.national_id" in {f["field"] for f in error["fields"]}
    missing = caas(cli_env, "credit", "status", "00000000-0000-0000-0000-000000000000", check=False)
    assert missing.returncode == 1 and "HTTP 404" in missing.stderr
    # no consents in the file and none given: the API's message, not a silent assumption
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(good_applicant()))
    refused = caas(cli_env, *APPLY, "--applicant", str(bare), check=False)
    assert refused.returncode == 1 and "consent is required" in refused.stderr
    given = caas(cli_env, *APPLY, "--applicant", str(bare), "--consent", "data_processing", "--consent",
                 "credit_check", "--json")
    assert json.loads(given.stdout)["status"] == "submitted"


def test_watch_follows_the_status_live_until_it_settles(world, cli_env, tmp_path):
    created = json.loads(caas(cli_env, *APPLY, "--applicant", applicant_file(tmp_path), "--json").stdout)
    watcher = subprocess.Popen([CAAS, "credit", "status", created["id"], "--watch", "--interval", "0.2",
                                "--timeout", "30", "--json"], env=cli_env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    first = json.loads(watcher.stdout.readline())  # printed at once
    assert first["status"] == "submitted"
    time.sleep(0.5)
    with CaaS(world.key, base_url=world.url) as sdk:
        sdk.applications.withdraw(created["id"])
    out, err = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, err
    assert [json.loads(line)["status"] for line in out.splitlines()] == ["withdrawn"]


def test_watch_gives_up_after_its_timeout_with_exit_3(world, cli_env, tmp_path):
    created = json.loads(caas(cli_env, *APPLY, "--applicant", applicant_file(tmp_path), "--json").stdout)
    done = caas(cli_env, "credit", "status", created["id"], "--watch", "--interval", "0.2", "--timeout", "0.5",
                check=False)
    assert done.returncode == 3 and "Still submitted after 0.5 s." in done.stderr
    assert "submitted" in done.stdout


def test_offers_accept_loan_providers_and_usage(world, cli_env, tmp_path, live_app):
    created = json.loads(caas(cli_env, *APPLY, "--applicant", applicant_file(tmp_path), "--json").stdout)
    score(live_app)
    assert "open_for_offers" in caas(cli_env, "credit", "status", created["id"], "--watch", "--until",
                                     "open_for_offers", "--timeout", "10").stdout
    offer_id = bid(live_app, world, created["id"], rate="30")
    table = caas(cli_env, "credit", "offers", created["id"]).stdout.splitlines()
    assert table[0].split()[:3] == ["offer", "lender", "status"] and table[2].startswith(f"*  {offer_id}")
    [offer] = json.loads(caas(cli_env, "credit", "offers", created["id"], "--json").stdout)
    assert (offer["id"], offer["best"], offer["annual_rate"]) == (offer_id, True, "30.0000")
    # without --yes the agreement is shown and the borrower's answer asked; "n" aborts and accepts nothing
    declined = caas(cli_env, "credit", "accept", created["id"], offer_id, "--signature-name", "Adaeze Okoro",
                    "--bank-code", "058", "--account-number", "0123456781", "--account-name", "Adaeze Okoro",
                    check=False, input="n\n")
    assert declined.returncode == 1 and "LOAN AGREEMENT" in declined.stdout
    assert json.loads(caas(cli_env, "credit", "status", created["id"], "--json").stdout)["status"] == "open_for_offers"
    loan = json.loads(caas(cli_env, "credit", "accept", created["id"], offer_id, "--signature-name", "Adaeze Okoro",
                           "--yes", "--bank-code", "058", "--account-number", "0123456781", "--account-name",
                           "Adaeze Okoro", "--json").stdout)
    assert loan["status"] == "pending_disbursement" and len(loan["schedule"]) == 12
    shown = caas(cli_env, "loans", "show", loan["id"]).stdout
    rows = [line.split() for line in shown.splitlines() if line[:1].isdigit()]
    assert f"loan             {loan['id']}" in shown and [r[0] for r in rows] == [str(n) for n in range(1, 13)]
    assert rows[0][2:] == [i for i in (loan["schedule"][0][k] for k in ("principal", "interest", "total",
                                                                         "balance", "paid"))]
    assert json.loads(caas(cli_env, "loans", "show", loan["id"], "--json").stdout) == loan

    ghana = json.loads(caas(cli_env, "credit", "providers", "--country", "GH", "--json").stdout)
    assert [p["id"] for p in ghana] == [str(world.ghana_lender_id)]
    assert "(none)" in caas(cli_env, "credit", "providers", "--country", "KE").stdout
    usage = json.loads(caas(cli_env, "usage", "--json").stdout)
    assert usage["currency"] == "NGN" and {m["metric"] for m in usage["metrics"]} >= {"application_processed"}
    assert caas(cli_env, "usage", "--period", "2026-10").stdout.startswith("Usage for 2026-10 (NGN)")
    assert caas(cli_env, "usage", "--period", "2026-13", check=False).returncode == 1


def test_list_walks_every_page(world, cli_env):
    listed = json.loads(caas(cli_env, "credit", "list", "--page-size", "1", "--json").stdout)
    with CaaS(world.key, base_url=world.url) as sdk:
        assert [a["id"] for a in listed] == [a.id for a in sdk.applications.list(limit=100)]
    assert len(listed) >= 2
