"""The billing history, receipts and Pay now, end to end on the emulator: its webhooks reach
the live app, the worker (run in-process) reads each payment's card and mails the receipt."""

import json

import pytest
import sqlalchemy as sa

from app.billing.models import PaymentMethod
from app.extensions import db
from app.history.models import Invoice
from app.subscriptions.models import SubscriptionStatus
from tests.conftest import csrf_token
from tests.mail_fixtures import (  # noqa: F401  (fixtures)
    app_clock,
    jobs,
    mail_config,
    mailbox,
    run_worker,
    smtp,
)
from tests.mailbox import text_of
from tests.test_billing_cards import add_card, post
from tests.test_subscriptions_pages import (  # noqa: F401
    DAY,
    alice,
    pay,
    the_subscription,
)

FAILS_WHEN_CHARGED = "4000000000000341"
VISA = "4242424242424242"
RENEWAL = 31 * DAY + 3600  # past the month and the hour Stripe takes to charge


@pytest.fixture
def app_config(emulated_config, mail_config):
    return {**emulated_config, **mail_config, "SUBSCRIPTION_GRACE_DAYS": 7,
            "SELLER_NAME": "Lumen Ltd", "SELLER_ADDRESS": "1 High Street, London, EC1A 1AA",
            "SELLER_VAT_ID": "GB123456789"}


def invoices(app) -> list[Invoice]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(Invoice).order_by(Invoice.created_at,
                                                                   Invoice.id)))
        db.session.expunge_all()
        return rows


def subjects(mailbox) -> list[str]:
    return [str(m["Subject"]).strip() for m in mailbox.messages]


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_each_payment_is_kept_with_its_card_and_one_receipt_however_often_told(
        app, site, client, emu, alice, mailbox):
    emu("POST", "config", duplicate=True)  # every event twice
    pay(client, emu, "monthly", card=VISA)
    emu("POST", "clock/advance", seconds=RENEWAL)
    emu("POST", "flush")
    run_worker(app)
    run_worker(app)

    first, renewal = invoices(app)
    assert (first.billing_reason, first.status, first.amount_paid) == \
        ("subscription_create", "paid", 700)
    assert (renewal.billing_reason, renewal.status, renewal.amount_paid) == \
        ("subscription_cycle", "paid", 700)
    assert first.card_label == renewal.card_label == "Visa ending 4242"
    assert renewal.period_start == the_subscription(app).current_period_start
    assert subjects(mailbox).count("Your receipt: Premium (monthly), first payment, £7.00") == 1
    assert subjects(mailbox).count("Your receipt: Premium (monthly), renewal, £7.00") == 1
    receipt = next(m for m in mailbox.messages if "renewal" in str(m["Subject"]))
    body = text_of(receipt)
    assert "Lumen Ltd, 1 High Street, London, EC1A 1AA" in body and "GB123456789" in body
    assert f"{site.url}/settings/payments/{renewal.id}" in body
    assert "4242" not in body  # no card data in mail

    history = page(client, "/settings/payments")
    assert history.index("renewal") < history.index("first payment")  # newest first
    assert history.count("Visa ending 4242") == 2
    assert f'href="/settings/payments/{renewal.id}"' in history
    assert renewal.hosted_invoice_url and renewal.hosted_invoice_url in history


def test_a_refund_is_its_own_row_and_a_stale_snapshot_moves_nothing_back(
        app, site, client, emu, alice, mailbox, post_event):
    from app.billing import gateway
    from tests.stripe_objects import event

    pay(client, emu, "monthly", card=VISA)
    emu("POST", "flush")
    run_worker(app)
    [row] = invoices(app)
    with app.app_context():
        gateway.client().v1.refunds.create(params={
            "payment_intent": row.stripe_payment_intent_id, "amount": 300})
    emu("POST", "flush")
    [row] = invoices(app)
    assert row.amount_refunded == 300 and row.status == "paid"
    history = page(client, "/settings/payments")
    assert "Refund: Premium (monthly), first payment" in history
    assert "−£3.00" in history and "Partly refunded" in history

    # Stripe's invoice.finalized from before the payment, delivered late: still paid.
    with app.app_context():
        stale = json.loads(str(gateway.client().v1.invoices.retrieve(row.stripe_invoice_id)))
    stale.update(status="open", amount_paid=0)
    answer = post_event(event("invoice.finalized", stale),
                        secret=app.config["STRIPE_WEBHOOK_SECRET"])
    assert answer.status_code == 200, answer.get_data(as_text=True)
    [row] = invoices(app)
    assert (row.status, row.amount_paid, row.amount_refunded) == ("paid", 700, 300)


