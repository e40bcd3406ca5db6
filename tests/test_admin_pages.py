"""The operators' console pages: customers, webhook and outbox health, the drift report.
Nobody but an admin sees any of it (404); the pages say what our rows hold; replay and
retry do what `flask billing replay` and `flask worker retry` do."""

import html
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.auth.models import Level, User, utcnow
from app.billing.models import BillingInfo, PaymentMethod
from app.extensions import db
from app.history.models import Invoice
from app.outbox.models import Job, JobStatus
from app.referrals.models import CreditEntry, CreditReason, Referral
from app.subscriptions.models import (
    CancellationWaiver,
    Subscription,
    SubscriptionCheckout,
    SubscriptionStatus,
)
from app.upgrades.models import UpgradeStatus, UpgradeType, UserUpgrade
from app.webhooks.models import StripeEvent
from tests.conftest import csrf_token
from tests.stripe_objects import event, stripe_object
from tests.test_subscriptions_settings import count_queries
from tests.webhook_effects import count_effects, recorder  # noqa: F401

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def app_config(billing_config):
    # Billing on, with a Stripe that does not answer: read-only pages must not need it.
    return billing_config


@pytest.fixture
def admin(make_user):
    return make_user("root", admin=True)


@pytest.fixture
def as_admin(client, login, admin):
    login(admin)
    return client


