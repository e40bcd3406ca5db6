"""The site's e-mails, end to end: the emulator delivers every webhook twice (and the test
replays some on top), the worker sends over real SMTP, and each message arrives once, in
plain text and HTML, with absolute links and no card data."""

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.referrals.models import Referral
from app.upgrades.models import UserUpgrade
from app.webhooks.models import StripeEvent
from tests.conftest import csrf_token
from tests.mail_fixtures import jobs, mail_config, mailbox, run_worker, smtp  # noqa: F401
from tests.mailbox import html_of, text_of
from tests.test_subscriptions_pages import DAY, pay

CARD_NUMBERS = re.compile(r"\b(4242|0341|4444)\b")


@pytest.fixture
def app_config(emulated_config, mail_config):
    return {**emulated_config, **mail_config}


@pytest.fixture
def duplicating(emu):
    emu("POST", "config", duplicate=True)


def redeliver_all(emu, site) -> None:
    """Stripe sending everything once more (a replay from its dashboard, say)."""
    for delivery in {d["event_id"] for d in emu("GET", "deliveries")["data"]
                     if d["url"].startswith(site.url)}:
        emu("POST", f"events/{delivery}/redeliver")
    emu("POST", "flush")


def by_recipient(mailbox) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for message in mailbox.messages:
        found.setdefault(str(message["To"]), []).append(str(message["Subject"]).strip())
    return found


def check_every_message(mailbox, site) -> None:
    for message in mailbox.messages:
        text, html = text_of(message), html_of(message)
        assert not CARD_NUMBERS.search(text) and not CARD_NUMBERS.search(html)
        links = re.findall(r'href="([^"]+)"', html)
        assert links and all(link.startswith((site.url, "mailto:")) for link in links), links
        assert site.url in text
        assert message["Message-ID"] and message["From"] == "Lumen <no-reply@localhost>"


def buy(client, emu, recipient: str = "") -> None:
    response = client.post("/user_upgrades", data={
        "upgrade": "gold", "recipient": recipient,
        "csrf_token": csrf_token(client, "/user_upgrades/new")})
    assert response.status_code == 303, response.get_data(as_text=True)
    session_id = response.location.rsplit("/", 1)[1]
    emu("POST", f"checkout/sessions/{session_id}/complete", card="4242424242424242")


def test_a_gift_sends_the_buyer_a_receipt_and_the_friend_the_news_once(
        app, site, client, emu, duplicating, make_user, login, synced_catalog, mailbox):
    alice, bob = make_user("alice"), make_user("bob")
    login(alice)
    buy(client, emu, recipient="bob")
    emu("POST", "flush")
    redeliver_all(emu, site)
    run_worker(app)
    assert by_recipient(mailbox) == {
        alice.email: ["Your receipt: Gold upgrade, £20.00"],
        bob.email: ["@alice gave you Gold"]}
    receipt, gift = mailbox.to(alice.email)[0], mailbox.to(bob.email)[0]
    with app.app_context():
        upgrade_id = db.session.scalar(sa.select(UserUpgrade.id))
    assert f"{site.url}/user_upgrades/{upgrade_id}" in text_of(receipt)
    assert "(a gift for @bob)" in text_of(receipt)
    assert "£" not in text_of(gift) + html_of(gift)  # the friend is not told the price
    check_every_message(mailbox, site)
    # Every delivery reached us at least twice.
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StripeEvent)) > 0


def test_a_trial_sends_started_then_one_reminder_three_days_before_it_ends(
        app, site, client, emu, duplicating, make_user, login, synced_catalog, mailbox):
    carol = make_user("carol")
    login(carol)
    pay(client, emu, "annual")
    emu("POST", "clock/advance", seconds=12 * DAY)  # past the reminder, before the end
    emu("POST", "flush")
    redeliver_all(emu, site)
    run_worker(app)
    run_worker(app)
    subjects = [str(m["Subject"]) for m in mailbox.messages]
    assert subjects[0] == "Your 14-day free trial of Premium has started"
    assert len(subjects) == 2 and subjects[1].startswith("Your free trial ends on ")
    reminder = text_of(mailbox.messages[1])
    assert "we will take £70.00 from your card" in reminder
    assert "Cancel before" in reminder and f"{site.url}/settings" in reminder
    assert [status for _, status in jobs(app, "email:trial_ending:")] == ["done"]
    check_every_message(mailbox, site)


def test_a_referral_paying_sends_both_sides_their_credit_once(
        app, site, client, emu, duplicating, make_user, login, synced_catalog, mailbox):
    alice, bob = make_user("alice"), make_user("bob")
    with app.app_context():
        db.session.add(Referral(referrer_id=alice.id, referred_id=bob.id))
        db.session.commit()
    login(bob)
    pay(client, emu, "monthly")
    emu("POST", "flush")
    redeliver_all(emu, site)
    run_worker(app)
    mail = by_recipient(mailbox)
    assert mail[alice.email] == ["45 days of Premium credit for you"]
    assert sorted(mail[bob.email]) == ["45 days of Premium credit for you", "Welcome to Premium",
                                       "Your receipt: Premium (monthly), first payment, £7.00"]
    [alice_credit] = mailbox.to(alice.email)
    assert "@bob joined Lumen with your link and paid" in text_of(alice_credit)
    bob_credit = next(m for m in mailbox.to(bob.email) if "credit" in str(m["Subject"]))
    assert "through @alice's link" in text_of(bob_credit)
    assert "next subscription payment moves back by 45 days" in text_of(bob_credit)
    check_every_message(mailbox, site)
