"""An expiring card in Chromium (issue 20): a subscriber whose only card expires before the
next renewal is warned on settings and on the billing page, gets one e-mail when Stripe
announces the renewal, and adds a card from the warning, which then goes.

EXPIRING_SHOTS=/tmp/shots-expiring saves the two pages at 1280 and 390 px.
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.layout import layout_problems
from tests.browser.test_upgrades_browser import log_in
from tests.mail_fixtures import (  # noqa: F401  (fixtures)
    app_clock,
    mail_config,
    mailbox,
    run_worker,
    smtp,
)
from tests.test_expiring_cards import (
    pay_with_card_ending_this_month,
    to_three_days_before_the_renewal,
)

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("EXPIRING_SHOTS")
WARNING = "Your Visa ending 4242 expires before your next payment."


@pytest.fixture
def app_config(emulated_config, mail_config):
    return {**emulated_config, **mail_config}


def expiring(mailbox) -> list[str]:
    return [s for s in mailbox.subjects() if "expires before" in s]


def look(page, name: str) -> None:
    """No layout problem at either width (and the screenshots, when asked for)."""
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert layout_problems(page) == [], (name, width)
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(full_page=True, path=str(Path(SHOTS) / f"{name}-{width}.png"))
    page.set_viewport_size({"width": 1280, "height": 900})


def test_an_expiring_card_is_warned_of_mailed_once_and_replaced(
        app, site, page, client, emu, make_user, login, mailbox, app_clock):  # noqa: F811
    login(make_user("alice"))
    pay_with_card_ending_this_month(client, emu, app_clock)
    to_three_days_before_the_renewal(app, emu, app_clock)
    run_worker(app)
    run_worker(app)  # a second run finds nothing more to send
    assert expiring(mailbox) == ["Your Visa ending 4242 expires before your next payment"]

    log_in(page, site, "alice")
    page.goto(site.url + "/settings")
    warning = page.locator(".card-expiring")
    expect(warning).to_contain_text(WARNING)
    expect(warning).to_contain_text("no other card you saved could pay it")
    look(page, "settings")
    page.goto(site.url + "/settings/billing")
    expect(page.locator(".card-expiring")).to_contain_text(WARNING)
    expect(page.locator(".card-expiring")).to_contain_text("Add a new card below")
    look(page, "billing")

    # The warning's own button: Stripe's page, a card, back to the billing page.
    page.goto(site.url + "/settings")
    warning.get_by_role("button", name="Add a card").click()
    expect(page).to_have_url(re.compile(r"/checkout/cs_"))
    page.get_by_label("Mastercard: succeeds").check()
    page.get_by_role("button", name="Save card").click()
    expect(page).to_have_url(re.compile(r"/settings/billing$"))
    expect(page.get_by_text("Mastercard ending 4444 saved.")).to_be_visible()
    expect(page.locator(".card-expiring")).to_have_count(0)
    page.goto(site.url + "/settings")
    expect(page.get_by_role("heading", name="Your plan")).to_be_visible()
    expect(page.locator(".card-expiring")).to_have_count(0)
    run_worker(app)
    assert len(expiring(mailbox)) == 1  # still the one e-mail about the card
