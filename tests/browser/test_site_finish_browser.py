"""The header in Chromium: the account menu never covers the navigation (on a phone it opens
below the whole header), it works by keyboard and without JavaScript, the current page is
marked visibly, and disabled buttons look disabled."""

import pytest
from playwright.sync_api import expect

from app.auth.models import Level
from tests.browser.test_layout_browser import log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
LONG_NAME = "Bartholomew_Featherstonehaugh_II"  # the longest a username can be


def overlap(a: dict, b: dict) -> bool:
    """Whether two bounding boxes share any area."""
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_open_account_menu_leaves_the_navigation_in_sight(live_server, page, make_user,
                                                              viewport):
    make_user(LONG_NAME, level=Level.PLATINUM)
    page.set_viewport_size(viewport)
    log_in(page, live_server.url, LONG_NAME)
    page.goto(live_server.url + "/settings")
    page.locator(".account-menu summary").click()
    menu = page.get_by_role("menu", name="Account")
    expect(menu).to_be_visible()

    menu_box = menu.bounding_box()
    for item in page.locator(".site-nav a").all():
        box = item.bounding_box()
        assert not overlap(menu_box, box), (item.inner_text(), box, menu_box)
    assert not overlap(menu_box, page.locator(".account-menu summary").bounding_box())
    # The whole menu is in the window, each item big enough to tap.
    assert menu_box["x"] >= 0 and menu_box["x"] + menu_box["width"] <= viewport["width"]
    assert menu_box["y"] + menu_box["height"] <= viewport["height"]
    for name in ("Upgrade receipts", "Settings", "Billing & cards", "Log out"):
        item = page.get_by_role("menuitem", name=name)
        expect(item).to_be_visible()
        assert item.bounding_box()["height"] >= 24, name
    if viewport is PHONE:  # below the header, as wide as the page's column
        header = page.locator(".site-header").bounding_box()
        assert menu_box["y"] >= header["y"] + header["height"] - 1
        assert menu_box["width"] >= viewport["width"] - 40


def test_the_account_menu_by_keyboard(live_server, page, make_user):
    make_user("alice")
    page.set_viewport_size(PHONE)
    log_in(page, live_server.url, "alice")
    page.wait_for_load_state("load")  # app.js (deferred) is running before any key is pressed
    summary = page.locator(".account-menu summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("menu", name="Account")).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Upgrade receipts")).to_be_focused()
    page.keyboard.press("End")
    expect(page.get_by_role("menuitem", name="Log out")).to_be_focused()
    page.keyboard.press("ArrowDown")  # round to the first
    expect(page.get_by_role("menuitem", name="Upgrade receipts")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("menu", name="Account")).to_be_hidden()
    expect(summary).to_be_focused()

    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Billing & cards")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(live_server.url + "/settings/billing")
    page.wait_for_load_state("load")
    # Tabbing out of an open menu closes it, so it does not linger over the page.
    summary.focus()
    page.keyboard.press("Enter")
    for _ in range(5):
        page.keyboard.press("Tab")
    expect(page.get_by_role("menu", name="Account")).to_be_hidden()


def test_every_account_page_is_reached_without_javascript(browser, live_server, make_user):
    make_user("alice")
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, live_server.url, "alice")
        for name, path, heading in (("Upgrade receipts", "/user_upgrades", "Your upgrades"),
                                    ("Settings", "/settings", "Settings"),
                                    ("Billing & cards", "/settings/billing",
                                     "Billing details and cards")):
            page.locator(".account-menu summary").click()
            page.get_by_role("menuitem", name=name).click()
            expect(page).to_have_url(live_server.url + path)
            expect(page.get_by_role("heading", level=1)).to_have_text(heading)
            expect(page.get_by_role("menuitem", name=name, include_hidden=True)).to_have_attribute(
                "aria-current", "page")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Upgrade").click()
        expect(page).to_have_url(live_server.url + "/user_upgrades/new")
    finally:
        context.close()


def test_the_current_page_is_marked_visibly(live_server, page, make_user):
    make_user("alice")
    log_in(page, live_server.url, "alice")
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        page.goto(live_server.url + "/pricing")
        nav = page.get_by_role("navigation", name="Main")
        current, other = nav.get_by_role("link", name="Pricing"), nav.get_by_role(
            "link", name="Premium")
        expect(current).to_have_attribute("aria-current", "page")
        expect(current).to_have_css("text-decoration-line", "underline")
        expect(current).to_have_css("font-weight", "600")
        expect(other).to_have_css("text-decoration-line", "none")


def test_disabled_buttons_do_not_look_like_live_ones(live_server, page, make_user):
    # Billing is off in the default test configuration: the buy buttons are disabled.
    make_user("alice")
    log_in(page, live_server.url, "alice")
    page.goto(live_server.url + "/user_upgrades/new")
    gold = page.get_by_role("button", name="Upgrade to Gold")
    expect(gold).to_be_disabled()
    expect(gold).to_have_css("background-color", "rgb(236, 238, 243)")
    expect(gold).to_have_css("color", "rgb(93, 98, 117)")
    expect(gold).to_have_css("cursor", "not-allowed")
    expect(gold).to_have_css("opacity", "1")
    gold.hover(force=True)
    expect(gold).to_have_css("background-color", "rgb(236, 238, 243)")
