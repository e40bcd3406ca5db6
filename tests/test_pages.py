"""Public pages, the Premium gate, pricing money formatting and error pages."""

from app.auth.models import Level


def test_home_and_auth_pages_render(client):
    for path in ("/", "/signup", "/login", "/pricing", "/premium"):
        response = client.get(path)
        assert response.status_code in (200, 403), path
        assert "<footer" in response.get_data(as_text=True)


def test_pricing_shows_catalog_amounts_with_currency(client):
    page = client.get("/pricing").get_data(as_text=True)
    for amount in ("£7.00", "£70.00", "£20.00", "£40.00"):
        assert amount in page
    assert "14-day free trial" in page


def test_pricing_follows_configured_currency_and_amounts(app, client):
    app.config["BILLING_CURRENCY"] = "eur"
    app.config["BILLING_LOCALE"] = "de_DE"
    app.config["CATALOG_AMOUNTS"] = dict(app.config["CATALOG_AMOUNTS"], gold=2550)
    page = client.get("/pricing").get_data(as_text=True)
    assert "25,50\xa0€" in page


def test_premium_gate_explains_itself(client, make_user, login):
    response = client.get("/premium")  # a visitor is told what it is and how to get it
    assert response.status_code == 200
    assert "Already have an account?" in response.get_data(as_text=True)
    login(make_user())
    response = client.get("/premium")
    assert response.status_code == 403
    assert "Member level" in response.get_data(as_text=True)


def test_premium_open_to_gold(client, make_user, login):
    login(make_user(level=Level.GOLD))
    response = client.get("/premium")
    assert response.status_code == 200
    assert "Gold level (never expires)" in response.get_data(as_text=True)


def test_gold_user_told_they_have_premium_on_pricing(client, make_user, login):
    login(make_user(level=Level.PLATINUM))
    assert "already includes Premium access" in client.get("/pricing").get_data(as_text=True)


def test_404_page_uses_layout(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Page not found" in page and "site-header" in page


def test_413_for_oversized_body(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 100
    response = client.post("/login", data={"login": "x" * 500})
    assert response.status_code == 413
    assert "larger than we accept" in response.get_data(as_text=True)


def test_unexpected_error_is_a_friendly_500(app, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("kaboom")

    response = client.get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page and "kaboom" not in page


def test_security_headers(client):
    headers = client.get("/").headers
    assert headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in headers["Content-Security-Policy"]


def test_static_assets_are_local(client):
    page = client.get("/").get_data(as_text=True)
    assert "/static/css/app.css" in page
    assert "http://" not in page.replace("http://localhost", "") and "https://" not in page


def test_a_database_error_still_gets_the_sites_500_page(app, client, make_user, login):
    # On PostgreSQL a failed statement aborts the transaction; the error page (whose header
    # asks who is logged in) must still render, not Werkzeug's bare page.
    import sqlalchemy as sa

    from app.extensions import db

    def broken():
        db.session.execute(sa.text("SELECT * FROM no_such_table"))
        return "unreachable"

    app.add_url_rule("/broken-for-test", view_func=broken)
    login(make_user("alice"))
    response = client.get("/broken-for-test")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page and "alice" in page
