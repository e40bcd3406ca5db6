"""Cards on /settings/billing through the emulator: add (setup-mode Checkout), default,
move, remove, and the refusals (another user's card, no CSRF, billing off, the last card
of a subscriber)."""

import json
import re

import pytest
import sqlalchemy as sa

from app.billing import gateway
from app.billing.models import BillingInfo, PaymentMethod
from app.extensions import db
from tests.conftest import csrf_token
from tests.test_subscriptions_pages import add_subscription

VISA, MASTERCARD = "4242424242424242", "5555555555554444"


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


@pytest.fixture
def alice(app, make_user, login):
    user = make_user("alice")
    login(user)
    return user


def post(client, path: str, **data):
    data.setdefault("csrf_token", csrf_token(client, "/settings/billing"))
    return client.post(path, data=data)


def add_card(client, emu, number: str):
    """Add a card as a user would: Stripe's page, then back to ours."""
    response = post(client, "/settings/billing/cards")
    assert response.status_code == 303, response.get_data(as_text=True)
    session_id = response.location.rsplit("/", 1)[1]
    emu("POST", f"checkout/sessions/{session_id}/complete", card=number)
    return client.get(f"/settings/billing/cards/added?session_id={session_id}")


def cards(app) -> list[tuple[str, int, str]]:
    """(brand, priority, Stripe id) of every card row, in priority order."""
    with app.app_context():
        return [(c.brand, c.priority, c.stripe_payment_method_id) for c in db.session.scalars(
            sa.select(PaymentMethod).order_by(PaymentMethod.billing_info_id,
                                              PaymentMethod.priority))]


def stripe_default(app) -> str | None:
    with app.app_context():
        customer_id = db.session.scalar(sa.select(BillingInfo.stripe_customer_id))
        customer = gateway.retrieve_customer(customer_id)
    return customer.invoice_settings.default_payment_method


def attached(app) -> set[str]:
    with app.app_context():
        customer_id = db.session.scalar(sa.select(BillingInfo.stripe_customer_id))
        found = gateway.client().v1.customers.payment_methods.list(customer_id)
    return {pm.id for pm in found.data}


def card_id(app, stripe_id: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(PaymentMethod.id).where(
            PaymentMethod.stripe_payment_method_id == stripe_id))


def page(client) -> str:
    return re.sub(r"\s+", " ", client.get("/settings/billing").get_data(as_text=True))


def test_add_two_cards_reorder_make_default_and_remove(app, client, emu, alice):
    response = add_card(client, emu, VISA)
    assert response.status_code == 303
    assert "Visa ending 4242 saved." in page(client)
    add_card(client, emu, MASTERCARD)
    (_, _, visa), (_, _, mastercard) = rows = cards(app)
    assert [(brand, priority) for brand, priority, _ in rows] == [("visa", 1), ("mastercard", 2)]
    assert stripe_default(app) == visa  # the first card is the one Stripe charges
    html = page(client)
    assert html.index('data-card="4242"') < html.index('data-card="4444"')

    post(client, f"/settings/billing/cards/{card_id(app, mastercard)}/default")
    assert [s for _, _, s in cards(app)] == [mastercard, visa]
    assert stripe_default(app) == mastercard
    assert "Mastercard ending 4444 is now your default card." in page(client)

    post(client, f"/settings/billing/cards/{card_id(app, mastercard)}/down")
    assert [s for _, _, s in cards(app)] == [visa, mastercard]
    assert stripe_default(app) == visa  # a new first card is the default

    post(client, f"/settings/billing/cards/{card_id(app, visa)}/remove")
    assert cards(app) == [("mastercard", 1, mastercard)]
    assert attached(app) == {mastercard}
    assert stripe_default(app) == mastercard


def test_the_last_card_of_a_subscriber_cannot_be_removed(app, client, emu, alice):
    add_card(client, emu, VISA)
    [(_, _, visa)] = cards(app)
    add_subscription(app, alice, status="active")
    response = post(client, f"/settings/billing/cards/{card_id(app, visa)}/remove")
    assert response.status_code == 303
    assert "Your subscription is paid with this card: add another to remove it." in page(client)
    assert [s for _, _, s in cards(app)] == [visa]
    assert attached(app) == {visa}


KEPT = "Your subscription is paid with this card: add another to remove it."


