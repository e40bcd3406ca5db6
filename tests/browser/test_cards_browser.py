"""Cards end to end in Chromium: two cards saved on the emulator's hosted setup page, put in
order, made default, removed after a confirm step (Keep changes nothing); the last card of a
subscriber kept, with no Remove and the reason said. The emulator delivers its
webhooks to the live server meanwhile, as Stripe would."""

import re

import pytest
import requests
import sqlalchemy as sa
from playwright.sync_api import expect

from app.billing.models import BillingInfo, PaymentMethod
from app.extensions import db
from tests.browser.layout import layout_problems
from tests.browser.test_upgrades_browser import log_in
from tests.test_subscriptions_pages import add_subscription

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


def add_card(page, card_label: str) -> None:
    page.get_by_role("button", name="Add a card").click()
    expect(page).to_have_url(re.compile(r"/checkout/cs_"))
    page.get_by_label(card_label).check()
    page.get_by_role("button", name="Save card").click()
    expect(page).to_have_url(re.compile(r"/settings/billing$"))


def rows(page):
    return page.locator(".card-row")


def stripe_state(app, emulator) -> tuple[str | None, set[str], dict[str, str]]:
    """(the customer's default card, its cards, our card ids by last 4) at the emulator."""
    with app.app_context():
        customer = db.session.scalar(sa.select(BillingInfo.stripe_customer_id))
        ours = {c.last4: c.stripe_payment_method_id
                for c in db.session.scalars(sa.select(PaymentMethod))}
    auth = {"Authorization": "Bearer sk_test_emulator"}
    found = requests.get(f"{emulator.url}/v1/customers/{customer}", headers=auth,
                         timeout=10).json()
    cards = requests.get(f"{emulator.url}/v1/customers/{customer}/payment_methods",
                         headers=auth, timeout=10).json()
    return (found["invoice_settings"]["default_payment_method"],
            {c["id"] for c in cards["data"]}, ours)


def test_two_cards_ordered_defaulted_and_removed(app, site, page, emu, emulator, make_user):
    alice = make_user("alice")
    log_in(page, site, "alice")
    page.goto(site.url + "/settings/billing")
    expect(page.get_by_text("No cards saved yet.")).to_be_visible()

    add_card(page, "Visa: succeeds")
    expect(page.get_by_text("Visa ending 4242 saved.")).to_be_visible()
    add_card(page, "Mastercard: succeeds")
    expect(rows(page)).to_have_count(2)
    expect(rows(page).nth(0)).to_contain_text("Visa ending 4242")
    expect(rows(page).nth(0)).to_contain_text("Default")
    expect(rows(page).nth(1)).to_contain_text("Mastercard ending 4444")
    default, _, ours = stripe_state(app, emulator)
    assert default == ours["4242"]

    rows(page).nth(1).get_by_role("button", name="Make default").click()
    expect(page.get_by_text("Mastercard ending 4444 is now your default card.")).to_be_visible()
    expect(rows(page).nth(0)).to_contain_text("Mastercard ending 4444")
    assert stripe_state(app, emulator)[0] == ours["4444"]

    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert layout_problems(page) == [], width

    page.get_by_role("button", name="Move Mastercard ending 4444 down").click()
    expect(rows(page).nth(0)).to_contain_text("Visa ending 4242")
    assert stripe_state(app, emulator)[0] == ours["4242"]

    # Remove asks first; Keep goes back with nothing changed.
    page.get_by_role("link", name="Remove Mastercard ending 4444").click()
    expect(page.get_by_role("heading", name="Remove Mastercard ending 4444?")).to_be_visible()
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert layout_problems(page) == [], width
    page.get_by_role("link", name="Keep").click()
    expect(page).to_have_url(re.compile(r"/settings/billing$"))
    expect(rows(page)).to_have_count(2)
    page.get_by_role("link", name="Remove Mastercard ending 4444").click()
    page.get_by_role("button", name="Remove", exact=True).click()
    expect(page.get_by_text("Mastercard ending 4444 removed.")).to_be_visible()
    expect(rows(page)).to_have_count(1)
    default, attached, _ = stripe_state(app, emulator)
    assert attached == {ours["4242"]} and default == ours["4242"]

    add_subscription(app, alice, status="active")
    page.reload()
    expect(page.get_by_text("Your subscription is paid with this card: add another to "
                            "remove it.")).to_be_visible()
    expect(page.get_by_role("link", name="Remove Visa ending 4242")).to_have_count(0)
    expect(page.get_by_role("button", name="Remove Visa ending 4242")).to_have_count(0)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert layout_problems(page) == [], width
    expect(rows(page)).to_have_count(1)
    assert stripe_state(app, emulator)[1] == {ours["4242"]}

    emu("POST", "flush")  # the emulator's webhooks, delivered late, change nothing
    page.reload()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).nth(0)).to_contain_text("Visa ending 4242")