def test_the_receipt_names_seller_and_buyer_and_is_only_its_owners(
        app, site, client, emu, alice, make_user, login, mailbox):
    pay(client, emu, "monthly", card=VISA)
    emu("POST", "flush")
    run_worker(app)
    post(client, "/settings/billing/details", name="Alice Example Ltd", line1="2 Low Road",
         city="Leeds", postal_code="LS1 1AA", country="GB", tax_type="gb_vat",
         tax_value="GB987654321")
    [row] = invoices(app)
    receipt = page(client, f"/settings/payments/{row.id}")
    for words in ("Lumen Ltd", "1 High Street", "VAT number GB123456789",
                  "Alice Example Ltd", "2 Low Road", "LS1 1AA Leeds", "United Kingdom",
                  "UK VAT GB987654321", "Visa ending 4242", "£7.00"):
        assert words in receipt, words

    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(make_user("mallory"))
    assert client.get(f"/settings/payments/{row.id}").status_code == 404
    assert "£7.00" not in page(client, "/settings/payments")


def test_the_history_page_takes_the_same_queries_for_1_and_40_payments(
        app, client, alice):
    from datetime import UTC, datetime, timedelta

    from tests.test_subscriptions_settings import count_queries

    counts = {}
    for n in (1, 40):
        with app.app_context():
            db.session.execute(sa.delete(Invoice))
            start = datetime(2026, 1, 1, tzinfo=UTC)
            for i in range(n):
                db.session.add(Invoice(
                    user_id=alice.id, stripe_invoice_id=f"in_{n}_{i}", status="paid",
                    billing_reason="subscription_cycle", description="1 × Premium",
                    amount_due=700, amount_paid=700, amount_refunded=100 if i % 3 else 0,
                    currency="gbp", created_at=start + timedelta(days=30 * i),
                    paid_at=start + timedelta(days=30 * i), card_brand="visa",
                    card_last4="4242", needs_action=False))
            db.session.commit()
        assert page(client, "/settings/payments").count("Visa ending 4242") >= n
        counts[n] = count_queries(app, client, "/settings/payments")
    assert counts[1] == counts[40], counts


def past_due_with(app, client, emu, mailbox, app_clock) -> str:
    """Alice pays with 4242, then her bank starts declining it: the renewal fails and
    she is past due (the "payment failed" e-mail sent). Returns her card's Stripe id."""
    pay(client, emu, "monthly", card=VISA)
    emu("POST", "flush")
    with app.app_context():
        card = db.session.scalar(sa.select(PaymentMethod.stripe_payment_method_id))
    assert card is not None
    emu("POST", f"payment_methods/{card}/decline", decline_code="insufficient_funds")
    emu("POST", "clock/advance", seconds=RENEWAL)
    emu("POST", "flush")
    app_clock(emu)  # our clock reads Stripe's, as in production
    assert the_subscription(app).status is SubscriptionStatus.PAST_DUE
    run_worker(app)
    mailbox.clear()
    return card