def test_remove_is_offered_only_where_it_would_work_and_says_why_not(app, client, emu,
                                                                     alice):
    add_card(client, emu, VISA)
    [(_, _, visa)] = cards(app)
    remove_link = f'href="/settings/billing/cards/{card_id(app, visa)}/remove"'
    assert remove_link in page(client) and KEPT not in page(client)  # no subscription
    add_subscription(app, alice, status="active")
    html = page(client)
    assert remove_link not in html and ">Remove<" not in html
    assert KEPT in html
    # Its confirm page says the same, with no Remove button.
    confirm = client.get(f"/settings/billing/cards/{card_id(app, visa)}/remove")
    assert confirm.status_code == 200
    text = re.sub(r"\s+", " ", confirm.get_data(as_text=True))
    assert KEPT in text and 'type="submit"' not in text.split("<main", 1)[1]
    # With a second card, either may go.
    add_card(client, emu, MASTERCARD)
    html = page(client)
    assert KEPT not in html and html.count(">Remove<") == 2


def test_every_remove_asks_first_and_keep_changes_nothing(app, client, emu, alice):
    add_card(client, emu, VISA)
    [(_, _, visa)] = cards(app)
    path = f"/settings/billing/cards/{card_id(app, visa)}/remove"
    confirm = client.get(path)
    assert confirm.status_code == 200
    html = re.sub(r"\s+", " ", confirm.get_data(as_text=True))
    assert "<h1 id=\"remove-heading\">Remove Visa ending 4242?</h1>" in html
    assert f'<form method="post" action="{path}"' in html and 'name="csrf_token"' in html
    assert '<button type="submit" class="button button-danger">Remove</button>' in html
    assert '<a class="button" href="/settings/billing">Keep</a>' in html
    assert attached(app) == {visa} and len(cards(app)) == 1  # asking removes nothing
    post(client, path)
    assert cards(app) == [] and attached(app) == set()
    assert client.get(path).status_code == 404  # gone


def test_another_users_card_is_404_and_nothing_changes(app, client, emu, alice, make_user,
                                                       login):
    add_card(client, emu, VISA)
    add_card(client, emu, MASTERCARD)
    before, default_before = cards(app), stripe_default(app)
    ids = [card_id(app, s) for _, _, s in before]
    post(client, "/logout")
    login(make_user("mallory"))
    for card in ids:
        for action in ("default", "up", "down", "remove"):
            assert post(client, f"/settings/billing/cards/{card}/{action}").status_code == 404
        assert client.get(f"/settings/billing/cards/{card}/remove").status_code == 404
    assert cards(app) == before and stripe_default(app) == default_before
    assert post(client, "/settings/billing/cards/99999999999/remove").status_code == 404


def test_card_actions_need_the_csrf_token(app, client, emu, alice):
    add_card(client, emu, VISA)
    [(_, _, visa)] = cards(app)
    for path in ("/settings/billing/cards", f"/settings/billing/cards/{card_id(app, visa)}/remove"):
        assert client.post(path, data={}).status_code == 400
    assert attached(app) == {visa} and len(cards(app)) == 1


def test_with_billing_off_every_card_action_is_503(app, client, emu, alice):
    add_card(client, emu, VISA)
    [(_, _, visa)] = cards(app)
    app.config["BILLING_ENABLED"] = False
    for path in ("/settings/billing/cards", f"/settings/billing/cards/{card_id(app, visa)}/remove",
                 f"/settings/billing/cards/{card_id(app, visa)}/default"):
        response = post(client, path)
        assert response.status_code == 503
        assert "Cards cannot be changed at the moment." in response.get_data(as_text=True)
    assert len(cards(app)) == 1


def test_a_cancelled_or_foreign_setup_session_records_nothing(app, client, emu, alice):
    response = post(client, "/settings/billing/cards")
    session_id = response.location.rsplit("/", 1)[1]
    # Not completed: coming back records nothing.
    client.get(f"/settings/billing/cards/added?session_id={session_id}")
    assert cards(app) == []
    for bad in ("", "cs_does_not_exist", "x" * 300, "\x00"):
        assert client.get(f"/settings/billing/cards/added?session_id={bad}").status_code == 303
    assert cards(app) == []


def test_users_show_lists_the_cards_in_order(app, client, emu, alice):
    add_card(client, emu, VISA)
    add_card(client, emu, MASTERCARD)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "show", "alice@example.com", "--json"])
    assert result.exit_code == 0, result.output
    shown = [{k: card[k] for k in ("brand", "last4", "exp_month", "exp_year", "priority")}
             for card in json.loads(result.output)["cards"]]
    assert shown == [
        {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034, "priority": 1},
        {"brand": "mastercard", "last4": "4444", "exp_month": 12, "exp_year": 2034,
         "priority": 2}]
    text = runner.invoke(args=["users", "show", "alice@example.com"]).output
    assert "1. Visa ending 4242, expires 12/2034 (default)" in text
