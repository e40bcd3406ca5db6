"""What referred users and referrers see: the banner on pricing and settings while a
referral waits for its first payment, and the settings section (link, live conversions,
credit left, the ledger in words)."""

import re
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from app.auth.models import User, utcnow
from app.extensions import db
from app.referrals.models import CreditEntry, CreditReason, Referral

BANNER = "You were referred by @alice: subscribe and you both get 45 days of Premium."


def words(client, path: str) -> str:
    """The page's text without tags (inline ones leave no space), whitespace squashed."""
    text = re.sub(r"</?(?:strong|time|a)\b[^>]*>", "", html(client, path))
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", text)))


def html(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def ledger(page: str) -> list[tuple[str, str, str]]:
    """(date, days, why) of each ledger row, in the page's order."""
    return re.findall(r"<li><time[^>]*>([^<]+)</time>: <strong[^>]*>([^<]+)</strong> — "
                      r"([^<]+)</li>", page)


def day(when) -> str:
    return f"{when:%-d %B %Y}"


def refer(app, referrer, referred, *, converted_days_ago: float | None = None) -> int:
    with app.app_context():
        converted = (utcnow() - timedelta(days=converted_days_ago)
                     if converted_days_ago is not None else None)
        referral = Referral(referrer_id=referrer.id, referred_id=referred.id,
                            converted_at=converted, credited_at=converted,
                            conversions=1 if converted else 0)
        db.session.add(referral)
        db.session.commit()
        return referral.id


def credit(app, user, *, days_ahead: float) -> None:
    with app.app_context():
        db.session.get(User, user.id).credit_until = utcnow() + timedelta(days=days_ahead)
        db.session.commit()


def entry(app, user, days: int, reason: CreditReason, *, days_ago: float,
          referral_id: int | None = None, note: str | None = None) -> None:
    with app.app_context():
        db.session.add(CreditEntry(user_id=user.id, days=days, reason=reason,
                                   referral_id=referral_id, note=note,
                                   created_at=utcnow() - timedelta(days=days_ago)))
        db.session.commit()


def delete_user(app, user) -> None:
    with app.app_context():
        db.session.delete(db.session.get(User, user.id))
        db.session.commit()


@pytest.fixture
def people(make_user):
    return make_user("alice"), make_user("bob")


# --- the banner ------------------------------------------------------------------------

def test_a_referred_user_sees_who_referred_them_on_pricing_and_settings(app, client, people,
                                                                        login):
    alice, bob = people
    refer(app, alice, bob)
    login(bob)
    for path in ("/pricing", "/pricing?interval=annual", "/settings"):
        assert BANNER in words(client, path), path
    assert 'href="/pricing">See the plans</a>' in html(client, "/settings")


def test_no_banner_once_the_referral_converted(app, client, people, login):
    alice, bob = people
    refer(app, alice, bob, converted_days_ago=1)
    login(bob)
    for path in ("/pricing", "/settings"):
        assert "You were referred by" not in words(client, path), path


def test_no_banner_for_the_referrer_others_or_visitors(app, client, people, make_user, login):
    alice, bob = people
    refer(app, alice, bob)
    assert "You were referred by" not in words(client, "/pricing")
    login(alice)
    for path in ("/pricing", "/settings"):
        assert "You were referred by" not in words(client, path), path


def test_a_deleted_referrer_takes_the_banner_away_and_pages_still_render(app, client,
                                                                         people, login):
    alice, bob = people
    referral = refer(app, alice, bob)
    entry(app, bob, 45, CreditReason.ADMIN_GRANT, days_ago=1, note="Welcome back")
    entry(app, bob, 45, CreditReason.REFERRAL_RECEIVED, days_ago=0, referral_id=referral)
    delete_user(app, alice)
    login(bob)
    assert "You were referred by" not in words(client, "/pricing")
    page = words(client, "/settings")
    assert "You were referred by" not in page
    assert "+45 days — you subscribed through a friend's link" in page


# --- the settings section --------------------------------------------------------------

def test_settings_shows_the_link_count_credit_and_ledger(app, client, people, make_user,
                                                         login):
    alice, bob = people
    carol, dave, erin = make_user("carol"), make_user("dave"), make_user("erin")
    app.config["SITE_URL"] = "https://lumen.example"
    refer(app, erin, alice, converted_days_ago=12)  # alice came through erin's link
    bobs = refer(app, alice, bob, converted_days_ago=2)  # inside the 45 days
    carols = refer(app, alice, carol, converted_days_ago=50)  # outside them
    refer(app, alice, dave)  # signed up, not paid yet
    credit(app, alice, days_ahead=44.5)
    entry(app, alice, 45, CreditReason.REFERRAL_RECEIVED, days_ago=12,
          referral_id=refer_id(app, alice))
    entry(app, alice, 45, CreditReason.REFERRAL_GIVEN, days_ago=50, referral_id=carols)
    entry(app, alice, -45, CreditReason.REVERSAL, days_ago=5, referral_id=carols)
    entry(app, alice, 45, CreditReason.REFERRAL_GIVEN, days_ago=2, referral_id=bobs)
    entry(app, alice, 10, CreditReason.ADMIN_GRANT, days_ago=1, note="Sorry about the outage")
    login(alice)

    page = html(client, "/settings")
    link = f"https://lumen.example/r/{alice.referral_code}"
    assert re.search(rf'<input type="text" id="referral-link" value="{link}" readonly', page)
    assert '<label for="referral-link">Your referral link</label>' in page
    assert re.search(r'<button type="button" class="button" data-copy="referral-link"[^>]*'
                     r' hidden>Copy link</button>', page)  # shown by the script
    assert 'role="status" aria-live="polite"' in page
    assert '<script src="/static/js/copy-link.js" defer></script>' in page

    text = words(client, "/settings")
    assert "1 friend subscribed through your link in the last 45 days." in text
    until = utcnow() + timedelta(days=44.5)
    assert f"+45 days on your account: Premium until {day(until)}." in text
    now = utcnow()
    assert ledger(page) == [
        (day(now - timedelta(days=1)), "+10 days", "granted by our team: Sorry about the outage"),
        (day(now - timedelta(days=2)), "+45 days", "@bob subscribed through your link"),
        (day(now - timedelta(days=5)), "\u221245 days",
         "the payment that earned this was refunded"),
        (day(now - timedelta(days=12)), "+45 days", "you subscribed through @erin&#39;s link"),
        (day(now - timedelta(days=50)), "+45 days", "@carol subscribed through your link"),
    ]


def refer_id(app, referred) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Referral.id).where(
            Referral.referred_id == referred.id))


