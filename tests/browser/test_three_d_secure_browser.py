"""3-D Secure in Chromium (issue 20): each of Stripe's authentication test cards pays the
first month through the emulator's hosted Checkout and its challenge page, then renews.

- 4000 0027 6000 3184 asks every time: the renewal leaves the subscription past due, the
  warning on every page links to Stripe's hosted invoice page, one e-mail carries the same
  link, and confirming there (its challenge, Complete) clears it all.
- 4000 0025 0000 3155 and 4000 0000 0000 3220 ask on-session only once set up: Checkout
  sets them up, so their renewal is paid with nothing asked and nothing shown. The 3155
  case fails the challenge first: the error shows, nothing is charged, nothing is active.

THREE_DS_SHOTS=/tmp/shots-3ds saves the challenge pages, the hosted invoice page, the
warning and settings at 1280 and 390 px (the layout is checked at both widths either way).
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.subscriptions.checkout import WAIVER_TEXT
from app.subscriptions.models import Subscription, SubscriptionStatus
from tests.browser.layout import layout_problems
from tests.browser.test_subscriptions_browser import move_clock, pay_on_checkout
from tests.browser.test_upgrades_browser import log_in
from tests.mail_fixtures import (  # noqa: F401  (fixtures)
    app_clock,
    mail_config,
    mailbox,
    run_worker,
    smtp,
)
from tests.mailbox import text_of
from tests.test_subscriptions_pages import DAY

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("THREE_DS_SHOTS")
CONFIRM = "Your bank asks you to confirm your last payment."
NOT_AUTHENTICATED = ("We are unable to authenticate your payment method. Please choose a "
                     "different payment method and try again.")


@dataclass(frozen=True)
class Card:
    label: str  # as the hosted Checkout page names it
    renewal_asks: bool  # off-session, once Checkout has set the card up
    fail_first: bool = False


CARDS = [
    pytest.param(Card("Visa: always asks for authentication (3-D Secure)", True), id="3184"),
    pytest.param(Card("Visa: asks for authentication unless set up for later", False,
                      fail_first=True), id="3155"),
    pytest.param(Card("Visa: 3-D Secure 2 authentication", False), id="3220"),
]


@pytest.fixture
def app_config(emulated_config, mail_config):
    return {**emulated_config, **mail_config, "SUBSCRIPTION_GRACE_DAYS": 7}


def look(page, name: str) -> None:
    """No layout problem at either width (and the screenshots, when asked for)."""
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert layout_problems(page) == [], (name, width)
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(full_page=True, path=str(Path(SHOTS) / f"{name}-{width}.png"))
    page.set_viewport_size({"width": 1280, "height": 900})


def succeeded_charges(emu_url: str) -> list[int]:
    """The amounts of every successful charge at the emulator."""
    response = requests.get(f"{emu_url}/v1/charges", params={"limit": 100}, timeout=10,
                            headers={"Authorization": "Bearer sk_test_emulator"})
    return [c["amount"] for c in response.json()["data"] if c["status"] == "succeeded"]


def active_subscriptions(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Subscription).where(
            Subscription.status == SubscriptionStatus.ACTIVE))


def challenge(page) -> None:
    """The emulator's 3-D Secure step: the amount and the card it asks about."""
    expect(page.get_by_role("heading", name="Authenticate your payment")).to_be_visible()
    expect(page.locator("#challenge-amount")).to_have_text("£7.00")


def subscribe_monthly(page, site, emu, emulator, app, card: Card) -> None:
    """Pricing, the hosted Checkout, its challenge (failed once if the card says so), then
    Complete: back on settings, subscribed."""
    log_in(page, site, "alice")
    page.goto(site.url + "/pricing")
    page.get_by_label(WAIVER_TEXT).check()
    page.get_by_role("button", name="Subscribe for £7.00 a month").click()
    pay_on_checkout(page, card.label)
    challenge(page)
    if card.fail_first:
        page.get_by_role("button", name="Fail authentication").click()
        expect(page).to_have_url(re.compile(r"/checkout/cs_"))
        expect(page.get_by_role("alert")).to_have_text(NOT_AUTHENTICATED)
        look(page, "checkout-failed")
        emu("POST", "flush")
        assert succeeded_charges(emulator.url) == []
        assert active_subscriptions(app) == 0
        pay_on_checkout(page, card.label)  # the same card again, on the same session
        challenge(page)
    else:
        look(page, "checkout-challenge")
    page.get_by_role("button", name="Complete authentication").click()
    expect(page).to_have_url(site.url + "/settings")
    expect(page.get_by_text("Welcome to Premium")).to_be_visible()
    expect(page.locator(".plan-line .status")).to_have_text("Active")
    emu("POST", "flush")
    assert succeeded_charges(emulator.url) == [700]


def confirm_the_renewal(page, site, app, emulator, mailbox) -> None:
    """Past due with the link on every page and in one e-mail; confirmed on Stripe's
    hosted invoice page; everything back to normal."""
    run_worker(app)
    [mail] = mailbox.messages  # one message, not "did not go through" as well
    assert mail["Subject"] == "Please confirm your payment of £7.00"
    hosted = re.search(rf"{re.escape(emulator.url)}/invoices/in_\w+", text_of(mail)).group(0)

    for path in ("/premium", "/pricing"):
        page.goto(site.url + path)
        banner = page.get_by_role("alert").filter(has_text=CONFIRM)
        expect(banner).to_contain_text("You keep Premium until")
        expect(banner.get_by_role("link", name="Confirm your payment")).to_have_attribute(
            "href", hosted)
        look(page, "banner" + path.replace("/", "-"))
    page.goto(site.url + "/settings")
    expect(page.locator(".plan-line .status")).to_have_text("Payment overdue")
    warning = page.locator(".past-due")
    expect(warning).to_contain_text(CONFIRM)
    look(page, "settings")

    warning.get_by_role("link", name="Confirm your payment").click()
    expect(page).to_have_url(hosted)
    expect(page.locator("#invoice-action")).to_have_text(
        "Your bank asks you to confirm this payment.")
    look(page, "invoice")
    page.get_by_role("button", name="Confirm payment of £7.00").click()
    challenge(page)
    look(page, "invoice-challenge")
    page.get_by_role("button", name="Complete authentication").click()
    expect(page).to_have_url(hosted)
    expect(page.locator("#invoice-status")).to_have_text("paid")
    look(page, "invoice-paid")


@pytest.mark.parametrize("card", CARDS)
def test_first_payment_and_renewal(app, site, page, emu, emulator, make_user, mailbox,
                                   app_clock, card):  # noqa: F811
    make_user("alice")
    subscribe_monthly(page, site, emu, emulator, app, card)
    run_worker(app)
    mailbox.clear()

    move_clock(emu, 31 * DAY + 3600)  # the renewal is charged off-session
    app_clock(emu)
    if card.renewal_asks:
        confirm_the_renewal(page, site, app, emulator, mailbox)
        emu("POST", "flush")
    else:
        run_worker(app)
    assert succeeded_charges(emulator.url) == [700, 700]

    page.goto(site.url + "/premium")
    expect(page.get_by_text("You have Premium access.")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)
    page.goto(site.url + "/settings")
    expect(page.locator(".plan-line .status")).to_have_text("Active")
    expect(page.locator(".past-due")).to_have_count(0)
    run_worker(app)
    confirming = [s for s in mailbox.subjects() if s.startswith("Please confirm")]
    assert confirming == (["Please confirm your payment of £7.00"] if card.renewal_asks else [])
    assert not [s for s in mailbox.subjects() if "did not go through" in s]
