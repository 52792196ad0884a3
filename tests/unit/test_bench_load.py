"""bench/load's pure helpers: percentiles and the figures of a group, PASS/MISS, the forms read
from a page as a browser would submit them, cookies set and deleted, CPU between snapshots.
Nothing here times anything."""
from __future__ import annotations

import pytest

from bench import load


def test_percentile_interpolates_between_the_closest_ranks():
    values = [0.010, 0.020, 0.030, 0.040, 0.050]
    assert load.percentile(values, 50) == pytest.approx(0.030)
    assert load.percentile(values, 95) == pytest.approx(0.048)
    assert load.percentile(values, 0) == pytest.approx(0.010)
    assert load.percentile(values, 100) == pytest.approx(0.050)
    assert load.percentile([0.007], 99) == 0.007
    assert load.percentile([], 95) == 0.0


def test_percentile_of_a_hundred_values_is_the_rank():
    values = [n / 1000 for n in range(1, 101)]
    assert load.percentile(values, 95) == pytest.approx(0.09505)
    assert load.percentile(values, 99) == pytest.approx(0.09901)


def test_summarise_counts_errors_as_requests_and_reports_milliseconds():
    figures = load.summarise([0.004, 0.002, 0.003, 0.001], errors=1, seconds=2.0)
    assert figures == {"requests": 5, "errors": 1, "rps": 2.5, "p50_ms": 2.5, "p95_ms": 3.9, "p99_ms": 4.0}


def test_verdict_is_strict_below_and_inclusive_at_least():
    assert load.verdict(49.9, 50) == "PASS"
    assert load.verdict(50.0, 50) == "MISS"
    assert load.verdict(300.0, 300, at_least=True) == "PASS"
    assert load.verdict(299.9, 300, at_least=True) == "MISS"


PAGE = """
<form method="get" data-testid="market-filters"><input name="currency" value=""></form>
<form method="post" action="/provider/market/abc" novalidate class="col" data-testid="bid-form"
      hx-post="/provider/market/abc/preview">
  <input id="csrf_token" name="csrf_token" type="hidden" value="tok&amp;en">
  <input name="annual_rate" type="text" value="">
  <input name="fee_kind" type="radio" value="amount"> <input checked name="fee_kind" type="radio" value="percent">
  <input name="income_confirmed" type="checkbox" value="y">
  <input name="agree" type="checkbox" checked>
  <select name="term_months"><option value="6">6 months</option><option selected value="12">12 months</option></select>
  <select name="purpose"><option value="rent">Rent</option><option value="car">Car</option></select>
  <textarea name="note">a &lt;b&gt; note</textarea>
  <input type="submit" name="go" value="Save"> <input type="file" name="upload">
</form>
"""


def test_forms_are_read_with_the_values_a_browser_would_submit():
    bid = load.form_for(PAGE, testid="bid-form")
    assert bid.action == "/provider/market/abc" and bid.method == "post"
    assert bid.fields == {"csrf_token": "tok&en", "annual_rate": "", "fee_kind": "percent", "agree": "on",
                          "term_months": "12", "purpose": "rent", "note": "a <b> note"}
    assert "income_confirmed" not in bid.fields and "go" not in bid.fields and "upload" not in bid.fields


def test_form_for_picks_by_action_and_none_when_nothing_matches():
    assert load.form_for(PAGE, "/provider/market/abc").fields["term_months"] == "12"
    assert load.form_for(PAGE).method == "get"  # the first form
    assert load.form_for(PAGE, "/step/review") is None
    assert load.form_for(PAGE, testid="login-form") is None


def test_cookie_updates_keep_values_and_mark_deletions():
    updates = load.cookie_updates([
        "__Host-caas_session=abc.def; Secure; HttpOnly; Path=/; SameSite=Lax",
        "remember_token=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/",
        "theme=dark=blue; Path=/",
    ])
    assert updates == {"__Host-caas_session": "abc.def", "remember_token": None, "theme": "dark=blue"}


def test_cpu_used_counts_new_processes_from_zero_and_never_negative():
    before = {"web": {1: 10.0, 2: 5.0}, "postgres": {7: 1.0}, "jobs": {9: 2.0}}
    after = {"web": {1: 12.5, 3: 0.5}, "postgres": {7: 0.5, 8: 1.25}, "jobs": {9: 2.0}}
    assert load.cpu_used(before, after) == {"web": 3.0, "postgres": 1.25, "jobs": 0.0}
