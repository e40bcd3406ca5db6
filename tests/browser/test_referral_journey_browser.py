"""The referral journey in Chromium, with the emulator delivering its webhooks to a live
server: alice shares her link; bob visits it, signs up, subscribes monthly with the
tick-box and pays; both settings pages show the credit, and bob's next payment moved 45
days later at the emulator."""

import re
from datetime import UTC, datetime

import pytest
import requests
import sqlalchemy as sa
from playwright.sync_api import expect

from app.auth.models import User
from app.extensions import db
from app.subscriptions.checkout import WAIVER_TEXT
from app.subscriptions.models import Subscription
from app.timeline import CHARGED_AFTER
from tests.browser.test_subscriptions_browser import pay_on_checkout
from tests.browser.test_upgrades_browser import log_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


def day(when: datetime) -> str:
    return f"{when:%-d %B %Y}"


def test_a_shared_link_gives_both_45_days_and_moves_bobs_next_payment(
        app, site, page, browser, emu, emulator, make_user):
    alice = make_user("alice")
    with app.app_context():
        link = site.url + "/r/" + db.session.get(User, alice.id).referral_code

    # bob, in a browser of his own, follows alice's link and signs up.
    bob_context = browser.new_context()
    bob = bob_context.new_page()
    bob.set_default_timeout(15_000)
    bob.goto(link)
    expect(bob).to_have_url(re.compile(r"/signup"))
    bob.get_by_label("Email").fill("bob@example.com")
    bob.get_by_label("Username").fill("bob")
    bob.get_by_label("Password", exact=True).fill(PASSWORD)
    bob.get_by_label("Repeat password").fill(PASSWORD)
    bob.get_by_role("button", name="Create account").click()

    bob.goto(site.url + "/pricing")
    expect(bob.get_by_text("You were referred by @alice")).to_be_visible()
    bob.get_by_label(WAIVER_TEXT).check()
    bob.get_by_role("button", name="Subscribe for £7.00 a month").click()
    pay_on_checkout(bob, "Visa: succeeds")
    expect(bob).to_have_url(site.url + "/settings")
    emu("POST", "flush")  # the emulator's webhooks (invoice.paid among them) reach us

    with app.app_context():
        row = db.session.scalar(sa.select(Subscription))
        bob_until = db.session.scalar(sa.select(User.credit_until).where(User.username == "bob"))
    sub = requests.get(f"{emulator.url}/v1/subscriptions/{row.stripe_subscription_id}",
                       headers={"Authorization": "Bearer sk_test_emulator"}, timeout=10).json()
    # bob's next charge: a month after he paid, plus 45 days.
    waited = (sub["trial_end"] - sub["start_date"]) / 86_400
    assert 28 + 45 <= waited <= 31 + 45, waited
    assert sub["status"] == "trialing" and sub["metadata"]["credit_days"] == "45"
    assert bob_until is not None

    bob.reload()
    next_payment = datetime.fromtimestamp(sub["trial_end"], UTC) + CHARGED_AFTER
    expect(bob.locator(".plan-when")).to_contain_text(
        f"then 45 days of referral credit: next payment of £7.00 on {day(next_payment)}.")
    expect(bob.get_by_text("+45 days on your account")).to_be_visible()
    bob_context.close()

    log_in(page, site, "alice")
    page.goto(site.url + "/settings")
    expect(page.get_by_text("+45 days on your account")).to_be_visible()
    expect(page.get_by_text(re.compile(r"1 friend .* in the last 45 days"))).to_be_visible()
