"""Failed renewals end to end: the emulator fails the renewal, its webhooks reach the live
app, the worker (run in-process) mails the user over real SMTP and tries the other cards."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.billing.models import PaymentMethod
from app.extensions import db
from app.subscriptions.models import SubscriptionStatus
from tests.mail_fixtures import (  # noqa: F401  (fixtures)
    app_clock,
    jobs,
    mail_config,
    mailbox,
    run_worker,
    smtp,
)
from tests.mailbox import text_of
from tests.test_billing_cards import add_card, card_id, cards, post, stripe_default
from tests.test_subscriptions_pages import (  # noqa: F401
    DAY,
    alice,
    pay,
    session_id_of,
    subscribe,
    the_subscription,
)

DECLINES_WHEN_CHARGED = "4000000000000341"
VISA = "4242424242424242"


@pytest.fixture
def app_config(emulated_config, mail_config):
    return {**emulated_config, **mail_config, "SUBSCRIPTION_GRACE_DAYS": 7}


def card_ids(app) -> list[str]:
    return [stripe_id for _, _, stripe_id in cards(app)]


def stripe_id_of(app, number_tail: str) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(PaymentMethod.stripe_payment_method_id)
                                 .where(PaymentMethod.last4 == number_tail))


def subjects(mailbox) -> list[str]:
    return [str(m["Subject"]).strip() for m in mailbox.messages]


def test_a_failed_renewal_is_paid_with_the_next_card_which_becomes_the_default(
        app, site, client, emu, alice, mailbox):
    pay(client, emu, "monthly", card=VISA)
    add_card(client, emu, DECLINES_WHEN_CHARGED)
    emu("POST", "flush")
    failing, good = stripe_id_of(app, "0341"), stripe_id_of(app, "4242")
    post(client, f"/settings/billing/cards/{card_id(app, failing)}/default")
    emu("POST", "flush")
    assert card_ids(app) == [failing, good] and stripe_default(app) == failing
    run_worker(app)
    assert subjects(mailbox) == ["Welcome to Premium",
                                 "Your receipt: Premium (monthly), first payment, £7.00"]
    mailbox.clear()

    # The renewal rolls over at the period's end and charges 0341 an hour later: declined.
    emu("POST", "clock/advance", seconds=31 * DAY + 3600)
    emu("POST", "flush")
    sub = the_subscription(app)
    assert sub.status is SubscriptionStatus.PAST_DUE
    warning = client.get("/premium").get_data(as_text=True)
    assert "Your last payment did not go through." in warning  # on every page
    assert [k for k, _ in jobs(app, "retry-invoice:")] == [f"retry-invoice:{sub.latest_invoice_id}"]

    run_worker(app)  # mails the user, then pays the invoice with 4242
    emu("POST", "flush")
    sub = the_subscription(app)
    assert sub.status is SubscriptionStatus.ACTIVE and sub.payment_failed_at is None
    assert card_ids(app) == [good, failing] and stripe_default(app) == good
    assert jobs(app, "retry-invoice:")[0][1] == "done"
    assert "did not go through" not in client.get("/premium").get_data(as_text=True)
    [failed] = mailbox.messages
    assert failed["Subject"] == "Your payment of £7.00 did not go through"
    body = text_of(failed)
    assert "We will also try the other cards you saved" in body
    assert f"{site.url}/settings/billing" in body
    assert "4242" not in body and "0341" not in body  # no card data in mail

    # The invoice was paid by the second card only: one payment, nothing charged twice.
    with app.app_context():
        from app.billing import gateway

        invoice = gateway.client().v1.invoices.retrieve(sub.latest_invoice_id,
                                                         params={"expand": ["payments"]})
    assert invoice.status == "paid" and invoice.amount_paid == 700
    assert [p.status for p in invoice.payments.data].count("paid") == 1

    # Nothing more alarming follows: not the grace end, not Stripe's own retries.
    emu("POST", "clock/advance", seconds=10 * DAY)
    emu("POST", "flush")
    run_worker(app)  # the recovered payment's receipt says the account is well again
    assert subjects(mailbox) == ["Your payment of £7.00 did not go through",
                                 "Payment received: your account is in good standing"]


def test_with_no_other_card_the_grace_period_ends_access_and_the_mails_say_so(
        app, site, client, emu, alice, mailbox, app_clock):
    # Stripe would keep retrying for nine days; our grace period (seven) ends first.
    emu("POST", "config", payment_retry_days=[3, 3, 3], after_payment_retries="canceled")
    pay(client, emu, "annual", card=DECLINES_WHEN_CHARGED)  # a trial: nothing charged yet
    emu("POST", "clock/advance", seconds=15 * DAY)  # the trial ends; the charge fails
    emu("POST", "flush")
    sub = the_subscription(app)
    assert sub.status is SubscriptionStatus.PAST_DUE
    assert jobs(app, "retry-invoice:") == []  # no other card: nothing to try
    app_clock(emu)
    run_worker(app)
    assert subjects(mailbox) == ["Your 14-day free trial of Premium has started",
                                 "Your free trial ends on " + sub.trial_end.strftime("%-d %B %Y"),
                                 "Your payment of £70.00 did not go through"]
    assert client.get("/premium").status_code == 200  # in grace
    settings = client.get("/settings").get_data(as_text=True)
    assert "You keep Premium until" in settings

    app_clock(emu, timedelta(days=7, minutes=1))  # the grace period is over
    assert client.get("/premium").status_code == 403
    run_worker(app)  # the grace job cancels at Stripe and says so
    emu("POST", "flush")
    sub = the_subscription(app)
    assert sub.status is SubscriptionStatus.CANCELED
    ended = mailbox.messages[-1]
    assert ended["Subject"] == "Your Premium access has ended"
    assert "We couldn't take the payment for Premium (annual)" in text_of(ended)
    assert len(mailbox.messages) == 4
    page = client.get("/settings").get_data(as_text=True)
    assert "You are on the free plan." in " ".join(page.split())
    assert 'action="/subscriptions"' in client.get("/pricing").get_data(as_text=True)
    run_worker(app)  # the cancellation's own webhook sends nothing more
    assert len(mailbox.messages) == 4
