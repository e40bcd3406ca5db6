"""Referrals in Chromium: a friend's link followed to sign-up and the banner after it; the
settings section's "Copy link" button copying the link (and the page without JavaScript),
laid out at phone and desktop widths."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.auth.models import User, utcnow
from app.extensions import db
from app.referrals.models import CreditEntry, CreditReason, Referral
from tests.browser.layout import layout_problems
from tests.browser.test_upgrades_browser import log_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

SIZES = ({"width": 1280, "height": 800}, {"width": 390, "height": 844})


def test_a_friends_link_followed_to_sign_up_shows_the_banner(app, live_server, page,
                                                              make_user):
    alice = make_user("alice")
    page.goto(f"{live_server.url}/r/{alice.referral_code}")
    expect(page).to_have_url(f"{live_server.url}/signup")
    page.goto(live_server.url + "/pricing")  # a look around before signing up
    page.get_by_role("link", name="Sign up", exact=True).click()
    page.get_by_label("Email").fill("bob@example.com")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Welcome, bob!")).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "ref"]

    page.goto(live_server.url + "/pricing")
    expect(page.locator(".referral-banner")).to_have_text(
        "You were referred by @alice: subscribe and you both get 45 days of Premium.")
    with app.app_context():
        referral = db.session.scalar(sa.select(Referral))
        bob = db.session.scalar(sa.select(User).where(User.username == "bob"))
        assert (referral.referrer_id, referral.referred_id) == (alice.id, bob.id)


@pytest.fixture
def referrer(app, live_server, make_user):
    """alice: a friend paid through her link two days ago, so she has 45 days of credit."""
    app.config["SITE_URL"] = live_server.url
    alice, bob = make_user("alice"), make_user("Bartholomew_Featherstonehaugh_II")
    with app.app_context():
        now = utcnow()
        referral = Referral(referrer_id=alice.id, referred_id=bob.id, conversions=1,
                            converted_at=now - timedelta(days=2),
                            credited_at=now - timedelta(days=2))
        db.session.add(referral)
        db.session.flush()
        db.session.add_all([
            CreditEntry(user_id=alice.id, days=45, reason=CreditReason.REFERRAL_GIVEN,
                        referral_id=referral.id, conversion=1,
                        created_at=now - timedelta(days=2)),
            CreditEntry(user_id=alice.id, days=10, reason=CreditReason.ADMIN_GRANT,
                        note="Sorry about the outage", created_at=now - timedelta(days=1)),
        ])
        db.session.get(User, alice.id).credit_until = now + timedelta(days=55)
        db.session.commit()
    return alice


def test_copy_link_copies_the_link(browser, live_server, referrer):
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    try:
        log_in(page, live_server, "alice")
        link = f"{live_server.url}/r/{referrer.referral_code}"
        problems = []
        for size in SIZES:
            page.set_viewport_size(size)
            page.goto(live_server.url + "/settings")
            field = page.get_by_label("Your referral link")
            expect(field).to_have_value(link)
            expect(field).not_to_be_editable()
            expect(page.get_by_text("+55 days on your account")).to_be_visible()
            button = page.get_by_role("button", name="Copy link")
            expect(button).to_be_visible()
            problems += [f"at {size['width']} px: {p}" for p in layout_problems(page)]
            button.click()
            expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
            assert page.evaluate("navigator.clipboard.readText()") == link
            page.evaluate("navigator.clipboard.writeText('')")
        assert not problems, "\n".join(problems)
    finally:
        context.close()


def test_without_javascript_the_link_is_there_to_select(browser, live_server, referrer):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, live_server, "alice")
        page.goto(live_server.url + "/settings")
        expect(page.get_by_label("Your referral link")).to_have_value(
            f"{live_server.url}/r/{referrer.referral_code}")
        expect(page.get_by_role("button", name="Copy link")).to_be_hidden()
    finally:
        context.close()
