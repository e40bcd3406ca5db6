"""The overview page (/admin): what an admin sees, 404 for anyone else, and the same number
of queries for 10 and for 10,000 customers."""

import re
from datetime import UTC, datetime

import pytest

from app.auth.models import utcnow
from app.extensions import db
from bench.admin_overview import seed
from tests.test_admin_metrics import NOW, customers  # noqa: F401  (the hand-built business)
from tests.test_subscriptions_settings import count_queries


def test_a_member_and_a_visitor_get_404(client, make_user, login):
    assert client.get("/admin").status_code == 404
    login(make_user("member"))
    assert client.get("/admin").status_code == 404


@pytest.fixture
def on_the_day(monkeypatch):
    """The app's clock on the hand-built business's day (its "now", NOW)."""
    monkeypatch.setattr("app.auth.models.CLOCK_OFFSET", NOW - datetime.now(UTC))


def test_an_admin_sees_every_chart_with_its_table_and_definition(client, make_user, login,
                                                                 customers,  # noqa: F811
                                                                 on_the_day):
    login(make_user("boss", admin=True))
    response = client.get("/admin")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'aria-current="page">Overview</a>' in page
    for title in ("Monthly recurring revenue (GBP)", "Monthly recurring revenue (USD)",
                  "Subscribers by plan", "Trials started and converted",
                  "Cancellations and churn", "Past due: at risk and recovered",
                  "One-time upgrade revenue", "Refunds", "Referral conversions",
                  "Credit days"):
        assert f">{title}</h2>" in page, title
    charts = page.count('<section class="admin-chart card"')
    assert page.count("<svg ") == page.count("<table ") == page.count(
        "<summary>Show the figures</summary>") == charts == 10
    assert page.count('viewBox="0 0 900 200"') == charts
    assert "MRR: the monthly price (annual ÷ 12)" in page
    # The hand-built figures, money formatted in its currency: £50 of MRR today (Ann, Bob,
    # Cat, Gus, Lou), $20 from Kim, Fay's £10 at risk.
    assert "£50.00 today" in page and "US$20.00 today" in page
    assert "£10.00 at risk today; £10.00 recovered in 90 days." in page
    assert "3 ended in 90 days, 2 of them paying" in page
    # Drawn on the server: no script of its own, nothing loaded from elsewhere.
    console = page[page.index('<nav class="admin-nav"'):page.index("</main>")]
    assert "<script" not in console and not re.search(r'(src|href)="(https?:)?//', console)


def test_the_overview_takes_the_same_queries_for_10_and_10000_customers(app, client,
                                                                        make_user, login):
    login(make_user("boss", admin=True))
    counts = {}
    first = 1000
    for n in (10, 9_990):
        with app.app_context():
            seed(n, utcnow(), first_id=first)
            db.session.remove()
        first += n
        counts[n] = count_queries(app, client, "/admin")
    assert counts[10] == counts[9_990] <= 12, counts
