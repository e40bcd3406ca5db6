"""A forgotten password in Chromium, end to end: the link on the log-in page, the e-mail
sent by the worker over SMTP to a real server, the link opened, a new password set; the
old password stops working, another browser is logged out, and the link works once.

LAYOUT_SHOTS=/tmp/shots saves screenshots of the forgot and reset pages at phone and
desktop widths."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.outbox.worker import work
from tests.browser.layout import layout_problems
from tests.conftest import PASSWORD
from tests.mailbox import SMTPServer, text_of

pytestmark = pytest.mark.browser

NEW_PASSWORD = "my new password"
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
SHOTS = os.environ.get("LAYOUT_SHOTS")


@pytest.fixture
def smtp():
    with SMTPServer() as server:
        yield server


@pytest.fixture
def app_config(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port}


def check_layout(page, name: str) -> list[str]:
    """Layout problems of the page at both widths (and, with LAYOUT_SHOTS, screenshots)."""
    problems = []
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        problems += [f"{name} at {viewport['width']} px: {p}" for p in layout_problems(page)]
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(full_page=True, path=str(Path(SHOTS) / f"{name}-{size}.png"))
    page.set_viewport_size(SIZES["desktop"])
    return problems


def log_in(page, url: str, password: str) -> None:
    page.goto(url + "/login")
    page.get_by_label("Email or username").fill("ada")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_forgotten_password_by_email(app, live_server, smtp, browser, page, make_user):
    app.config["SITE_URL"] = live_server.url  # the e-mail's links point at this server
    make_user("ada", email="ada@example.com")
    # Another browser, logged in before the reset: it is logged out by it.
    laptop = browser.new_context().new_page()
    log_in(laptop, live_server.url, PASSWORD)
    expect(laptop.get_by_text("You are logged in.")).to_be_visible()

    page.goto(live_server.url + "/login")
    problems = check_layout(page, "login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    problems += check_layout(page, "forgot_password")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_text("If an account uses that address, we have sent it a link to "
                            "reset the password. The link works for 1 hour.")).to_be_visible()
    problems += check_layout(page, "forgot_password_sent")

    # The worker sends it (as `flask worker` would) to the SMTP server.
    with app.app_context():
        assert work(once=True) == 1
        db.session.remove()
    [message] = smtp.mailbox.wait_for(1)
    assert str(message["Subject"]) == "Reset your Lumen password"
    assert str(message["To"]) == "ada@example.com"
    link = re.search(re.escape(live_server.url) + r"/reset-password/\S+", text_of(message))
    assert link, text_of(message)

    page.goto(link.group(0))
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    problems += check_layout(page, "reset_password")
    page.get_by_label("New password").fill("short")
    page.get_by_label("Repeat password").fill("short")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_text("Use 8 to 128 characters.")).to_be_visible()
    problems += check_layout(page, "reset_password_errors")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("Repeat password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_text("Your password is changed, and you are logged in.")).to_be_visible()
    expect(page.locator(".account-name")).to_have_text("ada")

    laptop.reload()
    expect(laptop.get_by_role("link", name="Log in")).to_be_visible()
    laptop.context.close()

    page.locator("summary").filter(has_text="ada").click()
    page.get_by_role("menuitem", name="Log out").click()
    log_in(page, live_server.url, PASSWORD)
    expect(page.get_by_text("That email/username and password do not match.")).to_be_visible()
    log_in(page, live_server.url, NEW_PASSWORD)
    expect(page.get_by_text("You are logged in.")).to_be_visible()

    response = page.goto(link.group(0))
    assert response is not None and response.status == 410
    expect(page.get_by_text("This link to reset your password has expired or was "
                            "already used.")).to_be_visible()
    problems += check_layout(page, "reset_link_used")
    page.get_by_role("link", name="Ask for a new link").click()
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    assert not problems, "\n".join(problems)
