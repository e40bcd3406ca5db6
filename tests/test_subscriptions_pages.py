"""The subscription pages through the emulator: pricing, POST /subscriptions and its waiver,
the return from Checkout, /settings and its actions (cancel, resume, switch, portal)."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from app.auth.models import Level, utcnow
from app.billing import gateway
from app.billing.models import BillingInfo
from app.extensions import db
from app.subscriptions.checkout import WAIVER_TEXT, WAIVER_VERSION
from app.subscriptions.models import (
    CancellationWaiver,
    Subscription,
    SubscriptionCheckout,
    SubscriptionStatus,
)
from app.timeline import CHARGED_AFTER
from tests.conftest import PASSWORD, csrf_token
from tests.stripe_objects import new_id

DAY = 86_400


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


@pytest.fixture
def alice(app, client, make_user, login, synced_catalog):
    user = make_user("alice")
    login(user)
    return user


def subscribe(client, interval: str, waiver: bool = True):
    data = {"interval": interval,
            "csrf_token": csrf_token(client, f"/pricing?interval={interval}")}
    if waiver:
        data["waiver"] = "y"
    return client.post("/subscriptions", data=data)


def session_id_of(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.location.rsplit("/", 1)[1]


def pay(client, emu, interval: str, card: str = "4242424242424242"):
    """Subscribe, complete Checkout with `card`, come back: the response of the return."""
    session_id = session_id_of(subscribe(client, interval))
    emu("POST", f"checkout/sessions/{session_id}/complete", card=card)
    return client.get(f"/subscriptions/return?session_id={session_id}")


def post_action(client, path: str, **data):
    data["csrf_token"] = csrf_token(client, "/settings")
    return client.post(path, data=data)


def rows(app, model) -> list:
    with app.app_context():
        found = list(db.session.scalars(sa.select(model)))
        for row in found:
            db.session.expunge(row)
        return found


def the_subscription(app) -> Subscription:
    [row] = rows(app, Subscription)
    return row


def text(client, path: str) -> str:
    return client.get(path, follow_redirects=True).get_data(as_text=True)


def squashed(html: str) -> str:
    """The page's text with runs of whitespace made single spaces."""
    return re.sub(r"\s+", " ", html)


def day(when) -> str:
    return f"{when:%-d %B %Y}"


def add_subscription(app, user, *, status: str = "active", interval: str = "month",
                     days_ago: int = 0, trial: bool = False, cancel: bool = False,
                     failed_days_ago: int | None = None) -> None:
    """A Subscription row as the webhooks would have written it."""
    start = utcnow().replace(microsecond=0) - timedelta(days=days_ago)
    length = timedelta(days=365 if interval == "year" else 30)
    ended = start + length if status == "canceled" else None
    with app.app_context():
        db.session.add(Subscription(
            user_id=user.id, stripe_subscription_id=new_id("sub"),
            stripe_customer_id="cus_test", status=SubscriptionStatus(status),
            stripe_item_id=new_id("si"), stripe_price_id="price_x", interval=interval,
            amount=7000 if interval == "year" else 700, currency="gbp",
            current_period_start=start, current_period_end=start + length,
            trial_start=start if trial else None,
            trial_end=start + timedelta(days=14) if trial else None,
            cancel_at_period_end=cancel, canceled_at=ended, ended_at=ended,
            payment_failed_at=(utcnow() - timedelta(days=failed_days_ago))
            if failed_days_ago is not None else None,
            snapshot_at=start, created_at=start))
        db.session.commit()


# --- pricing ------------------------------------------------------------------------

def test_pricing_offers_monthly_and_annual_without_javascript(client):
    monthly = squashed(client.get("/pricing").get_data(as_text=True))
    assert "£7.00</span> <span class=\"per\">per month" in monthly
    assert "Charged today, then every month." in monthly
    assert 'href="/pricing?interval=annual"' in monthly
    annual = squashed(client.get("/pricing?interval=annual").get_data(as_text=True))
    assert ("14-day free trial, then £70.00 a year; card required; cancel before the trial "
            "ends and pay nothing") in annual
    assert 'aria-current="page">Annual' in annual


