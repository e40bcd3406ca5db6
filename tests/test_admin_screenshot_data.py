"""The rows `make screenshots` puts in before Grace looks at the console (bench/): 90 days of
customers give every chart of the overview a shape, and a day of events and jobs fills the
webhook and outbox pages. Also: a chart with nothing in it says so instead of a bare grid."""

import re

import pytest

from app.admin.metrics import overview
from app.auth.models import utcnow
from app.extensions import db
from bench import admin_health
from bench.admin_history import history
from tests.test_admin_pages import text


@pytest.fixture
def as_admin(client, login, make_user):
    login(make_user("grace", admin=True))
    return client


def test_ninety_days_of_customers_give_every_chart_a_shape(app, as_admin):
    now = utcnow()
    with app.app_context():
        history(360, now, first_id=1000)
        o = overview(now)
        db.session.remove()
    mrr = o.mrr["gbp"]
    assert 0 < mrr[0] < mrr[-1], "a base before the window, growing"
    assert o.subscribers["month"][-1] and o.subscribers["year"][-1]
    assert 0 < o.churn < 0.5
    for name, series in (("trials started", o.trials_started),
                         ("trials converted", o.trials_converted),
                         ("paying cancellations", o.cancellations_paying),
                         ("other cancellations", o.cancellations_other),
                         ("at risk", o.at_risk["gbp"]), ("recovered", o.recovered["gbp"]),
                         ("upgrades", o.upgrade_revenue["gbp"]), ("refunds", o.refunds["gbp"]),
                         ("referral conversions", o.referral_conversions),
                         ("credit granted", o.credit_granted)):
        assert sum(1 for v in series if v) >= 3, f"{name}: {series}"
    page = text(as_admin.get("/admin"))
    assert "None in these 90 days" not in page and page.count("Scale: 0 to") == 9


def test_a_chart_with_nothing_in_it_says_so(as_admin):
    page = text(as_admin.get("/admin"))
    assert page.count("None in these 90 days.") == 9 and "Scale:" not in page


def test_a_day_of_events_and_jobs_fills_the_health_pages(app, as_admin):
    now = utcnow()
    with app.app_context():
        received = admin_health.events(now)
        admin_health.jobs(now)
        db.session.remove()
    assert received > 100
    webhooks = text(as_admin.get("/admin/webhooks"))
    assert "Not processed 5" in webhooks and "Replay all 5" in webhooks
    assert "(Background on this error at: https://sqlalche.me/e/20/e3q8)" in webhooks
    peak = int(re.search(r"Highest hour: (\d+) events", webhooks)[1])
    assert peak >= 20
    outbox = text(as_admin.get("/admin/outbox"))
    assert re.search(r"Due now 4 .*Queued 5 .*Leased by a worker 3 Failed 4 Done 140", outbox)
    assert "due again" in outbox and "Retry all 4" in outbox
