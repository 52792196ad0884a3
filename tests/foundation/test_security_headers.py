"""Security headers: a Content-Security-Policy without unsafe-inline or unsafe-eval on pages (the
borrower portal's one <style> carries this request's nonce), a closed policy on API answers,
nosniff, Referrer-Policy and frame-ancestors everywhere, HSTS only when configured."""
from __future__ import annotations

import re

from tests import factories
from tests.conftest import make_config
from tests.helpers import BASE


def test_pages_get_a_strict_policy_and_the_brand_style_carries_its_nonce(client, db):
    c = factories.client(db, brand_colour="#0a7d32")
    db.commit()
    response = client.get(f"/c/{c.slug}/login", base_url=BASE)
    policy = response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    body = response.get_data(as_text=True)
    assert f'<style nonce="{nonce}">:root {{ --brand: #0a7d32; }}</style>' in body
    assert 'style="' not in body and "onsubmit=" not in body
    assert '"allowEval": false' in body and '"includeIndicatorStyles": false' in body
    again = client.get(f"/c/{c.slug}/login", base_url=BASE).headers["Content-Security-Policy"]
    assert re.search(r"'nonce-([^']+)'", again).group(1) != nonce  # one per response
    for name, value in (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                        ("Referrer-Policy", "same-origin")):
        assert response.headers[name] == value
    assert "Strict-Transport-Security" not in response.headers  # the test config sends none


def test_api_answers_get_a_policy_that_allows_nothing(client):
    response = client.get("/api/v1/applications", base_url=BASE)
    assert response.status_code == 401
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_production_sends_hsts(found_services):
    from app import create_app

    config = make_config(found_services)
    config["HSTS_SECONDS"] = 31536000
    response = create_app(config).test_client().get("/healthz", base_url=BASE)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_the_production_default_is_a_year_of_hsts():
    import config as config_module

    assert config_module.load("production")["HSTS_SECONDS"] == 365 * 24 * 3600
    assert config_module.load("development")["HSTS_SECONDS"] == 0