def test_anonymous_visitor_signs_up_and_comes_back_to_the_same_choice(client,
                                                                      synced_catalog):
    page = client.get("/pricing?interval=annual").get_data(as_text=True)
    match = re.search(r'href="([^"]+)">Sign up to subscribe', page)
    signup = match.group(1).replace("&amp;", "&")
    assert urlsplit(signup).path == "/signup"
    assert parse_qs(urlsplit(signup).query) == {"next": ["/pricing?interval=annual"]}
    response = client.post(signup, data={
        "email": "new@example.com", "username": "newbie", "password": PASSWORD,
        "password2": PASSWORD, "csrf_token": csrf_token(client, signup)})
    assert response.status_code == 303 and response.location == "/pricing?interval=annual"
    page = squashed(client.get(response.location).get_data(as_text=True))
    assert "Start your 14-day free trial" in page and 'name="interval" value="annual"' in page


def test_login_link_keeps_the_choice_too(client):
    page = client.get("/pricing?interval=monthly").get_data(as_text=True)
    login = re.search(r'href="(/login[^"]*)">Log in</a> to subscribe', page).group(1)
    assert parse_qs(urlsplit(login.replace("&amp;", "&")).query) == {
        "next": ["/pricing?interval=monthly"]}


def test_monthly_form_carries_the_waiver_tick_box_and_annual_does_not(client, alice):
    monthly = client.get("/pricing").get_data(as_text=True)
    assert WAIVER_TEXT in monthly and 'type="checkbox" id="waiver" name="waiver"' in monthly
    annual = client.get("/pricing?interval=annual").get_data(as_text=True)
    assert WAIVER_TEXT not in annual


def test_gold_or_better_is_told_they_have_premium_and_gets_no_button(client, make_user,
                                                                     login):
    login(make_user(level=Level.GOLD))
    page = client.get("/pricing").get_data(as_text=True)
    assert "You already have Premium" in page
    assert 'action="/subscriptions"' not in page


# --- POST /subscriptions ------------------------------------------------------------

def sessions_at_stripe(app) -> list:
    with app.app_context():
        return list(gateway.client().v1.checkout.sessions.list().data)


def test_monthly_without_the_tick_box_is_refused_and_nothing_is_created(app, client, alice):
    response = subscribe(client, "monthly", waiver=False)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Tick the box to start monthly Premium now" in page
    assert 'aria-invalid="true" aria-describedby="waiver-error"' in page
    assert rows(app, SubscriptionCheckout) == [] and rows(app, CancellationWaiver) == []
    assert rows(app, BillingInfo) == []  # not even a Stripe customer
    assert sessions_at_stripe(app) == []


def test_monthly_with_the_tick_box_records_the_waiver_and_opens_checkout(app, client, alice,
                                                                         emulator):
    response = subscribe(client, "monthly")
    assert response.status_code == 303
    assert response.location.startswith(emulator.url + "/checkout/cs_")
    [waiver] = rows(app, CancellationWaiver)
    [checkout] = rows(app, SubscriptionCheckout)
    assert waiver.user_id == alice.id and waiver.wording_version == WAIVER_VERSION
    assert (waiver.amount, waiver.currency, waiver.checkout_id) == (700, "gbp", checkout.id)
    [session] = sessions_at_stripe(app)
    assert session.mode == "subscription" and session.id == checkout.stripe_checkout_session_id
    site = app.config["SITE_URL"]
    assert session.success_url == \
        site + "/subscriptions/return?session_id={CHECKOUT_SESSION_ID}"
    assert session.cancel_url == site + "/pricing?interval=monthly&cancelled=1"


def test_annual_needs_no_tick_box_and_records_no_waiver(app, client, alice):
    assert subscribe(client, "annual", waiver=False).status_code == 303
    assert rows(app, CancellationWaiver) == []
    [session] = sessions_at_stripe(app)
    assert session.mode == "subscription" and session.amount_total == 7000


