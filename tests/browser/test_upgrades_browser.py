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


def watch_requests(page) -> list[str]:
    """Mark the document (a reload would lose the mark) and list every request from now."""
    page.evaluate("window.__sameDocument = true")
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    return asked


def assert_no_reload_and_quiet_after(page, asked: list[str]) -> None:
    """The page was updated in place, and stops asking once the state is final."""
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    assert all(url.endswith("format=json") for url in asked), asked
    seen = len(asked)
    page.wait_for_timeout(7_000)  # longer than the first few pauses between checks
    assert asked[seen:] == [], f"still asking after a final state: {asked[seen:]}"


def test_gift_platinum_paid_by_card(app, site, page, browser, emu, make_user):
    make_user("alice")
    make_user("bob")
    log_in(page, site, "alice")
    page.get_by_role("link", name="Upgrade", exact=True).click()
    page.get_by_label("Gift to (username)").fill("bob")
    page.get_by_role("button", name="Gift an upgrade").click()
    expect(page.get_by_role("heading", name="Gift an upgrade")).to_be_visible()
    page.get_by_role("button", name="Gift Platinum").click()

    # Stripe's (the emulator's) hosted Checkout page, prefilled with the purchaser's email.
    expect(page).to_have_url(re.compile(r"/checkout/cs_"))
    expect(page.locator("#email")).to_have_value("alice@example.com")
    page.get_by_label("Visa: succeeds").check()
    page.get_by_role("button", name="Pay", exact=True).click()

    expect(page).to_have_url(re.compile(re.escape(site.url) + r"/user_upgrades/\d+$"))
    expect(page.locator(".status-line .status")).to_have_text("Paid")
    expect(page.locator(".status-line")).to_contain_text("Paid @bob has Platinum now.")
    expect(page.get_by_text("£40.00")).to_be_visible()
    expect(page.get_by_text("Visa ending 4242")).to_be_visible()
    expect(page.get_by_role("link", name="Stripe receipt")).to_be_visible()
    expect(page.get_by_role("button", name="Print")).to_be_visible()
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
    expect(page.get_by_text("This page updates by itself.")).to_be_visible()
    assert level_of(app, alice) == "member"
    asked = watch_requests(page)
    emu("POST", f"checkout/sessions/{session_id}/settle", outcome="succeeded")
    # The async_payment_succeeded webhook completes it; the page's script learns so and
    # the live region says it, without a reload.
    expect(page.get_by_role("status")).to_contain_text("Paid Gold is on your account now.",
                                                       timeout=20_000)
    assert_no_reload_and_quiet_after(page, asked)
    assert level_of(app, alice) == "gold"
    page.reload()
    expect(page.locator(".account-menu .badge")).to_have_text("Gold")


def test_pending_receipt_announces_the_payment_without_a_reload(app, site, page, emu,
                                                              make_user):
    make_user("alice")
    session_id = start_gold_checkout(page, site, "alice")
    [upgrade_id] = ids(app)
    page.goto(f"{site.url}/user_upgrades/{upgrade_id}")  # the receipt, while Checkout is open
    expect(page.get_by_role("status")).to_contain_text("The payment page is still open")
    expect(page.get_by_role("link", name="Continue to payment")).to_be_visible()
    asked = watch_requests(page)

    # Paid elsewhere (another tab, say): the checkout.session.completed webhook arrives.
    emu("POST", f"checkout/sessions/{session_id}/complete", card="4242424242424242")
    status = page.get_by_role("status")
    expect(status).to_contain_text("Paid Gold is on your account now.", timeout=20_000)
    expect(status).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("link", name="Continue to payment")).to_have_count(0)
    expect(page.get_by_text("£20.00")).to_be_visible()
    # Webhooks alone: the card came with charge.succeeded, the receipt link too.
    expect(page.get_by_text("Visa ending 4242")).to_be_visible()
    expect(page.get_by_role("link", name="Stripe receipt")).to_be_visible()
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    assert asked, "the page never asked for news"
    assert_no_reload_and_quiet_after(page, asked)


def test_leaving_checkout_says_nothing_was_charged_and_offers_to_try_again(app, site, page,
                                                                        emu, make_user):
    make_user("alice")
    start_gold_checkout(page, site, "alice")
    page.locator("#cancel").click()  # "← Back" on the hosted Checkout page

    expect(page).to_have_url(re.compile(re.escape(site.url) + r"/user_upgrades/\d+$"))
    expect(page.get_by_role("status")).to_have_text(
        "Cancelled You left the payment page; nothing was charged.")
    expect(page.get_by_text("£20.00")).to_have_count(0)
    expect(page.get_by_role("link", name="Stripe receipt")).to_have_count(0)
    assert statuses(app) == ["cancelled"]

    page.get_by_role("button", name="Try again").click()
    expect(page).to_have_url(re.compile(r"/checkout/cs_"))
    assert sorted(statuses(app)) == ["cancelled", "pending"]


def ids(app) -> list[int]:
    with app.app_context():
        return [u.id for u in db.session.scalars(db.select(UserUpgrade))]