def test_settings_for_a_user_with_nothing_yet(app, client, people, login):
    alice, _ = people
    credit(app, alice, days_ahead=-1)  # credit that has run out is not shown
    login(alice)
    text = words(client, "/settings")
    assert "Invite friends" in text and "Copy link" in text
    assert "No friend has subscribed through your link in the last 45 days." in text
    assert "on your account" not in text and "Credit history" not in text


def test_counts_and_days_in_the_plural_and_singular(app, client, people, make_user, login):
    alice, bob = people
    refer(app, alice, bob, converted_days_ago=1)
    refer(app, alice, make_user("carol"), converted_days_ago=44)
    credit(app, alice, days_ahead=0.5)
    entry(app, alice, 1, CreditReason.ADMIN_GRANT, days_ago=0)
    login(alice)
    text = words(client, "/settings")
    assert "2 friends subscribed through your link in the last 45 days." in text
    assert "+1 day on your account" in text
    assert [why for _, _, why in ledger(html(client, "/settings"))] == [
        "granted by our team"]  # no note, no colon


def test_a_deleted_friend_is_a_friend_in_the_ledger(app, client, people, login):
    alice, bob = people
    bobs = refer(app, alice, bob, converted_days_ago=3)
    entry(app, alice, 45, CreditReason.REFERRAL_GIVEN, days_ago=3, referral_id=bobs)
    delete_user(app, bob)
    login(alice)
    assert "+45 days — a friend subscribed through your link" in words(client, "/settings")


def test_a_note_is_text_not_markup(app, client, people, login):
    alice, _ = people
    entry(app, alice, 5, CreditReason.ADMIN_GRANT, days_ago=0, note="<b>thanks</b>")
    login(alice)
    assert "granted by our team: &lt;b&gt;thanks&lt;/b&gt;" in html(client, "/settings")


def test_the_copy_script_is_served_from_the_site(client):
    response = client.get("/static/js/copy-link.js")
    assert response.status_code == 200 and b"navigator.clipboard" in response.data
    css = client.get("/static/css/referrals.css")
    assert css.status_code == 200
    assert "/static/css/referrals.css" in client.get("/").get_data(as_text=True)
