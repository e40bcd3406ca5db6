"""Sign up, log out and log in through the real UI in Chromium."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_sign_up_log_out_log_in(live_server, page):
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Email").fill("lin@example.com")
    page.get_by_label("Username").fill("lin")
    page.get_by_label("Password", exact=True).fill("a long password")
    page.get_by_label("Repeat password").fill("a long password")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Welcome, lin!")).to_be_visible()

    page.locator("summary").filter(has_text="lin").click()
    page.get_by_role("menuitem", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()

    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Email or username").fill("LIN")
    page.get_by_label("Password").fill("a long password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/$"))


def test_wrong_password_shows_error_next_to_field(live_server, page, make_user):
    make_user("mo")
    page.goto(live_server.url + "/login")
    page.get_by_label("Email or username").fill("mo")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("do not match")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
