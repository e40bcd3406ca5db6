"""Each billing state, read in Chromium on pricing, settings and the premium page: the next
payment they state is the one Stripe's upcoming invoice (the emulator's preview) will ask
for, to the day and the penny; states with nothing to pay say so (issue 19).

States are built through the app's own flows (Checkout completed at the emulator, the
cancel action, `flask billing grant-credit`, `flask users set-level`) with the test client;
the browser only reads. The emulator's clock starts each test at noon UTC, so the hour
between a period's end and its charge never crosses midnight, except in the last test, which
shows that when it does the pages name the wrong day (it fails until the timeline learns it).
TIMELINE_SHOTS=/tmp/shots saves screenshots of /settings at 1280 and 390 px for two states.
"""

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.billing import gateway
from app.billing.errors import StripeRejected
from app.extensions import db
from app.subscriptions.models import Subscription
from tests.browser.test_upgrades_browser import log_in
from tests.mail_fixtures import app_clock  # noqa: F401  (fixture)
from tests.test_subscriptions_pages import pay, post_action

pytestmark = pytest.mark.browser

DAY = 86_400
GRACE_DAYS = 7
CREDIT_DAYS = 45
VISA = "4242424242424242"
DECLINES_WHEN_CHARGED = "4000000000000341"
SHOTS = os.environ.get("TIMELINE_SHOTS")
PAYMENT_PHRASES = ("payment of", "next payment", "renews on", "first payment")


@pytest.fixture
def app_config(emulated_config):
    return {**emulated_config, "SUBSCRIPTION_GRACE_DAYS": GRACE_DAYS}


def day(timestamp: int) -> str:
    return f"{datetime.fromtimestamp(timestamp, UTC):%-d %B %Y}"


def pounds(amount: int, currency: str) -> str:
    assert currency == "gbp", currency
    return f"£{amount / 100:,.2f}"


@dataclass(frozen=True)
class Due:
    """The next payment as Stripe's upcoming invoice states it."""

    on: str
    amount: str


@dataclass
class Seen:
    """What Chromium shows of the billing state on the three pages (whitespace squashed)."""

    pricing: str  # the Premium plan's action area ("You are subscribed: ...")
    pricing_pages: str  # all of pricing, both tabs (monthly and annual)
    plan: str  # settings' "Your plan" section
    plan_when: str
    premium_row: str  # settings' account section, its "Premium" row
    credit_line: str
    premium: str  # the premium page's main column

    def payment_texts(self) -> list[str]:
        return [self.pricing, self.plan, self.premium]


def text_of(page, selector: str) -> str:
    found = page.locator(selector)
    return " ".join(found.first.inner_text().split()) if found.count() else ""


