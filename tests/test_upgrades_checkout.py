"""Buying through the emulator: the Checkout Session we create, double submits, and the
receipt applying the session on arrival from Checkout (no webhook endpoint is registered)."""

from urllib.parse import parse_qs, urlsplit

import pytest

from app.billing import gateway
from tests.conftest import csrf_token
from tests.upgrade_helpers import emulator_post, level_of, upgrade_row


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


@pytest.fixture
def alice_buys(app, client, make_user, login, synced_catalog):
    """Log alice in and return a function that submits the upgrade form."""
    alice = make_user("alice")
    login(alice)

    def submit(upgrade: str, recipient: str = ""):
        return client.post("/user_upgrades", data={
            "upgrade": upgrade, "recipient": recipient,
            "csrf_token": csrf_token(client, "/user_upgrades/new")})
    return submit


def only_row(app):
    from app.extensions import db
    from app.upgrades.models import UserUpgrade

    with app.app_context():
        [row] = db.session.scalars(db.select(UserUpgrade)).all()
        return row.id


def test_gift_creates_pending_upgrade_and_checkout_session(app, alice_buys, make_user,
                                                          emulator):
    make_user("bob")
    response = alice_buys("platinum", recipient="bob")
    assert response.status_code == 303
    assert response.location.startswith(emulator.url + "/checkout/cs_")
    row = upgrade_row(app, only_row(app))
    assert row.status.value == "pending" and (row.amount, row.currency) == (4000, "gbp")
    with app.app_context():
        session = gateway.retrieve_checkout_session(row.stripe_checkout_session_id)
    assert session.mode == "payment" and session.amount_total == 4000
    # The purchaser's Stripe customer, never bob's: one customer holds alice's history.
    with app.app_context():
        customer = gateway.client().v1.customers.retrieve(session.customer)
    assert customer.email == "alice@example.com"
    assert session.client_reference_id == f"upgrade-{row.id}"
    assert session.metadata["upgrade_id"] == str(row.id)
    assert session.metadata["recipient_id"] == str(row.recipient_id)
    assert session.success_url.endswith(
        f"/user_upgrades/{row.id}?session_id={{CHECKOUT_SESSION_ID}}")
    # Leaving Checkout lands on the upgrade's own page, which closes the session (signed, so
    # no other link can) and says that nothing was charged.
    assert urlsplit(session.cancel_url).path == f"/user_upgrades/{row.id}"
    assert parse_qs(urlsplit(session.cancel_url).query)["cancelled"]


def test_double_submit_reuses_the_open_session(app, alice_buys):
    first, second = alice_buys("gold"), alice_buys("gold")
    assert first.status_code == second.status_code == 303
    assert first.location == second.location
    only_row(app)  # exactly one upgrade


def test_arrival_from_checkout_applies_the_paid_session(app, client, alice_buys, emu):
    alice_buys("gold")
    row = upgrade_row(app, only_row(app))
    emu("POST", f"checkout/sessions/{row.stripe_checkout_session_id}/complete",
        card="4242424242424242")
    response = client.get(f"/user_upgrades/{row.id}?session_id={row.stripe_checkout_session_id}")
    assert response.status_code == 303 and response.location.endswith(f"/user_upgrades/{row.id}")
    row = upgrade_row(app, row.id)
    assert row.status.value == "complete" and row.stripe_payment_intent_id.startswith("pi_")
    assert row.receipt_url and row.stripe_charge_id.startswith("ch_")
    assert level_of(app, row.recipient_id) == "gold"
    # The card comes from the charge Stripe returned with the session, kept on the row:
    # the receipt itself never asks Stripe.
    assert (row.card_brand, row.card_last4) == ("visa", "4242")
    html = client.get(response.location).get_data(as_text=True)
    assert "Gold is on your account now." in html
    assert "Stripe receipt" in html and "£20.00" in html and "Visa ending 4242" in html
    assert "Paid on" in html


def test_arrival_with_a_delayed_payment_shows_processing(app, client, alice_buys, emu):
    alice_buys("gold")
    row = upgrade_row(app, only_row(app))
    emulator_post(emu, f"checkout/sessions/{row.stripe_checkout_session_id}/complete",
                  {"method": "delayed"})
    page = client.get(f"/user_upgrades/{row.id}?session_id={row.stripe_checkout_session_id}",
                      follow_redirects=True).get_data(as_text=True)
    assert "Processing" in page and "a bank payment can take a few working days" in page
    assert 'http-equiv="refresh"' not in page and "data-poll=" in page
    assert "£20.00" not in page and "Stripe receipt" not in page  # no money has moved yet
    assert level_of(app, row.recipient_id) == "member"


def test_arrival_with_someone_elses_session_id_changes_nothing(app, client, alice_buys):
    alice_buys("gold")
    row = upgrade_row(app, only_row(app))
    response = client.get(f"/user_upgrades/{row.id}?session_id=cs_test_not_this_one")
    assert response.status_code == 303
    assert upgrade_row(app, row.id).status.value == "pending"


def leave_checkout(app, client, row):
    """Press Back on the hosted Checkout page: follow the session's cancel_url."""
    with app.app_context():
        session = gateway.retrieve_checkout_session(row.stripe_checkout_session_id)
    parts = urlsplit(session.cancel_url)
    return client.get(f"{parts.path}?{parts.query}")


def test_leaving_checkout_closes_it_and_says_nothing_was_charged(app, client, alice_buys):
    alice_buys("gold")
    row = upgrade_row(app, only_row(app))
    response = leave_checkout(app, client, row)
    assert response.status_code == 303 and response.location == f"/user_upgrades/{row.id}"
    row = upgrade_row(app, row.id)
    assert row.status.value == "cancelled" and row.closed_at is not None
    # Closed at Stripe too: the page left open in another tab can no longer take money.
    with app.app_context():
        assert gateway.retrieve_checkout_session(row.stripe_checkout_session_id).status == \
            "expired"
    html = client.get(response.location).get_data(as_text=True)
    assert "You left the payment page; nothing was charged." in html
    assert "£20.00" not in html and "Stripe receipt" not in html
    assert "Try again</button>" in html and "data-poll-final" in html

    # Try again: a new purchase and a new Checkout Session, not the closed one.
    again = alice_buys("gold")
    assert again.status_code == 303 and "/checkout/cs_" in again.location
    assert row.stripe_checkout_session_id not in again.location


def test_a_cancel_link_without_its_signature_changes_nothing(app, client, alice_buys):
    alice_buys("gold")
    row = upgrade_row(app, only_row(app))
    for query in ("?cancelled", "?cancelled=", "?cancelled=Mg.forged"):
        response = client.get(f"/user_upgrades/{row.id}{query}")
        assert response.status_code == 303
    assert upgrade_row(app, row.id).status.value == "pending"
    with app.app_context():
        assert gateway.retrieve_checkout_session(row.stripe_checkout_session_id).status == \
            "open"


def test_leaving_a_checkout_paid_in_another_tab_shows_the_payment(app, client, alice_buys,
                                                                  emu):
    alice_buys("gold")
    row = upgrade_row(app, only_row(app))
    emu("POST", f"checkout/sessions/{row.stripe_checkout_session_id}/complete",
        card="4242424242424242")
    leave_checkout(app, client, row)
    row = upgrade_row(app, row.id)
    assert row.status.value == "complete" and row.card_last4 == "4242"
    assert level_of(app, row.recipient_id) == "gold"
