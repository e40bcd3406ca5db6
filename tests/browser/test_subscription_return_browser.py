"""The return from a subscription's Checkout, before Stripe has confirmed it, in Chromium: the
page says it is waiting, learns of the payment by itself (the emulator's webhook reaches a
live server) and says so in its live region without a reload, then stops asking."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.layout import layout_problems
from tests.browser.test_receipts_browser import SIZES, shot
from tests.browser.test_upgrades_browser import (
    assert_no_reload_and_quiet_after,
    log_in,
    watch_requests,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


def test_waiting_page_announces_the_subscription(app, site, page, emu, make_user):
    make_user("alice")
    log_in(page, site, "alice")
    page.goto(site.url + "/pricing?interval=annual")
    page.get_by_role("button", name="Start your 14-day free trial").click()
    expect(page).to_have_url(re.compile(r"/checkout/cs_"))
    session_id = page.url.rsplit("/", 1)[1]

    # Back on our site before Stripe has anything to confirm (the tab was left open, say).
    page.goto(f"{site.url}/subscriptions/return?session_id={session_id}")
    status = page.get_by_role("status")
    expect(status).to_have_text("We are waiting for Stripe to confirm your subscription.")
    expect(page.get_by_text("This page updates by itself.")).to_be_visible()
    look(page, "subscription-waiting")
    asked = watch_requests(page)

    emu("POST", f"checkout/sessions/{session_id}/complete", card="4242424242424242")
    expect(status).to_contain_text("Your free trial has started", timeout=20_000)
    expect(page.get_by_role("link", name="Go to your settings")).to_be_visible()
    assert asked, "the page never asked for news"
    assert_no_reload_and_quiet_after(page, asked)
    look(page, "subscription-confirmed")


def look(page, name: str) -> None:
    """Nothing wider than the window at either width (RECEIPT_SHOTS saves each)."""
    for viewport in SIZES.values():
        page.set_viewport_size(viewport)
        assert not layout_problems(page)
        shot(page, f"{name}-{viewport['width']}")