def text(response) -> str:
    return html.unescape(
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def admin_urls(app) -> list[tuple[str, str]]:
    """Every /admin rule with each of its methods, ids filled in with 1."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin"):
            url = re.sub(r"<[^>]+>", "1", rule.rule)
            found += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


# --- nobody but an admin ------------------------------------------------------------

@pytest.mark.parametrize("who", ["visitor", "member"])
def test_everyone_but_an_admin_gets_404_everywhere(app, client, login, make_user, who):
    if who == "member":
        login(make_user("mia"))
    urls = admin_urls(app)
    assert {url for _, url in urls} >= {"/admin/customers", "/admin/customers/1",
                                        "/admin/webhooks", "/admin/outbox", "/admin/drift"}
    token = csrf_token(client)
    for method, url in urls:
        response = client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 404, (who, method, url, response.status_code)


def test_an_admin_sees_each_page(as_admin):
    for url, heading in (("/admin/customers", "Customers"), ("/admin/webhooks", "Webhooks"),
                         ("/admin/outbox", "Outbox"), ("/admin/drift", "Drift report")):
        response = as_admin.get(url)
        assert response.status_code == 200, url
        assert f"<h1>{heading}</h1>" in response.get_data(as_text=True)


# --- customers ----------------------------------------------------------------------

def test_search_by_email_or_username_whatever_the_case(as_admin, make_user):
    make_user("Ada_Lovelace", email="ada@analytical.example")
    make_user("grace", email="GRACE@navy.example")
    page = text(as_admin.get("/admin/customers?q=ADA"))
    assert "ada@analytical.example" in page and "navy" not in page
    page = text(as_admin.get("/admin/customers?q=navy.EX"))
    assert "GRACE@navy.example" in page and "1 found" in page
    assert "@Ada_Lovelace" in text(as_admin.get("/admin/customers?q=lovelace"))
    assert "No one found for “nobody”." in text(as_admin.get("/admin/customers?q=nobody"))
    # LIKE's wildcards are searched for as themselves
    assert "No one found" in text(as_admin.get("/admin/customers?q=%25"))


def test_search_is_paginated(as_admin, make_user):
    for i in range(30):
        make_user(f"page{i:02d}")
    first = text(as_admin.get("/admin/customers?q=page"))
    assert "30 found" in first and "page 1 of 2" in first and "Next" in first
    second = text(as_admin.get("/admin/customers?q=page&page=2"))
    assert "page29@example.com" in second and "page00@" not in second
    assert "Previous" in second


def hand_built_customer(app, make_user, payments: int = 1) -> dict:
    """Ada: a customer at Stripe with a card, a renewing subscription after a cancelled one,
    `payments` paid invoices, a gift bought and one received, credit from referring Bo, a
    waiver, two e-mails, and events about her (and one about someone else that mentions her
    customer id elsewhere)."""
    ada = make_user("ada", email="ada@example.com")
    bo = make_user("bo")
    cy = make_user("cy")
    with app.app_context():
        info = BillingInfo(user_id=ada.id, stripe_customer_id="cus_ada")
        db.session.add(info)
        db.session.flush()
        db.session.add(PaymentMethod(billing_info_id=info.id, stripe_payment_method_id="pm_ada",
                                     priority=1, brand="visa", last4="4242", exp_month=4,
                                     exp_year=2031))
        for sub_id, status, days in (("sub_old", "canceled", 400), ("sub_new", "active", 20)):
            start = utcnow().replace(microsecond=0) - timedelta(days=days)
            db.session.add(Subscription(
                user_id=ada.id, stripe_subscription_id=sub_id, stripe_customer_id="cus_ada",
                status=SubscriptionStatus(status), stripe_item_id=f"si_{sub_id}",
                stripe_price_id="price_month", interval="month", amount=700, currency="gbp",
                current_period_start=start, current_period_end=start + timedelta(days=30),
                ended_at=start + timedelta(days=30) if status == "canceled" else None,
                snapshot_at=start, created_at=start))
        for i in range(payments):
            db.session.add(Invoice(
                user_id=ada.id, stripe_invoice_id=f"in_ada_{i}", stripe_subscription_id="sub_new",
                status="paid", billing_reason="subscription_cycle", description="1 × Premium",
                amount_due=700, amount_paid=700, currency="gbp",
                created_at=START + timedelta(days=30 * i), paid_at=START + timedelta(days=30 * i),
                card_brand="visa", card_last4="4242", needs_action=False))
        for buyer, to, kind in ((ada, bo, "gold"), (cy, ada, "platinum")):
            db.session.add(UserUpgrade(
                purchaser_id=buyer.id, recipient_id=to.id, type=UpgradeType(kind),
                status=UpgradeStatus.COMPLETE, amount=2000 if kind == "gold" else 4000,
                currency="gbp", level_before=Level.MEMBER, completed_at=START,
                stripe_checkout_session_id=f"cs_{buyer.username}",
                stripe_payment_intent_id=f"pi_{buyer.username}"))
        referral = Referral(referrer_id=ada.id, referred_id=bo.id, converted_at=START,
                            conversions=1)
        db.session.add(referral)
        db.session.flush()
        db.session.add(CreditEntry(user_id=ada.id, days=45, reason=CreditReason.REFERRAL_GIVEN,
                                   referral_id=referral.id, conversion=1))
        checkout = SubscriptionCheckout(user_id=ada.id, interval="month")
        db.session.add(checkout)
        db.session.flush()
        db.session.add(CancellationWaiver(user_id=ada.id, checkout_id=checkout.id,
                                          wording_version="2026-01", stripe_price_id="price_month",
                                          amount=700, currency="gbp"))
        for key, template, user in (("email:welcome:ada", "payment_receipt", ada),
                                    ("email:x:ada", "payment_failed", ada),
                                    ("email:x:bo", "gift_received", bo)):
            db.session.add(Job(kind="email", key=key, status=JobStatus.DONE,
                               payload={"template": template, "user_id": user.id, "key": key},
                               finished_at=utcnow()))
        theirs = [
            event("invoice.paid", stripe_object("invoice", id="in_ada_0", customer="cus_ada")),
            event("customer.subscription.updated",
                  stripe_object("subscription", id="sub_old", customer="cus_old")),
            event("checkout.session.completed",
                  stripe_object("checkout.session", id="cs_cy", customer=None)),
        ]
        other = event("customer.updated", stripe_object(
            "customer", id="cus_other", metadata={"note": "cus_ada"}))
        for n, payload in enumerate([*theirs, other]):
            db.session.add(StripeEvent(
                stripe_id=payload["id"], type=payload["type"], livemode=False,
                created=START + timedelta(hours=n), processed_at=utcnow(),
                payload=json.dumps(payload)))
        db.session.commit()
    return {"ada": ada, "bo": bo, "cy": cy, "theirs": theirs, "other": other}


def test_the_customer_page_shows_their_whole_file(as_admin, app, make_user):
    built = hand_built_customer(app, make_user)
    ada = built["ada"]
    response = as_admin.get(f"/admin/customers/{ada.id}")
    assert response.status_code == 200
    page = text(response)
    assert "ada@example.com" in page and "cus_ada" in page
    # the timeline, in the words Ada reads
    assert "Premium (monthly), paid to" in page
    # the subscription and its past one
    assert "sub_new" in page and "sub_old" in page and "Cancelled" in page
    # upgrades and gifts on both sides
    assert "Gift to @bo" in page and "Gift from @cy" in page
    # the card, the billing history, the credit ledger, the referral, the waiver
    assert "Visa ending 4242, expires 04/2031" in page
    assert "£7.00" in page and "Paid" in page
    assert "+45 days" in page and "@bo subscribed through your link" in page
    assert "Referred @bo" in page
    assert "wording 2026-01" in page
    # her e-mails, not Bo's
    assert "payment receipt" in page and "payment failed" in page
    assert "gift received" not in page
    # the events about her, newest first; not the one that merely mentions her id
    shown = re.findall(r"evt_[A-Za-z0-9]+", page)
    assert shown == [e["id"] for e in reversed(built["theirs"])]
    assert built["other"]["id"] not in page


def test_an_unknown_customer_is_404(as_admin):
    assert as_admin.get("/admin/customers/999999").status_code == 404


def test_the_customer_page_takes_the_same_queries_for_1_and_30_payments(as_admin, app,
                                                                           make_user):
    counts = {}
    for n in (1, 30):
        with app.app_context():
            for model in (StripeEvent, Job, CancellationWaiver, SubscriptionCheckout,
                          CreditEntry, Referral, UserUpgrade, Invoice, Subscription,
                          PaymentMethod, BillingInfo):
                db.session.execute(sa.delete(model))
            db.session.execute(sa.delete(User).where(User.username != "root"))
            db.session.commit()
        ada = hand_built_customer(app, make_user, payments=n)["ada"]
        assert text(as_admin.get(f"/admin/customers/{ada.id}")).count("Visa ending 4242") >= n
        counts[n] = count_queries(app, as_admin, f"/admin/customers/{ada.id}")
    assert counts[1] == counts[30], counts


# --- webhook and outbox health --------------------------------------------------------

def test_webhook_health_counts_failures_and_lag(as_admin, app, post_event, recorder):
    ok, bad = (event("customer.updated", stripe_object("customer")) for _ in range(2))
    ok["created"] -= 90  # processed a minute and a half after Stripe made it
    post_event(ok)
    recorder.fail_with = RuntimeError("the database went away")
    post_event(bad)
    page = text(as_admin.get("/admin/webhooks"))
    assert "Not processed 1" in page
    assert bad["id"] in page and "RuntimeError: the database went away" in page
    assert "Oldest unprocessed" in page and "Replay all 1" in page
    assert re.search(r"Lag, last 24 hours \d+ s on average, \d+ s at most", page)
    hour = utcnow().strftime("%-d %b, %H:00")
    assert f"{hour} 2 1" in page  # this hour: two received, one not processed


def replay_url(app, stripe_id: str) -> str:
    with app.app_context():
        row = db.session.scalar(sa.select(StripeEvent).where(StripeEvent.stripe_id == stripe_id))
        return f"/admin/webhooks/{row.id}/replay"


def test_replay_one_then_all_failed(as_admin, app, post_event, recorder):
    first, second = (event("customer.updated", stripe_object("customer")) for _ in range(2))
    recorder.fail_with = RuntimeError("bug")
    post_event(first)
    post_event(second)
    token = csrf_token(as_admin, "/admin/webhooks")

    still = as_admin.post(replay_url(app, first["id"]), data={"csrf_token": token},
                          follow_redirects=True)
    assert f"{first['id']} (customer.updated) still fails: RuntimeError: bug" in text(still)
    recorder.fail_with = None
    done = as_admin.post(replay_url(app, first["id"]), data={"csrf_token": token},
                         follow_redirects=True)
    assert f"{first['id']} (customer.updated): processed." in text(done)
    assert count_effects(app) == 1
    again = as_admin.post(replay_url(app, first["id"]), data={"csrf_token": token},
                          follow_redirects=True)
    assert "processed already: nothing to replay" in text(again) and count_effects(app) == 1

    every = as_admin.post("/admin/webhooks/replay-failed", data={"csrf_token": token},
                          follow_redirects=True)
    assert "customer.updated): processed." in text(every) and count_effects(app) == 2
    assert "Every event received has been processed." in text(every)
    # without the form's token, nothing is replayed
    assert as_admin.post("/admin/webhooks/replay-failed").status_code == 400


def add_job(app, key: str, status: JobStatus, error: str | None = None) -> int:
    with app.app_context():
        job = Job(kind="email", key=key, payload={"template": "x", "user_id": 1, "key": key},
                  status=status, attempts=5 if status is JobStatus.FAILED else 1,
                  last_error=error, finished_at=utcnow() if error else None,
                  locked_by="host:1" if status is JobStatus.RUNNING else None,
                  locked_until=utcnow() + timedelta(minutes=5)
                  if status is JobStatus.RUNNING else None)
        db.session.add(job)
        db.session.commit()
        return job.id


def job_state(app, job_id: int) -> tuple[JobStatus, int]:
    with app.app_context():
        job = db.session.get(Job, job_id)
        return job.status, job.attempts


def test_outbox_health_and_retry(as_admin, app):
    add_job(app, "email:due", JobStatus.PENDING)
    add_job(app, "email:leased", JobStatus.RUNNING)
    one = add_job(app, "email:one", JobStatus.FAILED, "SMTPServerDisconnected: gone")
    two = add_job(app, "email:two", JobStatus.FAILED, "timed out")
    done = add_job(app, "email:done", JobStatus.DONE)
    page = text(as_admin.get("/admin/outbox"))
    assert "Due now 1" in page and "Leased by a worker 1" in page and "Failed 2" in page
    assert "email:leased" in page and "host:1" in page
    assert "SMTPServerDisconnected: gone" in page and "Retry all 2" in page
    token = csrf_token(as_admin, "/admin/outbox")

    retried = as_admin.post(f"/admin/outbox/{one}/retry", data={"csrf_token": token},
                            follow_redirects=True)
    assert f"Queued again: #{one}." in text(retried)
    assert job_state(app, one) == (JobStatus.PENDING, 0)
    assert job_state(app, two) == (JobStatus.FAILED, 5)
    refused = as_admin.post(f"/admin/outbox/{done}/retry", data={"csrf_token": token},
                            follow_redirects=True)
    assert f"job #{done} is done; only failed jobs are retried" in text(refused)
    assert job_state(app, done)[0] is JobStatus.DONE

    every = as_admin.post("/admin/outbox/retry-failed", data={"csrf_token": token},
                          follow_redirects=True)
    assert f"Queued again: #{two}." in text(every) and "No job has failed." in text(every)
    assert job_state(app, two) == (JobStatus.PENDING, 0)


# --- the drift report, without Stripe (with the emulator: test_admin_drift.py) ---------

def test_the_drift_page_says_when_stripe_does_not_answer(as_admin):
    page = text(as_admin.get("/admin/drift"))
    assert "This page asks Stripe each time it opens" in page
    assert "Stripe did not answer, so there is no report" in page
    token = csrf_token(as_admin, "/admin/drift")
    applied = text(as_admin.post("/admin/drift/apply", data={"csrf_token": token},
                                 follow_redirects=True))
    assert "Stripe did not answer" in applied


def test_the_drift_page_with_billing_off(as_admin, app):
    app.config["BILLING_ENABLED"] = False
    assert "Billing is off (STRIPE_SECRET_KEY is not set)" in text(as_admin.get("/admin/drift"))
