"""The receipt in every state: one honest sentence each, the amount, card and Stripe's
receipt only when money moved, Try again where nothing was charged, the status address the
page's script asks, and what a receipt carries (seller, support, date paid, print)."""

import re
from datetime import timedelta
from pathlib import Path

import pytest

from app.auth.models import Level, utcnow
from app.extensions import db
from app.upgrades.models import UpgradeStatus, UserUpgrade
from tests.conftest import csrf_token
from tests.upgrade_helpers import make_upgrade

S = UpgradeStatus
RECEIPT = "https://pay.stripe.com/receipts/payment/CAcaFwoVYWNj"


@pytest.fixture
def app_config(billing_config):
    # Billing on (Try again is offered), with Stripe unreachable: a receipt that asked
    # Stripe for anything would fail to render.
    return billing_config


def set_state(app, upgrade_id: int, state: str) -> None:
    """Put an upgrade in `state` as the service would have left it."""
    now = utcnow()
    with app.app_context():
        row = db.session.get(UserUpgrade, upgrade_id)
        started = now - (timedelta(hours=1) if state == "pending" else timedelta(days=3))
        row.created_at = started
        row.checkout_url = "https://checkout.stripe.com/c/pay/cs_test_x"
        row.checkout_expires_at = started + timedelta(hours=24)
        paid = state in ("complete", "refunded", "disputed")
        if paid or state in ("processing", "failed"):
            row.stripe_payment_intent_id = f"pi_{upgrade_id}"
            row.stripe_charge_id = f"ch_{upgrade_id}"
            row.receipt_url = RECEIPT  # a failed charge has a receipt address too
            row.card_brand, row.card_last4 = "visa", "4242"
        if state == "processing":
            row.status = S.PROCESSING
        elif paid:
            row.status, row.completed_at = S.COMPLETE, now - timedelta(days=2)
            row.recipient.level = row.type.target
        if state == "refunded":
            row.status, row.refunded_at = S.REFUNDED, now - timedelta(days=1)
            row.amount_refunded = row.amount
        elif state == "disputed":
            row.disputed_at = now - timedelta(days=1)
        elif state in ("failed", "expired", "cancelled"):
            row.status, row.closed_at = S(state), now
        elif state == "checkout closed":  # Stripe's expiry event has not come yet
            row.checkout_expires_at = now - timedelta(minutes=1)
        db.session.commit()


def page(client, upgrade_id: int) -> str:
    response = client.get(f"/user_upgrades/{upgrade_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def status_line(html: str) -> str:
    match = re.search(r'<p class="status-line"[^>]*>(.*?)</p>', html, re.S)
    assert match, "no status line"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def log_out(client) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client)})


@pytest.fixture
def alice(make_user, login):
    user = make_user("alice")
    login(user)
    return user


# state: (badge, sentence, money moved, Try again offered, still checking)
STATES = {
    "pending": ("Awaiting payment",
                "The payment page is still open; nothing has been charged yet.",
                False, False, True),
    "processing": ("Processing", "The payment is on its way: a bank payment can take a few "
                   "working days. Gold is added as soon as it arrives.", False, False, True),
    "complete": ("Paid", "Gold is on your account now.", True, False, False),
    "failed": ("Failed", "The payment did not go through, so nothing was charged and Gold "
               "was not added.",
               False, True, False),
    "expired": ("Expired", "The payment page closed before a payment was made. Nothing was "
                "charged.", False, True, False),
    "checkout closed": ("Expired", "The payment page closed before a payment was made. "
                        "Nothing was charged.", False, True, False),
    "cancelled": ("Cancelled", "You left the payment page; nothing was charged.", False, True,
                  False),
    "refunded": ("Refunded", "The whole payment was refunded on", True, False, False),
    "disputed": ("Disputed", "The card issuer told us on", True, False, False),
}


@pytest.mark.parametrize("state", list(STATES))
def test_each_state_says_what_is_true(app, client, alice, state):
    badge, sentence, charged, retry, checking = STATES[state]
    ids = make_upgrade(app, alice)
    set_state(app, ids["id"], state)
    html = page(client, ids["id"])
    assert status_line(html).startswith(f"{badge} {sentence}")
    assert 'http-equiv="refresh"' not in html  # no page reloads itself, in any state
    # The amount, the card, the date paid and Stripe's receipt only when money moved.
    assert ("£20.00" in html) is charged
    assert ("Visa ending 4242" in html) is charged
    assert ("Paid on" in html) is charged
    assert ("Stripe receipt" in html) is charged
    assert ("data-print" in html) is charged
    assert ('<button type="submit" class="button button-primary">Try again</button>'
            in html) is retry
    assert ("Continue to payment" in html) is (state == "pending")
    assert ("Refresh</a>" in html) is checking
    assert ("data-poll-final" in html) is not checking
    if "nothing was charged" in sentence.lower():
        assert "£" not in status_line(html) and "Stripe receipt" not in html


def test_try_again_starts_the_same_purchase_for_the_same_person(app, client, alice,
                                                               make_user):
    bob = make_user("bob")
    ids = make_upgrade(app, alice, bob, "platinum", amount=4000)
    set_state(app, ids["id"], "cancelled")
    html = page(client, ids["id"])
    form = re.search(r'<form method="post" action="/user_upgrades" data-once>(.*?)</form>',
                     html, re.S).group(1)
    assert 'name="upgrade" value="platinum"' in form
    assert 'name="recipient" value="bob"' in form and 'name="csrf_token"' in form
    assert status_line(html) == "Cancelled You left the payment page; nothing was charged."


