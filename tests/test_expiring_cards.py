"""Expiring cards (issue 20): when Stripe announces a renewal (`invoice.upcoming`, from the
emulator's calendar through the signed webhook endpoint), a user whose default card will
have expired by the charge, with no other card that would pay, is mailed once per card;
settings warns them as long as it is so."""

from datetime import UTC, datetime

import pytest

from app.billing.expiring import expiring_default, good_until
from app.billing.models import PaymentMethod
from tests.mail_fixtures import (  # noqa: F401  (fixtures)
    app_clock,
    jobs,
    mail_config,
    mailbox,
    run_worker,
    smtp,
)
from tests.mailbox import html_of, text_of
from tests.test_billing_cards import add_card
from tests.test_referrals_credit import events
from tests.test_subscriptions_pages import (  # noqa: F401  (alice is a fixture)
    DAY,
    alice,
    session_id_of,
    squashed,
    subscribe,
    text,
    the_subscription,
)

VISA, MASTERCARD = "4242424242424242", "5555555555554444"
HOUR = 3600


@pytest.fixture
def app_config(emulated_config, mail_config):
    return {**emulated_config, **mail_config}


def emulator_now(emu) -> datetime:
    return datetime.fromtimestamp(emu("GET", "clock")["now"], UTC)


def pay_with_card_ending_this_month(client, emu, app_clock) -> tuple[int, int]:  # noqa: F811
    """Subscribe monthly with a Visa valid to the end of this month (by Stripe's clock): it
    pays today, and next month's renewal comes after it expired. Returns its expiry.
    The clocks move on to noon first, so a month cannot end while this runs."""
    now = emu("GET", "clock")["now"]
    emu("POST", "clock/advance", seconds=(DAY // 2 - now % DAY) % DAY)
    app_clock(emu)
    now = emulator_now(emu)
    session_id = session_id_of(subscribe(client, "monthly"))
    emu("POST", f"checkout/sessions/{session_id}/complete", card=VISA,
        exp_month=now.month, exp_year=now.year)
    client.get(f"/subscriptions/return?session_id={session_id}")
    return now.month, now.year


def to_three_days_before_the_renewal(app, emu, app_clock) -> datetime:  # noqa: F811
    """Move Stripe's clock (and ours) to just after invoice.upcoming; the renewal's charge."""
    renewal = the_subscription(app).current_period_end
    seconds = int((renewal - emulator_now(emu)).total_seconds()) - 3 * DAY + 60
    emu("POST", "clock/advance", seconds=seconds)
    emu("POST", "flush")
    app_clock(emu)
    return renewal


def upcoming_events(emu) -> list[dict]:
    return [d for d in emu("GET", "deliveries")["data"] if d["type"] == "invoice.upcoming"]


def test_an_expiring_card_is_mailed_once_when_stripe_announces_the_renewal(
        app, site, client, emu, alice, mailbox, post_event, app_clock):  # noqa: F811
    month, year = pay_with_card_ending_this_month(client, emu, app_clock)
    emu("POST", "flush")
    run_worker(app)
    mailbox.clear()  # the welcome
    expiry = f"{month:02d}/{year}"
    page = squashed(text(client, "/settings"))
    assert "Your Visa ending 4242 expires before your next payment." in page

    renewal = to_three_days_before_the_renewal(app, emu, app_clock)
    [delivery] = upcoming_events(emu)
    assert delivery["status_code"] == 200
    run_worker(app)
    [message] = [m for m in mailbox.messages if "expires" in str(m["Subject"])]
    assert message["Subject"] == "Your Visa ending 4242 expires before your next payment"
    body = squashed(text_of(message))
    charged = f"{renewal.timestamp() + HOUR:.0f}"
    charge_day = f"{datetime.fromtimestamp(int(charged), UTC):%-d %B %Y}"
    assert (f"Your next payment of £7.00 is due on {charge_day}, but the card it is charged "
            f"to, Visa ending 4242 (expires {expiry}), will have expired by then") in body
    assert f"{site.url}/settings/billing" in body
    assert f"{site.url}/settings/billing" in html_of(message)
    assert VISA not in body and VISA not in html_of(message)  # never the number

    # Stripe sends the event again, and announces the same renewal once more (another
    # event id): nothing more is sent.
    emu("POST", f"events/{delivery['event_id']}/redeliver")
    emu("POST", "flush")
    [announced] = events(app, "invoice.upcoming")
    announced["id"] = "evt_announced_again"
    secret = app.config["STRIPE_WEBHOOK_SECRET"]
    assert post_event(announced, secret=secret).status_code == 200
    run_worker(app)
    assert [m for m in mailbox.messages if "expires" in str(m["Subject"])] == [message]
    assert [status for _, status in jobs(app, "email:card_expiring:")] == ["done"]


def test_no_mail_when_another_card_would_pay(
        app, site, client, emu, alice, mailbox, app_clock):  # noqa: F811
    pay_with_card_ending_this_month(client, emu, app_clock)
    emu("POST", "flush")
    assert "expires before your next payment" in text(client, "/settings/billing")
    add_card(client, emu, MASTERCARD)  # valid to 12/2034, not made the default
    emu("POST", "flush")
    for path in ("/settings", "/settings/billing"):
        assert "expires before your next payment" not in text(client, path)

    to_three_days_before_the_renewal(app, emu, app_clock)
    assert [d["status_code"] for d in upcoming_events(emu)] == [200]
    run_worker(app)
    assert jobs(app, "email:card_expiring:") == []
    assert "expires" not in " ".join(str(m["Subject"]) for m in mailbox.messages)


def card(month: int, year: int) -> PaymentMethod:
    return PaymentMethod(brand="visa", last4="4242", exp_month=month, exp_year=year,
                         priority=1, stripe_payment_method_id="pm_x")


def test_a_card_pays_through_the_last_day_of_its_expiry_month():
    assert good_until(card(12, 2027)) == datetime(2028, 1, 1, tzinfo=UTC)
    last_second = datetime(2027, 4, 30, 23, 59, 59, tzinfo=UTC)
    assert expiring_default([card(4, 2027)], last_second) is None
    assert expiring_default([card(4, 2027)], datetime(2027, 5, 1, tzinfo=UTC)) is not None
    # Another card valid then: no warning; one that expired too: still one.
    may = datetime(2027, 5, 1, tzinfo=UTC)
    assert expiring_default([card(4, 2027), card(5, 2027)], may) is None
    assert expiring_default([card(4, 2027), card(3, 2027)], may) is not None
    assert expiring_default([], may) is None