def test_unknown_interval_is_a_form_error(app, client, alice):
    response = subscribe(client, "weekly")
    assert response.status_code == 422
    assert "Choose monthly or annual billing." in response.get_data(as_text=True)
    assert rows(app, SubscriptionCheckout) == []


def test_double_submit_reuses_the_open_session(app, client, alice):
    first, second = subscribe(client, "annual"), subscribe(client, "annual")
    assert first.status_code == second.status_code == 303
    assert first.location == second.location
    assert len(rows(app, SubscriptionCheckout)) == 1 and len(sessions_at_stripe(app)) == 1


def test_cancelled_checkout_returns_to_pricing_with_a_message(app, client, alice):
    subscribe(client, "annual")
    [session] = sessions_at_stripe(app)
    cancel = urlsplit(session.cancel_url)
    assert parse_qs(cancel.query) == {"interval": ["annual"], "cancelled": ["1"]}
    page = client.get(f"{cancel.path}?{cancel.query}").get_data(as_text=True)
    assert "Checkout was cancelled; nothing was charged." in page
    assert "Start your 14-day free trial" in page


def test_login_and_csrf_are_required(app, client, alice):
    response = client.post("/subscriptions", data={"interval": "annual"})
    assert response.status_code == 400 and rows(app, SubscriptionCheckout) == []
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    response = client.post("/subscriptions", data={"interval": "annual"})
    assert response.status_code in (302, 400)
    assert rows(app, SubscriptionCheckout) == []


def test_stripe_failing_to_open_checkout_abandons_it_and_says_so(app, client, alice,
                                                                  monkeypatch):
    from app.billing.errors import StripeUnavailable

    def unavailable(*args, **kwargs):
        raise StripeUnavailable()

    monkeypatch.setattr(gateway, "create_checkout_session", unavailable)
    response = subscribe(client, "annual")
    assert response.status_code == 503
    assert "The payment provider did not answer. Nothing was charged" in \
        response.get_data(as_text=True)
    [checkout] = rows(app, SubscriptionCheckout)
    assert checkout.status.value == "expired" and checkout.checkout_url is None
    monkeypatch.undo()
    assert subscribe(client, "annual").status_code == 303  # a new try, a new checkout
    assert len(rows(app, SubscriptionCheckout)) == 2


def test_subscribing_is_rate_limited(app, client, alice):
    statuses = [subscribe(client, "monthly", waiver=False).status_code for _ in range(11)]
    assert statuses == [422] * 10 + [429]


# --- back from Checkout, and settings ------------------------------------------------

def test_monthly_paid_is_active_at_once_on_return(app, client, alice, emu):
    response = pay(client, emu, "monthly")
    assert response.status_code == 303 and response.location == "/settings"
    page = squashed(client.get("/settings").get_data(as_text=True))
    assert "Welcome to Premium" in page
    sub = the_subscription(app)
    assert sub.status is SubscriptionStatus.ACTIVE and sub.interval == "month"
    assert "Premium (monthly)" in page and ">Active</span>" in page
    assert f"Renews on {day(sub.current_period_end + CHARGED_AFTER)} for £7.00." in page


def test_annual_trial_shows_the_days_left_and_the_first_payment(app, client, alice, emu):
    pay(client, emu, "annual")
    page = squashed(client.get("/settings").get_data(as_text=True))
    sub = the_subscription(app)
    assert sub.status is SubscriptionStatus.TRIALING
    assert "Your free trial has started" in page
    assert (f"14 days left in your free trial</strong>; first payment of £70.00 on "
            f"{day(sub.trial_end + CHARGED_AFTER)}.") in page
    assert "Premium (annual)" in page and ">Free trial</span>" in page


