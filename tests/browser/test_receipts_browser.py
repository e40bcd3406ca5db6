"""The receipt in every state, at phone (390 px) and desktop (1280 px) widths and on paper,
in Chromium: nothing wider than the window, no control cut off, and the print layout
showing the receipt alone, black on white. RECEIPT_SHOTS=/tmp/shots saves a screenshot of
each, to look at."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.layout import layout_problems
from tests.browser.test_layout_browser import log_in
from tests.test_upgrades_receipts import STATES, set_state
from tests.upgrade_helpers import make_upgrade

pytestmark = pytest.mark.browser

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
SHOTS = os.environ.get("RECEIPT_SHOTS")
LONG_NAME = "Bartholomew_Featherstonehaugh_II"


@pytest.fixture
def app_config(billing_config):
    return billing_config  # Try again is offered; Stripe is never asked


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_every_state_fits_and_prints(app, live_server, page, make_user):
    alice, friend, carol = make_user("alice"), make_user(LONG_NAME), make_user("carol")
    receipts = {}
    for state in STATES:
        # Alice's own purchases, paid ones included, make her Gold; those that charged
        # nothing are gifts to carol, still a member, so Try again is offered.
        retry = STATES[state][3]
        ids = make_upgrade(app, alice, carol if retry else alice)
        set_state(app, ids["id"], state)
        receipts[state] = ids["id"]
    gift = make_upgrade(app, alice, friend, "platinum", amount=4000)
    set_state(app, gift["id"], "complete")
    receipts["gift"] = gift["id"]

    log_in(page, live_server.url, "alice")
    problems = []
    for state, upgrade_id in receipts.items():
        page.goto(f"{live_server.url}/user_upgrades/{upgrade_id}")
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            problems += [f"{state} at {size}: {p}" for p in layout_problems(page)]
            shot(page, f"{state.replace(' ', '-')}-{viewport['width']}")
    assert not problems, "\n".join(problems)

    # On paper: the receipt alone (no header, menus or buttons), black on white.
    page.goto(f"{live_server.url}/user_upgrades/{receipts['gift']}")
    page.set_viewport_size(SIZES["desktop"])
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    page.emulate_media(media="print")
    for hidden in (".site-header", ".site-footer", ".receipt-actions", ".receipt-nav"):
        expect(page.locator(hidden)).to_be_hidden()
    for shown in (f"@{LONG_NAME} has Platinum now.", "Visa ending 4242",
                  "£40.00", "Billed to", "support@lumen.example"):
        expect(page.get_by_text(shown, exact=False).first).to_be_visible()
    expect(page.locator(".parties strong").first).to_have_text("Lumen")  # the seller, printed
    colours = page.evaluate("""() => [document.body, document.querySelector('.receipt')]
        .map((el) => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor])""")
    assert colours[0] == ["rgb(0, 0, 0)", "rgb(255, 255, 255)"], colours
    assert colours[1][0] == "rgb(0, 0, 0)", colours
    shot(page, "gift-print")
    page.emulate_media(media="screen")

    # The list of them all.
    page.goto(f"{live_server.url}/user_upgrades")
    for viewport in SIZES.values():
        page.set_viewport_size(viewport)
        assert not layout_problems(page)
        shot(page, f"list-{viewport['width']}")
