"""3-D Secure end to end: a first payment confirmed at Checkout, and an off-session renewal
the bank wants the customer to confirm (`invoice.payment_action_required`, with
`invoice.payment_failed` as Stripe also sends): past due with the grace period, ONE e-mail
with the link to Stripe's hosted invoice page, the same link in the warning on every page
and on settings, all gone once the invoice is paid."""

import pytest

from app.subscriptions.models import SubscriptionStatus
from tests.mail_fixtures import (  # noqa: F401  (fixtures)
    jobs,
    mail_config,
    mailbox,
    run_worker,
    smtp,
)
from tests.mailbox import text_of
from tests.test_subscriptions_pages import (  # noqa: F401
    DAY,
    alice,
    session_id_of,
    subscribe,
    the_subscription,
)

ALWAYS = "4000002760003184"  # every payment asks for authentication


@pytest.fixture
def app_config(emulated_config, mail_config):
    return {**emulated_config, **mail_config, "SUBSCRIPTION_GRACE_DAYS": 7}


def waiting_intent(app, customer_id: str) -> str:
    with app.app_context():
        from app.billing import gateway

        intents = gateway.client().v1.payment_intents.list({"customer": customer_id}).data
    [waiting] = [pi.id for pi in intents if pi.status == "requires_action"]
    return waiting


def test_a_renewal_needing_authentication_sends_one_email_and_links_the_warning(
        app, site, client, emu, alice, mailbox):
    session_id = session_id_of(subscribe(client, "monthly"))
    session = emu("POST", f"checkout/sessions/{session_id}/complete", card=ALWAYS)
    assert session["status"] == "open"  # the challenge comes first
    emu("POST", f"payment_intents/{waiting_intent(app, session['customer'])}/authenticate",
        outcome="succeed")
    client.get(f"/subscriptions/return?session_id={session_id}")
    emu("POST", "flush")
    assert the_subscription(app).status is SubscriptionStatus.ACTIVE
    run_worker(app)
    mailbox.clear()

    emu("POST", "clock/advance", seconds=31 * DAY + 3600)  # the renewal asks the customer
    emu("POST", "flush")
    sub = the_subscription(app)
    assert sub.status is SubscriptionStatus.PAST_DUE
    run_worker(app)
    [mail] = mailbox.messages  # one clear message, not "did not go through" as well
    assert mail["Subject"] == "Please confirm your payment of £7.00"
    hosted = f"{emu.url}/invoices/{sub.latest_invoice_id}"
    assert hosted in text_of(mail)

    page = client.get("/premium")
    assert page.status_code == 200  # Premium kept for the grace period
    html = page.get_data(as_text=True)
    assert "Your bank asks you to confirm your last payment." in html
    assert f'href="{hosted}"' in html and "Confirm your payment" in html
    assert f'href="{hosted}"' in client.get("/settings").get_data(as_text=True)

    # The customer confirms on Stripe's page (the emulator's control endpoint is its path).
    emu("POST", f"payment_intents/{waiting_intent(app, sub.stripe_customer_id)}/authenticate",
        outcome="succeed")
    emu("POST", "flush")
    assert the_subscription(app).status is SubscriptionStatus.ACTIVE
    html = client.get("/premium").get_data(as_text=True)
    assert "Confirm your payment" not in html and "did not go through" not in html
    run_worker(app)
    assert [str(m["Subject"]) for m in mailbox.messages][1:] == [
        "Payment received: your account is in good standing"]