def test_a_live_subscriber_is_sent_to_settings_and_nothing_is_created(app, client, alice,
                                                                      emu):
    pay(client, emu, "annual")
    response = subscribe(client, "monthly")
    assert response.status_code == 303 and response.location == "/settings"
    assert "You already have a Premium subscription" in text(client, "/settings")
    assert len(rows(app, SubscriptionCheckout)) == 1 and rows(app, CancellationWaiver) == []
    pricing = client.get("/pricing").get_data(as_text=True)
    assert "You are subscribed: Premium (annual)" in pricing
    assert 'href="/settings"' in pricing and 'action="/subscriptions"' not in pricing


def test_a_subscriber_with_gold_sees_the_subscription_first(app, client, make_user, login):
    gold = make_user("goldsub", level=Level.GOLD)
    add_subscription(app, gold, status="active")
    login(gold)
    page = client.get("/pricing").get_data(as_text=True)
    assert "You are subscribed: Premium (monthly), paid to " in page
    assert "Your Gold level includes Premium too" in page and 'href="/settings"' in page


def test_return_with_a_session_that_is_not_yours_changes_nothing(app, client, alice):
    subscribe(client, "annual")
    response = client.get("/subscriptions/return?session_id=cs_test_not_this_one")
    assert response.status_code == 303 and response.location == "/settings"
    assert rows(app, Subscription) == []
    assert client.get("/subscriptions/return?session_id=cs%00x").status_code == 303


def test_return_before_payment_says_it_is_waiting(app, client, alice):
    session_id = session_id_of(subscribe(client, "annual"))
    page = text(client, f"/subscriptions/return?session_id={session_id}")
    assert "We are waiting for Stripe to confirm your subscription" in page
    assert rows(app, Subscription) == []


def test_the_waiting_page_checks_politely_and_says_when_stripe_confirms(app, client, alice,
                                                                       emu):
    session_id = session_id_of(subscribe(client, "annual"))
    page = client.get(f"/subscriptions/return?session_id={session_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'http-equiv="refresh"' not in html
    assert 'role="status" aria-live="polite"' in html and "js/payment-status.js" in html
    assert "format=json" in html and ">Refresh</a>" in html  # the script's address; no JS
    status = f"/subscriptions/return?session_id={session_id}&format=json"
    news = client.get(status).json
    assert (news["state"], news["final"]) == ("waiting", False) and news["until"]

    # Paid: the webhook (here, the next return) records it; the page's next look says so.
    emu("POST", f"checkout/sessions/{session_id}/complete", card="4242424242424242")
    with app.app_context():
        from app.subscriptions.checkout import apply_return
        from app.subscriptions.overview import checkout_for

        apply_return(checkout_for(alice, session_id))
        db.session.commit()
    news = client.get(status).json
    assert (news["state"], news["final"]) == ("active", True)
    assert "Your free trial has started" in news["parts"]["status"]
    assert "Go to your settings" in news["parts"]["body"]


def test_a_checkout_that_closed_unpaid_says_nothing_was_charged(app, client, alice, emu):
    session_id = session_id_of(subscribe(client, "monthly"))
    emu("POST", f"checkout/sessions/{session_id}/expire")
    html = client.get(f"/subscriptions/return?session_id={session_id}").get_data(as_text=True)
    assert "The payment page closed before a payment was made. Nothing was charged." in html
    assert 'href="/pricing?interval=monthly">Try again</a>' in html
    assert "data-poll-final" in html and ">Refresh</a>" not in html


@pytest.mark.parametrize("sent", ["n", "0", "off", "no", "False", "", "Y", "yes", "true"])
def test_only_the_tick_box_own_value_is_consent(app, client, alice, sent):
    """The waiver is the legal record: a value the box never sends is not consent."""
    data = {"interval": "monthly", "waiver": sent,
            "csrf_token": csrf_token(client, "/pricing?interval=monthly")}
    response = client.post("/subscriptions", data=data)
    assert response.status_code == 422
    assert "Tick the box to start monthly Premium now" in response.get_data(as_text=True)
    assert rows(app, CancellationWaiver) == [] and rows(app, SubscriptionCheckout) == []