def test_try_again_follows_the_recipients_level_and_is_the_buyers_alone(app, client, alice,
                                                                       make_user, login):
    bob = make_user("bob")
    ids = make_upgrade(app, alice, bob, "platinum", amount=4000)
    set_state(app, ids["id"], "failed")
    with app.app_context():
        db.session.get(type(bob), bob.id).level = Level.GOLD
        db.session.commit()
    assert 'name="upgrade" value="gold_to_platinum"' in page(client, ids["id"])
    with app.app_context():
        db.session.get(type(bob), bob.id).level = Level.PLATINUM
        db.session.commit()
    html = page(client, ids["id"])
    assert "Try again" not in html and "has Platinum" not in html
    assert "This upgrade cannot be given to @bob any more." in html  # not his level

    log_out(client)
    login(bob)
    html = page(client, ids["id"])
    assert "Try again" not in html
    assert status_line(html) == ("Failed The payment did not go through, so nothing was "
                                 "charged and Platinum was not added.")


def test_a_gift_says_who_has_what_and_keeps_the_buyers_card_private(app, client, alice,
                                                                   make_user, login):
    bob = make_user("bob")
    ids = make_upgrade(app, alice, bob, "platinum", amount=4000)
    set_state(app, ids["id"], "disputed")
    html = page(client, ids["id"])
    assert status_line(html).startswith("Disputed The card issuer told us on")
    assert "that this payment is disputed" in html and "<dt>Dispute</dt>" in html
    assert "£40.00" in html and "Visa ending 4242" in html

    log_out(client)
    login(bob)
    html = page(client, ids["id"])
    assert status_line(html) == "Paid @alice gave you Platinum. It is on your account now."
    assert "Gift from @alice" in html
    for private in ("£40.00", "Visa ending", "Stripe receipt", "dispute"):
        assert private not in html


def test_a_receipt_names_the_seller_and_how_to_reach_support(app, client, alice):
    ids = make_upgrade(app, alice)
    set_state(app, ids["id"], "complete")
    html = page(client, ids["id"])
    assert "Receipt · Upgrade #" in html
    # Filed by a business: from whom (configuration) to whom (the buyer's billing details).
    parties = html.split('class="parties"', 1)[1].split("</div>", 1)[0]
    assert ">From</h2>" in parties and "<strong>Lumen</strong>" in parties
    assert ">Billed to</h2>" in parties and "<strong>alice</strong>" in parties
    assert (f'<a href="mailto:support@lumen.example?subject=Upgrade%20%23{ids["id"]}">'
            "support@lumen.example</a>") in html
    assert re.search(r"<dt>Paid on</dt><dd>\d+ \w+ \d{4}, \d\d:\d\d UTC</dd>", html)
    assert "<dt>Paid with</dt><dd>Visa ending 4242</dd>" in html


def test_the_support_address_comes_from_the_configuration(app, client, alice):
    app.config["SUPPORT_EMAIL"] = "help@example.org"
    ids = make_upgrade(app, alice)
    assert 'href="mailto:help@example.org?' in page(client, ids["id"])


def test_a_receipt_prints_on_its_own(app, client, alice):
    ids = make_upgrade(app, alice)
    set_state(app, ids["id"], "complete")
    html = page(client, ids["id"])
    head = html.split("</head>")[0]
    assert 'href="/static/css/receipt.css"' in head
    # The Print button is hidden until the script can press it.
    assert '<button type="button" class="button" data-print hidden>Print</button>' in html
    css = (Path(app.static_folder) / "css/receipt.css").read_text()
    print_rules = css.split("@media print")[1]
    for hidden in (".site-header", ".site-footer", ".receipt-actions", ".receipt-nav"):
        assert hidden in print_rules.split("display: none")[0]
    assert "color: #000" in print_rules and "background: #fff" in print_rules


def test_the_list_shows_an_amount_only_where_money_moved(app, client, alice):
    paid, failed = make_upgrade(app, alice), make_upgrade(app, alice, amount=4000)
    set_state(app, paid["id"], "complete")
    set_state(app, failed["id"], "failed")
    html = client.get("/user_upgrades").get_data(as_text=True)
    assert "£20.00" in html and "£40.00" not in html
    assert ">Paid</span>" in html and ">Failed</span>" in html


# --- the state the page's script asks for (?format=json) ----------------------------------------

def test_status_answers_the_state_and_the_parts_to_replace(app, client, alice):
    ids = make_upgrade(app, alice)
    set_state(app, ids["id"], "pending")
    answer = client.get(f"/user_upgrades/{ids['id']}?format=json").json
    assert answer["state"] == "pending" and answer["final"] is False
    assert answer["until"]  # the Checkout page's closing time: checking stops then
    assert set(answer["parts"]) == {"head", "status", "body"}
    assert "still open" in answer["parts"]["status"]

    set_state(app, ids["id"], "complete")
    answer = client.get(f"/user_upgrades/{ids['id']}?format=json").json
    assert (answer["state"], answer["final"], answer["until"]) == ("complete", True, None)
    assert "Gold is on your account now." in answer["parts"]["status"]
    assert "Visa ending 4242" in answer["parts"]["body"]
    assert "Receipt · " in answer["parts"]["head"]


def test_status_is_as_private_as_the_receipt(app, client, make_user, login):
    alice = make_user("alice")
    ids = make_upgrade(app, alice)
    assert client.get(f"/user_upgrades/{ids['id']}?format=json").status_code == 302  # log in
    login(make_user("mallory"))
    assert client.get(f"/user_upgrades/{ids['id']}?format=json").status_code == 404
