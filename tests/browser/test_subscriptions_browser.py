"""Subscriptions end to end in Chromium: pricing, the emulator's hosted Checkout, settings;
signed webhooks delivered by the emulator to a live server as its clock moves on."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.subscriptions.checkout import WAIVER_TEXT, WAIVER_VERSION
from app.subscriptions.models import CancellationWaiver, Subscription, SubscriptionCheckout
from app.timeline import CHARGED_AFTER
from tests.browser.layout import layout_problems
from tests.browser.test_upgrades_browser import log_in

pytestmark = pytest.mark.browser

DAY = 86_400


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


def day(when) -> str:
    return f"{when:%-d %B %Y}"


def the_subscription(app) -> Subscription:
    with app.app_context():
        [row] = db.session.scalars(sa.select(Subscription)).all()
        db.session.expunge(row)
        return row


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def checkout_sessions(emu_url: str) -> list:
    import requests

    response = requests.get(f"{emu_url}/v1/checkout/sessions",
                            headers={"Authorization": "Bearer sk_test_emulator"}, timeout=10)
    return response.json()["data"]


def pay_on_checkout(page, card_label: str) -> None:
    expect(page).to_have_url(re.compile(r"/checkout/cs_"))
    page.get_by_label(card_label).check()
    page.get_by_role("button", name="Subscribe", exact=True).click()


def start_annual_trial(page, site, card_label: str) -> None:
    log_in(page, site, "alice")
    page.get_by_role("link", name="Pricing", exact=True).click()
    page.get_by_role("link", name=re.compile(r"^Annual")).click()
    expect(page.get_by_text("14-day free trial, then £70.00 a year; card required; cancel "
                            "before the trial ends and pay nothing")).to_be_visible()
    page.get_by_role("button", name="Start your 14-day free trial").click()
    expect(page.locator("#due-today")).to_have_text("£0.00")
    pay_on_checkout(page, card_label)
    expect(page).to_have_url(site.url + "/settings")


def move_clock(emu, seconds: int) -> None:
    emu("POST", "clock/advance", seconds=seconds)
    emu("POST", "flush")


def test_annual_trial_then_first_invoice_paid(app, site, page, emu, make_user):
    make_user("alice")
    start_annual_trial(page, site, "Visa: succeeds")
    expect(page.get_by_text("Your free trial has started")).to_be_visible()
    plan = page.locator(".plan-line")
    expect(plan).to_contain_text("Premium (annual)")
    expect(plan.locator(".status")).to_have_text("Free trial")
    sub = the_subscription(app)
    expect(page.locator(".plan-when")).to_have_text(re.compile(
        rf"14 days left in your free trial; first payment of £70\.00 on "
        rf"{day(sub.trial_end + CHARGED_AFTER)}"))
    assert layout_problems(page) == []

    move_clock(emu, 14 * DAY + 3600)  # past the trial: the first invoice is paid
    page.reload()
    sub = the_subscription(app)
    assert sub.status.value == "active" and sub.trial_end is not None
    assert sub.current_period_end - sub.trial_end == timedelta(days=365)
    expect(plan.locator(".status")).to_have_text("Active")
    expect(page.locator(".plan-when")).to_have_text(
        re.compile(rf"Renews on {day(sub.current_period_end + CHARGED_AFTER)} for £70\.00"))


def test_monthly_needs_the_tick_box_then_pays_at_once(app, site, page, emu, emulator,
                                                      make_user):
    alice = make_user("alice")
    log_in(page, site, "alice")
    page.goto(site.url + "/pricing")
    page.get_by_role("button", name="Subscribe for £7.00 a month").click()
    expect(page.get_by_role("alert")).to_contain_text("Tick the box to start monthly Premium")
    expect(page.get_by_label(WAIVER_TEXT)).to_have_attribute("aria-invalid", "true")
    # Nothing at Stripe, nothing in the database.
    assert checkout_sessions(emulator.url) == []
    assert count(app, SubscriptionCheckout) == count(app, CancellationWaiver) == 0

    page.get_by_label(WAIVER_TEXT).check()
    page.get_by_role("button", name="Subscribe for £7.00 a month").click()
    pay_on_checkout(page, "Visa: succeeds")
    expect(page).to_have_url(site.url + "/settings")
    expect(page.get_by_text("Welcome to Premium")).to_be_visible()
    expect(page.locator(".plan-line .status")).to_have_text("Active")
    expect(page.locator(".plan-when")).to_contain_text("for £7.00")
    with app.app_context():
        [waiver] = db.session.scalars(sa.select(CancellationWaiver)).all()
        assert waiver.user_id == alice.id and waiver.wording_version == WAIVER_VERSION
    emu("POST", "flush")
    assert the_subscription(app).status.value == "active"


def test_trial_payment_fails_then_past_due_with_grace(app, site, page, emu, make_user):
    make_user("alice")
    start_annual_trial(page, site, "Visa: attaches, but fails when charged")
    expect(page.locator(".plan-line .status")).to_have_text("Free trial")

    move_clock(emu, 14 * DAY + 3600)  # the trial ends and the first payment fails
    page.reload()
    sub = the_subscription(app)
    assert sub.status.value == "past_due" and sub.payment_failed_at is not None
    grace_ends = sub.payment_failed_at + timedelta(days=7)
    warning = page.locator(".past-due")
    expect(warning).to_contain_text("Your last payment did not go through.")
    expect(warning).to_contain_text(f"You keep Premium until {day(grace_ends)}")
    expect(page.locator(".plan-line .status")).to_have_text("Payment overdue")
    page.goto(site.url + "/premium")
    expect(page.get_by_text("You have Premium access.")).to_be_visible()

    page.goto(site.url + "/settings")
    page.locator(".past-due").get_by_role("link", name="Use another card").click()
    expect(page).to_have_url(site.url + "/settings/billing")


def test_switch_and_cancel_from_settings(app, site, page, emu, make_user):
    """What a person does on the settings page: preview, switch, cancel, resume."""
    make_user("alice")
    log_in(page, site, "alice")
    page.goto(site.url + "/pricing")
    page.get_by_label(WAIVER_TEXT).check()
    page.get_by_role("button", name="Subscribe for £7.00 a month").click()
    pay_on_checkout(page, "Visa: succeeds")

    page.get_by_role("link", name="Switch to annual billing").click()
    expect(page.locator(".switch-amount")).to_have_text("£63.00")
    page.get_by_role("button", name="Switch to annual billing").click()
    expect(page.get_by_text("You are now on Premium (annual).")).to_be_visible()
    expect(page.locator(".plan-line")).to_contain_text("Premium (annual)")

    page.get_by_role("link", name="Cancel subscription").click()
    ends = day(the_subscription(app).current_period_end)
    expect(page.locator(".confirm-what")).to_contain_text(f"You keep Premium until {ends}")
    page.get_by_role("button", name="Cancel subscription").click()
    expect(page.locator(".plan-when")).to_have_text(
        re.compile(rf"Cancelled: Premium ends on {ends}\."))
    page.get_by_role("button", name="Resume subscription").click()
    charged = day(the_subscription(app).current_period_end + CHARGED_AFTER)
    expect(page.locator(".plan-when")).to_have_text(re.compile(rf"Renews on {charged}"))


def test_subscription_pages_fit_a_phone(app, site, browser, emu, make_user, client, login):
    """At 390 px nothing overflows sideways: pricing, settings (trial, past due with a
    history), the switch preview and the cancel confirmation."""
    from app.billing.models import BillingInfo
    from tests.test_subscriptions_pages import add_subscription, pay

    login(make_user("alice"))
    pay(client, emu, "annual")
    bob = make_user("bob_with_a_long_name_for_a_phone")
    with app.app_context():
        db.session.add(BillingInfo(user_id=bob.id, stripe_customer_id="cus_bob"))
        db.session.commit()
    for n in range(3):
        add_subscription(app, bob, status="canceled", days_ago=900 - 300 * n)
    add_subscription(app, bob, status="past_due", failed_days_ago=1, days_ago=31)

    visits = {"alice": ["/pricing", "/pricing?interval=annual", "/settings",
                        "/subscriptions/switch", "/subscriptions/cancel"],
              bob.username: ["/settings", "/subscriptions/cancel"]}
    problems = {}
    for username, paths in visits.items():
        context = browser.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        log_in(page, site, username)
        for path in paths:
            page.goto(site.url + path)
            found = layout_problems(page)
            if found:
                problems[f"{username} {path}"] = found
        context.close()
    assert problems == {}
