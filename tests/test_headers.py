"""Security headers: the site's pages, what must not be cached, and the webhook's answers."""

import json

from app import create_app
from tests.stripe_objects import event, signature_header, stripe_object

ACCOUNT_PAGES = ("/", "/pricing", "/premium", "/user_upgrades", "/user_upgrades/new",
                 "/no/such/page")


def test_csp_forbids_base_tags_and_framing(client):
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "base-uri 'none'" in csp
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp


def test_public_pages_and_static_files_may_be_cached(client):
    for path in ("/", "/pricing", "/static/css/app.css"):
        assert "no-store" not in client.get(path).headers.get("Cache-Control", ""), path


def test_log_in_and_sign_up_pages_are_not_stored(client):
    for path in ("/login", "/signup"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    assert client.post("/login", data={}).headers["Cache-Control"] == "no-store"


def test_every_page_a_logged_in_user_sees_is_not_stored(client, make_user, login):
    login(make_user())
    for path in ACCOUNT_PAGES:
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")


WEBHOOK_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}


def assert_webhook_headers(response):
    for name, value in WEBHOOK_HEADERS.items():
        assert response.headers.get(name) == value, (response.status_code, name)


def test_webhook_answers_carry_the_fixed_headers_with_billing_off(client):
    assert_webhook_headers(client.post("/webhooks/stripe", data=b"{}"))  # 503
    assert_webhook_headers(client.get("/webhooks/stripe"))  # 405


def test_webhook_answers_carry_the_fixed_headers_with_billing_on(app, client, billing_config,
                                                                 post_event):
    app.config.update(billing_config)  # the webhook app reads the site's configuration
    body = json.dumps(event("customer.updated", stripe_object("customer"))).encode()
    refused = client.post("/webhooks/stripe", data=body, headers={
        "Content-Type": "application/json",
        "Stripe-Signature": signature_header(body, "whsec_someone_else")})
    assert refused.status_code == 400
    assert_webhook_headers(refused)
    accepted = post_event(json.loads(body))
    assert accepted.status_code == 200
    assert_webhook_headers(accepted)


def test_readme_claim_hsts_and_csp_on_every_response_outside_debug(monkeypatch, tmp_path):
    """README: outside debug mode, HSTS; every response carries a strict CSP and nosniff."""
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    client = create_app().test_client()
    for response in (client.get("/login"), client.get("/static/css/app.css"),
                     client.post("/webhooks/stripe", data=b"{}")):
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        assert "default-src" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
