"""The billing history and the way out of past due, in Chromium over the emulator (issue 20).

A subscriber's history after the first payment, a switch to annual, a renewal and a refund:
each a row, newest first, with its card, and a receipt that names the seller and the
buyer's billing details. Past due, then Pay now: refused in a sentence while the bank
declines, paid once it accepts; the warning goes and one e-mail says the account is in good
standing. Past due, then a card added on the hosted setup page: paid at once.
HISTORY_SHOTS=/tmp/shots-history saves screenshots at 1280 and 390 px to look at.
"""

import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.auth.models import User
from app.billing import gateway
from app.billing.details import BillingDetails, save_details
from app.billing.models import PaymentMethod
from app.extensions import db
from app.history.models import Invoice
from tests.browser.layout import layout_problems
from tests.browser.test_cards_browser import add_card
from tests.browser.test_subscriptions_browser import (
    move_clock,
    pay_on_checkout,
    start_annual_trial,
)
from tests.browser.test_upgrades_browser import log_in
from tests.mail_fixtures import (  # noqa: F401  (fixtures)
    app_clock,
    mail_config,
    mailbox,
    run_worker,
    smtp,
)
from tests.test_subscriptions_pages import DAY

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("HISTORY_SHOTS")
SIZES = ((1280, 900), (390, 844))
SELLER = {"SELLER_NAME": "Lumen Software Ltd",
          "SELLER_ADDRESS": "4 Hanover Square, London, W1S 1BP, United Kingdom",
          "SELLER_VAT_ID": "GB123456789"}
WARNING = "Your last payment did not go through."
GOOD_STANDING = "Payment received: your account is in good standing"


@pytest.fixture
def app_config(emulated_config, mail_config):
    return {**emulated_config, **mail_config, **SELLER, "SUBSCRIPTION_GRACE_DAYS": 7}


def shoot(page, name: str) -> None:
    """With HISTORY_SHOTS set, full-page screenshots at both widths; the layout checked."""
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(full_page=True, path=f"{SHOTS}/{name}-{width}.png")
        assert layout_problems(page) == [], (name, width)
    page.set_viewport_size({"width": 1280, "height": 720})


def subscribe_monthly(page, site) -> None:
    log_in(page, site, "alice")
    page.goto(site.url + "/pricing")
    page.locator("#waiver").check()
    page.get_by_role("button", name="Subscribe for £7.00 a month").click()
    pay_on_checkout(page, "Visa: succeeds")
    expect(page).to_have_url(site.url + "/settings")


def later(emu, app_clock, days: int) -> None:
    """The emulator's calendar moved on, its webhooks delivered; the app's clock follows."""
    move_clock(emu, days * DAY)
    app_clock(emu)


def subjects(mailbox) -> list[str]:
    return [str(m["Subject"]).strip() for m in mailbox.messages]


def overdue_warnings(page):
    return page.locator(".overdue-banner, .past-due")


def table_rows(page) -> list[str]:
    return [" ".join(t.split()) for t in page.locator(".payments-table tbody tr").all_inner_texts()]


def test_history_of_a_payment_a_switch_a_renewal_and_a_refund(app, site, page, emu, make_user,
                                                              mailbox, app_clock):
    alice = make_user("alice")
    subscribe_monthly(page, site)
    page.get_by_role("link", name="Switch to annual billing").click()
    expect(page.locator(".switch-amount")).to_have_text("£63.00")
    page.get_by_role("button", name="Switch to annual billing").click()
    expect(page.get_by_text("You are now on Premium (annual).")).to_be_visible()
    later(emu, app_clock, 366)  # the year ends; £70 renews it
    run_worker(app)  # each paid invoice's card, and its receipt

    with app.app_context():
        renewal = db.session.scalars(sa.select(Invoice).order_by(Invoice.created_at.desc())
                                     ).first()
        assert renewal is not None and renewal.billing_reason == "subscription_cycle"
        gateway.client().v1.refunds.create({"payment_intent": renewal.stripe_payment_intent_id})
        save_details(db.session.get(User, alice.id), BillingDetails(
            name="Ada Lovelace Consulting Ltd", line1="12 St James's Square", city="London",
            postal_code="SW1Y 4JH", country="GB", tax_type="gb_vat", tax_value="GB987654321"))
        db.session.commit()
    emu("POST", "flush")  # charge.refunded

    page.goto(site.url + "/settings")
    page.get_by_role("link", name="Billing history").click()
    expect(page.get_by_role("heading", name="Billing history")).to_be_visible()
    expect(page.locator(".payments-table tbody tr")).to_have_count(4)
    rows = table_rows(page)
    for row, (what, amount, status) in zip(rows, (
            ("Refund: Premium (annual), renewal", "−£70.00", "Refunded"),
            ("Premium (annual), renewal", "£70.00", "Refunded"),
            ("Premium (annual), change of plan", "£63.00", "Paid"),
            ("Premium (monthly), first payment", "£7.00", "Paid")), strict=True):
        assert row.startswith(f"{what} {amount} "), rows
        assert "Visa ending 4242" in row and status in row, rows
    shoot(page, "history")

    page.locator(".payments-table tbody tr").nth(2).get_by_role("link", name="Receipt").click()
    expect(page.get_by_role("heading", name="£63.00 paid")).to_be_visible()
    seller = page.locator(".party").first
    for said in ("Lumen Software Ltd", "4 Hanover Square", "W1S 1BP", "VAT number GB123456789"):
        expect(seller).to_contain_text(said)
    buyer = page.locator("section[aria-labelledby=buyer-heading]")
    for said in ("Ada Lovelace Consulting Ltd", "12 St James's Square", "SW1Y 4JH London",
                 "United Kingdom", "GB987654321"):
        expect(buyer).to_contain_text(said)
    expect(page.locator(".details")).to_contain_text("Visa ending 4242")
    shoot(page, "receipt")

    receipts = [s for s in subjects(mailbox) if s.startswith("Your receipt")]
    assert receipts == ["Your receipt: Premium (monthly), first payment, £7.00",
                        "Your receipt: Premium (annual), change of plan, £63.00",
                        "Your receipt: Premium (annual), renewal, £70.00"], subjects(mailbox)