def pay_now(client, path: str = "/settings"):
    html = page(client, path)
    attempt = html.split('name="attempt"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    return post(client, "/subscriptions/pay", attempt=attempt, back="settings")


def test_pay_now_pays_the_open_invoice_and_the_warning_goes_with_one_email(
        app, site, client, emu, alice, mailbox, app_clock):
    card = past_due_with(app, client, emu, mailbox, app_clock)
    settings = page(client, "/settings")
    assert "Your last payment did not go through." in settings and "Pay £7.00 now" in settings
    assert "Pay £7.00 now" in page(client, "/premium")  # the warning on every page

    declined = pay_now(client)  # the bank still says no: a sentence, nothing changes
    assert declined.status_code == 303 and declined.location.endswith("/settings/billing")
    assert "insufficient funds" in page(client, "/settings/billing")
    assert the_subscription(app).status is SubscriptionStatus.PAST_DUE

    emu("POST", f"payment_methods/{card}/decline", decline_code=None)  # funds back
    paid = pay_now(client)
    assert paid.status_code == 303 and paid.location.endswith("/settings")
    after = page(client, "/settings")
    assert "your account is in good standing again" in after
    assert "did not go through" not in after and "Pay £7.00 now" not in after
    assert the_subscription(app).status is SubscriptionStatus.ACTIVE  # before any webhook

    emu("POST", "flush")
    run_worker(app)
    run_worker(app)
    assert subjects(mailbox) == ["Payment received: your account is in good standing"]
    assert "back in good standing" in text_of(mailbox.messages[0])
    assert [i.status for i in invoices(app)] == ["paid", "paid"]
    assert "Paid" in page(client, "/settings/payments")

    # An old page's button, pressed again: nothing is overdue, nothing is charged.
    again = post(client, "/subscriptions/pay", attempt="an-old-page", back="settings")
    assert "There is nothing to pay" in page(client, again.location)
    assert [i.amount_paid for i in invoices(app)] == [700, 700]


def test_a_card_added_while_past_due_pays_at_once_and_becomes_the_default(
        app, site, client, emu, alice, mailbox, app_clock):
    past_due_with(app, client, emu, mailbox, app_clock)
    added = add_card(client, emu, "5555555555554444")
    assert added.status_code == 303
    billing = page(client, "/settings/billing")
    assert "Mastercard ending 4444 saved. Your overdue payment of £7.00 went through" in billing
    assert "did not go through" not in billing
    assert the_subscription(app).status is SubscriptionStatus.ACTIVE
    with app.app_context():
        default = db.session.scalar(sa.select(PaymentMethod).where(PaymentMethod.priority == 1))
        assert default.last4 == "4444"
    emu("POST", "flush")
    run_worker(app)
    assert subjects(mailbox) == ["Payment received: your account is in good standing"]
    [_, renewal] = invoices(app)
    assert renewal.card_label == "Mastercard ending 4444"


def test_making_another_card_the_default_while_past_due_pays_with_it(
        app, site, client, emu, alice, mailbox, app_clock):
    pay(client, emu, "monthly", card=VISA)
    add_card(client, emu, "5555555555554444")  # second in the order
    with app.app_context():
        visa = db.session.scalar(sa.select(PaymentMethod).where(PaymentMethod.last4 == "4242"))
        master = db.session.scalar(sa.select(PaymentMethod).where(PaymentMethod.last4 == "4444"))
    emu("POST", f"payment_methods/{visa.stripe_payment_method_id}/decline",
        decline_code="generic_decline")
    emu("POST", f"payment_methods/{master.stripe_payment_method_id}/decline",
        decline_code="generic_decline")
    emu("POST", "clock/advance", seconds=RENEWAL)
    emu("POST", "flush")
    # Our clock reads Stripe's (as in production): the snapshot the payment's answer is
    # stamped with is not older than the card change's own event, still on its way.
    app_clock(emu)
    assert the_subscription(app).status is SubscriptionStatus.PAST_DUE
    emu("POST", f"payment_methods/{master.stripe_payment_method_id}/decline", decline_code=None)
    post(client, f"/settings/billing/cards/{master.id}/default")
    billing = page(client, "/settings/billing")
    assert "Mastercard ending 4444 is now your default card. Your overdue payment" in billing
    assert the_subscription(app).status is SubscriptionStatus.ACTIVE


def test_a_switch_receipt_itemises_the_credit_for_unused_time(app, site, client, emu, alice,
                                                               mailbox):
    import re

    from tests.test_subscriptions_pages import post_action

    pay(client, emu, "monthly", card=VISA)
    preview = client.get("/subscriptions/switch").get_data(as_text=True)
    when = re.search(r'name="proration_date" value="(\d+)"', preview).group(1)
    assert post_action(client, "/subscriptions/switch", to_interval="annual",
                       proration_date=when).status_code == 303
    emu("POST", "flush")
    run_worker(app)
    switch = next(i for i in invoices(app) if i.billing_reason == "subscription_update")
    amounts = [line["amount"] for line in switch.lines]
    assert sum(amounts) == switch.amount_paid and min(amounts) < 0 < max(amounts)
    receipt = page(client, f"/settings/payments/{switch.id}")
    for line in switch.lines:
        assert line["description"] in receipt
    credit = -min(amounts)
    assert f"−£{credit / 100:.2f}" in receipt
    assert "VAT</th><td>£0.00" in receipt  # the seller is VAT-registered: the tax is stated
    paid = receipt.split("<tfoot>", 1)[1]
    assert f"£{switch.amount_paid / 100:.2f}" in paid