def visit(page, site, shots: str | None = None) -> Seen:
    """Log in as alice and read the three pages (screenshots of /settings named `shots`)."""
    log_in(page, site, "alice")
    page.goto(site.url + "/pricing")
    pricing, monthly = text_of(page, ".plan-action"), text_of(page, "main")
    page.goto(site.url + "/pricing?interval=annual")
    annual = text_of(page, "main")
    page.goto(site.url + "/settings")
    seen = Seen(pricing=pricing, pricing_pages=f"{monthly} {annual}",
                plan=text_of(page, "section[aria-labelledby=plan-heading]"),
                plan_when=text_of(page, ".plan-when"),
                premium_row=text_of(page, ".premium-access"),
                credit_line=text_of(page, ".credit-line"), premium="")
    if shots:
        for width, height in ((1280, 900), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(full_page=True, path=str(Path(SHOTS) / f"{shots}-{width}.png"))
        page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(site.url + "/premium")
    seen.premium = text_of(page, "main")
    return seen


def the_subscription(app) -> Subscription:
    with app.app_context():
        row = db.session.scalar(sa.select(Subscription))
        db.session.expunge(row)
        return row


def upcoming(app) -> dict:
    """Stripe's upcoming invoice for the user's subscription (raises if there is none)."""
    row = the_subscription(app)
    with app.app_context():
        return gateway.preview_invoice({"customer": row.stripe_customer_id,
                                        "subscription": row.stripe_subscription_id}).to_dict()


def stripe_due(app) -> Due:
    invoice = upcoming(app)
    # When Stripe will charge: the emulator, as Stripe, attempts the payment about an hour
    # after the period's end, and says when in next_payment_attempt.
    assert invoice["next_payment_attempt"], invoice
    return Due(day(invoice["next_payment_attempt"]),
               pounds(invoice["amount_due"], invoice["currency"]))


def stripe_subscription(app) -> dict:
    row = the_subscription(app)
    with app.app_context():
        return gateway.client().v1.subscriptions.retrieve(row.stripe_subscription_id).to_dict()


DATE = r"\d{1,2} [A-Z][a-z]+ \d{4}"


def assert_states_next_payment(seen: Seen, due: Due, *also: str) -> None:
    """Every page states this payment, and no other date or amount as the next one (dates
    `also` may appear beside it: the day a paid period ends)."""
    said = f"payment of {due.amount} on {due.on}"
    assert "You are subscribed: " in seen.pricing and said in seen.pricing, seen.pricing
    assert said in seen.premium, seen.premium
    assert due.on in seen.plan_when and due.amount in seen.plan_when, seen.plan_when
    for text in seen.payment_texts():
        dates = re.findall(r"(?:payment of £[\d.,]+ on|[Nn]ext payment on|[Rr]enews on) "
                           f"({DATE})", text)
        assert dates and set(dates) == {due.on}, text
    # Pricing's plan terms are for those who have not subscribed ("First payment on ...").
    assert set(re.findall(DATE, seen.pricing_pages)) <= {due.on, *also}, seen.pricing_pages
    for text in (seen.pricing, seen.plan_when, seen.premium.split("Why you have it")[0]):
        assert set(re.findall(r"£\d[\d,]*\.\d\d", text)) == {due.amount}, text


def assert_no_next_payment(seen: Seen) -> None:
    for text in seen.payment_texts():
        assert not any(p in text.lower() for p in PAYMENT_PHRASES), text


@pytest.fixture
def alice(app, client, login, emu, make_user, app_clock):
    """Alice, logged in on the test client, on an emulator clock set to noon UTC."""
    set_time_of_day(emu, app_clock, DAY // 2)
    user = make_user("alice")
    login(user)
    return user


@pytest.fixture
def later(emu, app_clock):
    """Move the emulator's clock (and the app's with it) on by `days`, events delivered."""

    def move(days: int) -> None:
        emu("POST", "clock/advance", seconds=days * DAY)
        emu("POST", "flush")
        app_clock(emu)

    return move


def set_time_of_day(emu, app_clock, seconds: int) -> None:
    """Move the emulator's clock on to the next `seconds` past midnight UTC; the app's too."""
    now = emu("GET", "clock")["now"]
    emu("POST", "clock/advance", seconds=(seconds - now % DAY) % DAY)
    app_clock(emu)


def subscribed(client, emu, interval: str, card: str = VISA) -> None:
    assert pay(client, emu, interval, card=card).status_code == 303
    emu("POST", "flush")


def test_no_plan(app, site, page, alice):
    seen = visit(page, site)
    assert "You are subscribed" not in seen.pricing
    assert "You are on the free plan." in seen.plan and seen.premium_row == "Not included"
    assert "does not include Premium access" in seen.premium
    assert_no_next_payment(seen)


def test_free_trial(app, site, page, client, emu, alice):
    subscribed(client, emu, "annual")
    due = stripe_due(app)
    assert due.amount == "£70.00"
    seen = visit(page, site)
    assert_states_next_payment(seen, due)
    assert f"free trial until {due.on}; first payment of £70.00 on {due.on}." in seen.pricing
    assert f"left in your free trial; first payment of £70.00 on {due.on}." in seen.plan_when
    assert "Free trial" in seen.plan


def test_active_monthly(app, site, page, client, emu, alice):
    subscribed(client, emu, "monthly")
    due = stripe_due(app)
    assert due.amount == "£7.00"
    seen = visit(page, site)
    assert_states_next_payment(seen, due)
    assert seen.plan_when == f"Renews on {due.on} for £7.00."
    assert f"paid to {due.on}; next payment of £7.00 on {due.on}." in seen.premium
    assert seen.premium_row == f"Subscription: Premium (monthly), until {due.on}"


def test_active_annual_after_its_trial(app, site, page, client, emu, alice, later):
    subscribed(client, emu, "annual")
    later(15)  # the trial ends and £70 is charged
    assert stripe_subscription(app)["status"] == "active"
    due = stripe_due(app)
    assert due.amount == "£70.00"
    seen = visit(page, site)
    assert_states_next_payment(seen, due)
    assert seen.plan_when == f"Renews on {due.on} for £70.00."
    assert "free trial" not in " ".join(seen.payment_texts()).lower()


def test_paying_subscriber_with_credit(app, site, page, client, emu, alice, runner):
    subscribed(client, emu, "monthly")
    granted = runner.invoke(args=["billing", "grant-credit", alice.email,
                                  "--days", str(CREDIT_DAYS), "--reason", "A thank-you"])
    assert granted.exit_code == 0, granted.output
    emu("POST", "flush")
    held = stripe_subscription(app)  # the charge moved: a "trial" to Stripe, paid to us
    assert held["metadata"]["credit_days"] == str(CREDIT_DAYS)
    paid_to = day(int(held["metadata"]["paid_until"]))
    due = stripe_due(app)
    assert due.amount == "£7.00"
    seen = visit(page, site, shots="credit" if SHOTS else None)
    assert_states_next_payment(seen, due, paid_to)
    assert seen.plan_when == (f"Paid to {paid_to}, then {CREDIT_DAYS} days of referral "
                              f"credit: next payment of £7.00 on {due.on}.")
    assert (f"paid to {paid_to}, then {CREDIT_DAYS} days of referral credit; next payment "
            f"of £7.00 on {due.on}.") in seen.pricing
    assert seen.credit_line == (f"+{CREDIT_DAYS} days on your account: added before your "
                                f"next payment, now on {due.on}.")
    for text in seen.payment_texts():
        assert "trial" not in text.lower(), text
    assert "Active" in seen.plan


def test_past_due_warns_until_the_grace_end(app, site, page, client, emu, alice, later):
    subscribed(client, emu, "annual", card=DECLINES_WHEN_CHARGED)
    later(15)  # the trial ends; the £70 charge is declined
    held = stripe_subscription(app)
    assert held["status"] == "past_due"
    with app.app_context():
        failed = gateway.client().v1.invoices.retrieve(held["latest_invoice"]).to_dict()
    assert (failed["status"], failed["amount_due"]) == ("open", 7000)
    grace_end = day(failed["created"] + GRACE_DAYS * DAY)
    seen = visit(page, site, shots="past-due" if SHOTS else None)
    warning = (f"Your last payment did not go through. You keep Premium until {grace_end}: "
               "pay now, or with another card, before then to keep it.")
    assert warning in seen.pricing_pages and warning in seen.premium  # the site-wide warning
    said = f"Premium (annual), payment overdue: Premium is kept until {grace_end}"
    assert said in seen.pricing and said in seen.premium
    assert ("Your last payment did not go through. You keep Premium until "
            f"{grace_end}; pay now, or with another card, before then to keep it.") in seen.plan
    assert "Payment overdue" in seen.plan
    assert_no_next_payment(seen)  # Stripe retries the open invoice; no renewal is promised


def test_cancelling(app, site, page, client, emu, alice):
    subscribed(client, emu, "monthly")
    assert post_action(client, "/subscriptions/cancel").status_code == 303
    emu("POST", "flush")
    ends = day(stripe_subscription(app)["items"]["data"][0]["current_period_end"])
    with pytest.raises(StripeRejected) as nothing:
        upcoming(app)
    assert "invoice_upcoming_none" in nothing.value.operator_message
    seen = visit(page, site)
    said = f"Premium (monthly), cancelled: Premium ends on {ends} and nothing more will be charged."
    assert said in seen.pricing and said in seen.premium
    assert seen.plan_when == f"Cancelled: Premium ends on {ends}. Nothing more will be charged."
    assert_no_next_payment(seen)


def test_gold_without_a_subscription(app, site, page, alice, runner):
    assert runner.invoke(args=["users", "set-level", alice.email, "gold"]).exit_code == 0
    seen = visit(page, site)
    assert "your Gold level already includes Premium access, for good" in seen.pricing
    assert "Your Gold level includes Premium access, for good. There is no subscription " \
           "to manage." in seen.plan
    assert "Your Gold level includes Premium access, for good." in seen.premium
    assert seen.premium_row == "Gold level (never expires)"
    assert_no_next_payment(seen)


def test_gold_with_a_subscription(app, site, page, client, emu, alice, runner):
    subscribed(client, emu, "monthly")
    assert runner.invoke(args=["users", "set-level", alice.email, "gold"]).exit_code == 0
    due = stripe_due(app)
    seen = visit(page, site)
    assert_states_next_payment(seen, due)
    gold = "Your Gold level includes Premium too, for good."
    assert gold in seen.pricing and gold in seen.premium
    assert seen.plan_when == f"Renews on {due.on} for £7.00."
    assert seen.premium_row == ("Gold level (never expires); Subscription: Premium (monthly), "
                                f"until {due.on}")


def test_a_month_that_ends_in_the_last_hour_of_a_day_is_charged_the_next_day(
        app, site, page, client, emu, alice, app_clock):
    """Stripe charges a renewal about an hour after the period ends: subscribed at 23:30
    UTC, the payment is taken at 00:30 the next day, and the pages name that day as the
    payment's (and the day before as the end of the paid month)."""
    set_time_of_day(emu, app_clock, DAY - 30 * 60)
    subscribed(client, emu, "monthly")
    period_end = stripe_subscription(app)["items"]["data"][0]["current_period_end"]
    due = stripe_due(app)
    assert due.on == day(period_end + 3600) != day(period_end)  # what Stripe says
    seen = visit(page, site)
    assert_states_next_payment(seen, due, day(period_end))
    assert f"paid to {day(period_end)}; next payment of £7.00 on {due.on}" in seen.pricing
