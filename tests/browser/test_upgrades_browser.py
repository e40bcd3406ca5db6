"""Upgrades end to end in Chromium: our pages, the emulator's hosted Checkout page, and
real signed webhooks delivered by the emulator over HTTP to a live server."""

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.upgrades.models import UserUpgrade
from tests.conftest import PASSWORD
from tests.upgrade_helpers import level_of

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


def log_in(page, site, username: str) -> None:
    page.goto(site.url + "/login")
    page.get_by_label("Email or username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()


def start_gold_checkout(page, site, username: str) -> str:
    """Log in, press "Upgrade to Gold", land on the hosted Checkout page; its session id."""
    log_in(page, site, username)
    page.goto(site.url + "/user_upgrades/new")
    page.get_by_role("button", name="Upgrade to Gold").click()
    expect(page).to_have_url(re.compile(r"/checkout/cs_"))
    return page.url.rsplit("/", 1)[1]


def statuses(app) -> list[str]:
    with app.app_context():
        return [u.status.value for u in db.session.scalars(db.select(UserUpgrade))]


def deliveries(emu, event_type: str) -> list[dict]:
    emu("POST", "flush")
    return [d for d in emu("GET", "deliveries")["data"] if d["type"] == event_type]


def test_gift_platinum_paid_by_card(app, site, page, browser, emu, make_user):
    make_user("alice")
    make_user("bob")
    log_in(page, site, "alice")
    page.get_by_role("link", name="Upgrade", exact=True).click()
    page.get_by_label("Gift to (username)").fill("bob")
    page.get_by_role("button", name="Gift an upgrade").click()
    expect(page.get_by_role("heading", name="Gift Account Upgrade")).to_be_visible()
    page.get_by_role("button", name="Gift Platinum").click()

    # Stripe's (the emulator's) hosted Checkout page, prefilled with the purchaser's email.
    expect(page).to_have_url(re.compile(r"/checkout/cs_"))
    expect(page.locator("#email")).to_have_value("alice@example.com")
    page.get_by_label("Visa: succeeds").check()
    page.get_by_role("button", name="Pay", exact=True).click()

    expect(page).to_have_url(re.compile(re.escape(site.url) + r"/user_upgrades/\d+$"))
    expect(page.locator(".status-line .status")).to_have_text("Complete")
    expect(page.get_by_text("£40.00")).to_be_visible()
    expect(page.get_by_role("link", name="Stripe receipt")).to_be_visible()
    # The webhook arrived too, signed, over HTTP, and was accepted (a no-op by then or not).
    assert [d["status_code"] for d in deliveries(emu, "checkout.session.completed")] == [200]
    assert statuses(app) == ["complete"]

    bob_page = browser.new_context().new_page()
    log_in(bob_page, site, "bob")
    expect(bob_page.locator(".account-menu .badge")).to_have_text("Platinum")
    bob_page.goto(site.url + "/premium")
    expect(bob_page.get_by_text("Platinum level (never expires)")).to_be_visible()
    bob_page.goto(site.url + "/user_upgrades")
    expect(bob_page.get_by_text("Gift from @alice")).to_be_visible()
    bob_page.context.close()


def test_declined_card_leaves_only_a_pending_then_expired_upgrade(app, site, page, emu,
                                                                  make_user):
    alice = make_user("alice")
    session_id = start_gold_checkout(page, site, "alice")
    page.get_by_label("Visa: declined").check()
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Your card was declined.")
    assert statuses(app) == ["pending"]

    emu("POST", f"checkout/sessions/{session_id}/expire")
    assert [d["status_code"] for d in deliveries(emu, "checkout.session.expired")] == [200]
    assert statuses(app) == ["expired"]
    assert level_of(app, alice) == "member"
    page.goto(site.url + "/user_upgrades")
    expect(page.locator(".status")).to_have_text("Expired")


def test_delayed_payment_processing_then_complete(app, site, page, emu, make_user):
    alice = make_user("alice")
    session_id = start_gold_checkout(page, site, "alice")
    page.get_by_label("Delayed payment").check()
    page.get_by_role("button", name="Pay", exact=True).click()

    expect(page.locator(".status-line .status")).to_have_text("Processing")
    assert level_of(app, alice) == "member"
    emu("POST", f"checkout/sessions/{session_id}/settle", outcome="succeeded")
    # The receipt refreshes itself; the async_payment_succeeded webhook completes it.
    expect(page.locator(".status-line .status")).to_have_text("Complete", timeout=20_000)
    expect(page.locator(".account-menu .badge")).to_have_text("Gold")
    assert level_of(app, alice) == "gold"