def test_pay_now_refused_while_the_bank_declines_then_paid(app, site, page, emu, make_user,
                                                         mailbox, app_clock):
    make_user("alice")
    subscribe_monthly(page, site)
    with app.app_context():
        card = db.session.scalar(sa.select(PaymentMethod.stripe_payment_method_id))
    emu("POST", f"payment_methods/{card}/decline", decline_code="insufficient_funds")
    later(emu, app_clock, 32)  # the renewal is declined
    run_worker(app)  # the "did not go through" e-mail
    mailbox.clear()

    page.goto(site.url + "/settings")
    expect(page.locator(".past-due")).to_contain_text(WARNING)
    expect(page.locator(".plan-line .status")).to_have_text("Payment overdue")
    shoot(page, "settings-past-due")
    page.goto(site.url + "/settings/billing")
    expect(page.locator(".overdue-banner")).to_contain_text(WARNING)
    shoot(page, "billing-past-due")

    page.goto(site.url + "/settings")
    page.locator(".past-due").get_by_role("button", name="Pay £7.00 now").click()
    expect(page).to_have_url(site.url + "/settings/billing")
    expect(page.locator(".flashes .notice-error")).to_have_text(
        "Your card has insufficient funds. Try another card: add one below, or make another "
        "the default.")
    expect(page.locator(".overdue-banner")).to_contain_text(WARNING)

    emu("POST", f"payment_methods/{card}/decline", decline_code=None)  # money paid in
    page.locator(".overdue-banner").get_by_role("button", name="Pay £7.00 now").click()
    expect(page.get_by_text("Thank you: your payment of £7.00 went through, and your account "
                            "is in good standing again.")).to_be_visible()
    expect(overdue_warnings(page)).to_have_count(0)
    page.goto(site.url + "/settings")
    expect(page.locator(".plan-line .status")).to_have_text("Active")
    expect(overdue_warnings(page)).to_have_count(0)

    emu("POST", "flush")  # invoice.paid, after the page applied it: nothing more
    run_worker(app)
    assert subjects(mailbox) == [GOOD_STANDING]
    page.goto(site.url + "/settings/payments")
    assert table_rows(page)[0].startswith("Premium (monthly), renewal £7.00 "), \
        table_rows(page)


def test_past_due_then_a_card_added_pays_at_once(app, site, page, emu, make_user, mailbox,
                                                 app_clock):
    make_user("alice")
    start_annual_trial(page, site, "Visa: attaches, but fails when charged")
    later(emu, app_clock, 15)  # the trial ends; the £70 is declined
    page.goto(site.url + "/premium")
    banner = page.locator(".overdue-banner")
    expect(banner).to_contain_text(WARNING)
    banner.get_by_role("link", name="Use another card").click()
    expect(page).to_have_url(site.url + "/settings/billing")

    add_card(page, "Visa: succeeds")
    expect(page.get_by_text("Visa ending 4242 saved. Your overdue payment of £70.00 went "
                            "through with it: your account is in good standing "
                            "again.")).to_be_visible()
    expect(overdue_warnings(page)).to_have_count(0)
    page.goto(site.url + "/settings")
    expect(page.locator(".plan-line .status")).to_have_text("Active")
    expect(overdue_warnings(page)).to_have_count(0)

    emu("POST", "flush")
    run_worker(app)
    assert [s for s in subjects(mailbox) if s.startswith(("Payment received", "Your receipt"))] \
        == [GOOD_STANDING]
