"""A failed renewal in Chromium, with the worker: the trial ends, the card fails, every page
warns, the worker pays with the second card, or (with no second card) the grace period
ends and so does Premium. Mail goes through a real SMTP server."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.test_cards_browser import add_card, rows
from tests.browser.test_subscriptions_browser import move_clock, start_annual_trial
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
FAILS_WHEN_CHARGED = "Visa: attaches, but fails when charged"
WARNING = "Your last payment did not go through."


@pytest.fixture
def app_config(emulated_config, mail_config):
    return {**emulated_config, **mail_config, "SUBSCRIPTION_GRACE_DAYS": 7}


def subjects(mailbox) -> list[str]:
    return [str(m["Subject"]).strip() for m in mailbox.messages]


def test_the_worker_pays_with_the_second_card_and_it_becomes_the_default(
        app, site, page, emu, make_user, mailbox):
    make_user("alice")
    start_annual_trial(page, site, FAILS_WHEN_CHARGED)
    page.goto(site.url + "/settings/billing")
    add_card(page, "Visa: succeeds")
    expect(rows(page).nth(0)).to_contain_text("Visa ending 0341")
    expect(rows(page).nth(1)).to_contain_text("Visa ending 4242")
    run_worker(app)
    mailbox.clear()

    move_clock(emu, 15 * DAY)  # the trial ends; 0341 is charged and declines
    page.goto(site.url + "/premium")
    banner = page.get_by_role("alert").filter(has_text=WARNING)
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("You keep Premium until")
    page.goto(site.url + "/pricing")
    expect(page.get_by_role("alert").filter(has_text=WARNING)).to_be_visible()
    banner.get_by_role("link", name="Use another card").click()
    expect(page).to_have_url(site.url + "/settings/billing")

    run_worker(app)  # "payment failed" mail, then the invoice paid with 4242
    emu("POST", "flush")
    page.goto(site.url + "/settings/billing")
    expect(rows(page).nth(0)).to_contain_text("Visa ending 4242")
    expect(rows(page).nth(0)).to_contain_text("Default")
    expect(page.get_by_text(WARNING)).to_have_count(0)
    page.goto(site.url + "/settings")
    expect(page.locator(".plan-line .status")).to_have_text("Active")
    run_worker(app)  # the paid invoice's receipt, saying the account is well again
    assert [s for s in subjects(mailbox) if not s.startswith("Your free trial ends")] == \
        ["Your payment of £70.00 did not go through",
         "Payment received: your account is in good standing"]

    move_clock(emu, 10 * DAY)
    run_worker(app)  # nothing more alarming: the grace job finds it paid
    assert [s for s in subjects(mailbox) if not s.startswith("Your free trial ends")] == \
        ["Your payment of £70.00 did not go through",
         "Payment received: your account is in good standing"]


def test_with_only_the_failing_card_premium_ends_with_the_grace_period(
        app, site, page, emu, make_user, mailbox, app_clock):
    make_user("alice")
    start_annual_trial(page, site, FAILS_WHEN_CHARGED)
    move_clock(emu, 15 * DAY)
    app_clock(emu)
    run_worker(app)
    page.goto(site.url + "/settings")
    expect(page.get_by_text("Your last payment did not go through.")).to_be_visible()
    assert "Your payment of £70.00 did not go through" in subjects(mailbox)
    failed = next(m for m in mailbox.messages if "did not go through" in str(m["Subject"]))
    assert "If you don't, we will try the card again" in text_of(failed)

    app_clock(emu, timedelta(days=7, minutes=1))
    run_worker(app)  # the grace period is over: cancelled at Stripe, "access ended" sent
    emu("POST", "flush")
    page.goto(site.url + "/premium")
    expect(page.get_by_text(WARNING)).to_have_count(0)
    page.goto(site.url + "/settings")
    expect(page.get_by_text("You are on the free plan.")).to_be_visible()
    page.goto(site.url + "/pricing")
    expect(page.locator('form[action="/subscriptions"] button[type=submit]')).to_be_enabled()
    assert subjects(mailbox)[-1] == "Your Premium access has ended"
    assert "so the subscription ended on" in text_of(mailbox.messages[-1])
