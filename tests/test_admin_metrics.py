"""The console's overview (/admin): every figure against a hand-built set of customers, the
page within the same number of queries for 10 and 10,000 customers, and 404 for anyone but
an admin."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.admin.metrics import WINDOW_DAYS, Overview, overview
from app.auth.models import Level, User
from app.extensions import db
from app.history.models import Invoice
from app.referrals.models import CreditEntry, CreditReason, Referral
from app.subscriptions.models import Subscription, SubscriptionStatus
from app.upgrades.models import UpgradeStatus, UpgradeType, UserUpgrade
from tests.test_subscriptions_settings import count_queries

NOW = datetime(2025, 6, 30, 12, tzinfo=UTC)
S = SubscriptionStatus


def at(day: str, hour: int = 10) -> datetime:
    """A time on a day of 2025 ("06-15"), mid-morning UTC unless said."""
    month, dom = (int(part) for part in day.split("-"))
    return datetime(2025, month, dom, hour, tzinfo=UTC)


class Book:
    """Makes customers through the models, one subscription and its invoices at a time."""

    def __init__(self) -> None:
        self.n = 0

    def user(self, name: str) -> User:
        user = User(email=f"{name}@example.com", username=name, password_hash="x")
        db.session.add(user)
        db.session.flush()
        return user

    def subscription(self, user: User, status: S, *, start: str, interval: str = "month",
                     amount: int = 1000, currency: str = "gbp", **extra) -> Subscription:
        self.n += 1
        sub = Subscription(user_id=user.id, stripe_subscription_id=f"sub_{self.n}",
                           stripe_customer_id=f"cus_{user.id}", status=status,
                           stripe_item_id=f"si_{self.n}", stripe_price_id=f"price_{interval}",
                           interval=interval, amount=amount, currency=currency,
                           current_period_start=at(start), current_period_end=at(start),
                           snapshot_at=NOW, created_at=at(start), **extra)
        db.session.add(sub)
        db.session.flush()
        return sub

    def invoice(self, sub: Subscription, start: str, end: str | datetime, *, paid: int | None,
                status: str = "paid", **extra) -> Invoice:
        """An invoice for [start, end); `paid` is the money taken (None: unpaid)."""
        self.n += 1
        end_at = end if isinstance(end, datetime) else at(end)
        row = Invoice(user_id=sub.user_id, stripe_invoice_id=f"in_{self.n}",
                      stripe_subscription_id=sub.stripe_subscription_id, status=status,
                      currency=sub.currency, period_start=at(start), period_end=end_at,
                      created_at=at(start), amount_due=sub.amount if paid is None else paid,
                      amount_paid=paid or 0, paid_at=at(start) if paid is not None else None,
                      **extra)
        db.session.add(row)
        return row

    def monthly(self, sub: Subscription, *starts: str) -> None:
        """Paid monthly invoices, each from its start to the same day a month later."""
        for start in starts:
            month, dom = (int(part) for part in start.split("-"))
            self.invoice(sub, start, f"{month + 1:02d}-{dom:02d}", paid=sub.amount)


@pytest.fixture
def customers(app):
    """The hand-built business (`build`), in the test's database."""
    with app.app_context():
        build()


def build() -> None:
    """The hand-built business (see each line), committed; in an app context."""
    b = Book()
    # Ann: monthly £10, paying since before the window.
    ann = b.user("ann")
    b.monthly(b.subscription(ann, S.ACTIVE, start="03-20"), "03-20", "04-20", "05-20", "06-20")
    # Bob: annual £120 from 1 May (£10 a month of MRR), referred by Ann.
    bob = b.user("bob")
    b.invoice(b.subscription(bob, S.ACTIVE, start="05-01", interval="year", amount=12000),
              "05-01", datetime(2026, 5, 1, 10, tzinfo=UTC), paid=12000)
    # Cat: a free trial from 1 June (a £0 invoice), converted on 15 June.
    cat = b.user("cat")
    sub = b.subscription(cat, S.ACTIVE, start="06-01", trial_start=at("06-01"),
                         trial_end=at("06-15"))
    b.invoice(sub, "06-01", "06-15", paid=0)
    b.invoice(sub, "06-15", "07-15", paid=1000)
    # Dan: still on a free trial, begun 20 June.
    dan = b.user("dan")
    sub = b.subscription(dan, S.TRIALING, start="06-20", trial_start=at("06-20"),
                         trial_end=at("07-04"))
    b.invoice(sub, "06-20", "07-04", paid=0)
    # Eve: paid from 10 April to 10 June, then referral credit moved her next charge
    # (Stripe says trialing): not revenue, and not a trial.
    eve = b.user("eve")
    sub = b.subscription(eve, S.TRIALING, start="04-10", trial_start=at("06-10"),
                         trial_end=at("07-10"), credit_days=30, paid_until=at("06-10"))
    b.monthly(sub, "04-10", "05-10")
    # Fay: paid to 25 June; that renewal failed and is still open: past due, at risk.
    fay = b.user("fay")
    sub = b.subscription(fay, S.PAST_DUE, start="03-25")
    b.monthly(sub, "03-25", "04-25", "05-25")
    b.invoice(sub, "06-25", "07-25", paid=None, status="open", failed_at=at("06-26"))
    # Gus: the 5 May renewal failed on 6 May and a retry paid it on 8 May (recovered).
    gus = b.user("gus")
    sub = b.subscription(gus, S.ACTIVE, start="03-05")
    b.monthly(sub, "03-05", "04-05", "06-05")
    b.invoice(sub, "05-05", "06-05", paid=1000, failed_at=at("05-06"))
    db.session.flush()
    db.session.scalars(sa.select(Invoice).where(Invoice.failed_at.is_not(None),
                                                Invoice.status == "paid")).one() \
        .paid_at = at("05-08")
    # Hal: cancelled at the end of the period he paid for (15 May); £5 of his 15 April
    # payment refunded on 20 April.
    hal = b.user("hal")
    sub = b.subscription(hal, S.CANCELED, start="03-15", ended_at=at("05-15"),
                         canceled_at=at("05-02"))
    b.monthly(sub, "03-15")
    b.invoice(sub, "04-15", "05-15", paid=1000, amount_refunded=500,
              refunded_at=at("04-20"))
    # Ivy: cancelled her free trial on 12 April.
    ivy = b.user("ivy")
    sub = b.subscription(ivy, S.CANCELED, start="04-05", trial_start=at("04-05"),
                         trial_end=at("04-19"), ended_at=at("04-12"))
    b.invoice(sub, "04-05", "04-19", paid=0)
    # Jo: paid on 1 June, refunded in full and cancelled at once on 3 June.
    jo = b.user("jo")
    sub = b.subscription(jo, S.CANCELED, start="06-01", ended_at=at("06-03"))
    b.invoice(sub, "06-01", "07-01", paid=1000, amount_refunded=1000,
              refunded_at=at("06-03"))
    # Kim: $20 a month from 10 June, in dollars.
    kim = b.user("kim")
    b.monthly(b.subscription(kim, S.ACTIVE, start="06-10", amount=2000, currency="usd"),
              "06-10")
    # Lou: monthly from 1 May, switched to annual on 16 May (now £120 a year): one
    # subscriber, never two, while the monthly period and the annual one overlap.
    lou = b.user("lou")
    sub = b.subscription(lou, S.ACTIVE, start="05-01", interval="year", amount=12000)
    b.monthly(sub, "05-01")
    b.invoice(sub, "05-16", datetime(2026, 5, 16, 10, tzinfo=UTC), paid=11500)

    # Upgrades: Gold £25 paid 3 May; Platinum £50 paid 2 June and refunded 12 June;
    # one still pending; one paid before the window.
    def upgrade(kind, amount, status, **when):
        db.session.add(UserUpgrade(purchaser_id=ann.id, recipient_id=ann.id, type=kind,
                                   status=status, amount=amount, currency="gbp",
                                   level_before=Level.MEMBER, **when))
    upgrade(UpgradeType.GOLD, 2500, UpgradeStatus.COMPLETE, completed_at=at("05-03"))
    upgrade(UpgradeType.PLATINUM, 5000, UpgradeStatus.REFUNDED, completed_at=at("06-02"),
            amount_refunded=5000, refunded_at=at("06-12"))
    upgrade(UpgradeType.GOLD, 2500, UpgradeStatus.PENDING)
    upgrade(UpgradeType.GOLD, 2500, UpgradeStatus.COMPLETE, completed_at=at("03-01"))

    # Referrals: Ann referred Bob (converted 1 May, 30 days each side), and Cat (not
    # converted); an admin granted Eve 15 days on 10 June; Bob's side reversed 20 June.
    bob_referral = Referral(referrer_id=ann.id, referred_id=bob.id,
                            converted_at=at("05-01"), conversions=1)
    db.session.add_all([bob_referral, Referral(referrer_id=ann.id, referred_id=cat.id)])
    db.session.flush()
    for user, days, reason, when in [
            (ann, 30, CreditReason.REFERRAL_GIVEN, "05-01"),
            (bob, 30, CreditReason.REFERRAL_RECEIVED, "05-01"),
            (eve, 15, CreditReason.ADMIN_GRANT, "06-10"),
            (bob, -30, CreditReason.REVERSAL, "06-20")]:
        db.session.add(CreditEntry(
            user_id=user.id, days=days, reason=reason, created_at=at(when),
            referral_id=None if reason is CreditReason.ADMIN_GRANT else bob_referral.id,
            conversion=None if reason is CreditReason.ADMIN_GRANT else 1))
    db.session.commit()


def day(o: Overview, when: str) -> int:
    return o.days.index(date(2025, *(int(part) for part in when.split("-"))))


def changes(o: Overview, series: list[int]) -> dict[str, int]:
    """A stock series as the days it changed on ("first" for its first value)."""
    result = {"first": series[0]}
    for i in range(1, len(series)):
        if series[i] != series[i - 1]:
            result[o.days[i].strftime("%m-%d")] = series[i]
    return result


def nonzero(o: Overview, series: list[int]) -> dict[str, int]:
    return {o.days[i].strftime("%m-%d"): v for i, v in enumerate(series) if v}


def test_every_figure_of_the_hand_built_customers(app, customers):
    with app.app_context():
        o = overview(NOW)
    assert len(o.days) == WINDOW_DAYS and o.days[0] == date(2025, 4, 2)
    assert o.days[-1] == date(2025, 6, 30)
    # Ann, Fay, Gus and Hal from the start; Eve; Bob and Lou; Hal ends; Eve's credit
    # begins; Cat converts; Fay's renewal fails. Jo (refunded in full), Dan and Ivy
    # (trials) never count.
    assert changes(o, o.mrr["gbp"]) == {"first": 4000, "04-10": 5000, "05-01": 7000,
                                        "05-15": 6000, "06-10": 5000, "06-15": 6000,
                                        "06-25": 5000}
    assert changes(o, o.mrr["usd"]) == {"first": 0, "06-10": 2000}
    assert changes(o, o.subscribers["month"]) == {"first": 4, "04-10": 5, "05-15": 4,
                                                  "06-15": 5, "06-25": 4}
    assert o.subscribers["month"][day(o, "06-10")] == 4  # Eve out, Kim in
    assert changes(o, o.subscribers["year"]) == {"first": 0, "05-01": 2}
    assert o.subscribers_before == 4
    assert nonzero(o, o.trials_started) == {"04-05": 1, "06-01": 1, "06-20": 1}
    assert nonzero(o, o.trials_converted) == {"06-15": 1}
    assert nonzero(o, o.cancellations_paying) == {"05-15": 1, "06-03": 1}
    assert nonzero(o, o.cancellations_other) == {"04-12": 1}
    assert o.churn == 0.5
    assert changes(o, o.at_risk["gbp"]) == {"first": 0, "05-05": 1000, "05-08": 0,
                                            "06-25": 1000}
    assert nonzero(o, o.recovered["gbp"]) == {"05-08": 1000}
    assert "usd" not in o.at_risk and "usd" not in o.recovered
    assert nonzero(o, o.upgrade_revenue["gbp"]) == {"05-03": 2500, "06-02": 5000}
    assert nonzero(o, o.refunds["gbp"]) == {"04-20": 500, "06-03": 1000, "06-12": 5000}
    assert nonzero(o, o.referral_conversions) == {"05-01": 1}
    assert nonzero(o, o.credit_granted) == {"05-01": 60, "06-10": 15}
    assert nonzero(o, o.credit_reversed) == {"06-20": 30}


def test_an_empty_business_is_all_zeros(app):
    with app.app_context():
        o = overview(NOW)
    assert o.mrr == {} and o.at_risk == {} and o.churn is None
    assert o.subscribers == {"month": [0] * WINDOW_DAYS, "year": [0] * WINDOW_DAYS}
    assert sum(o.trials_started + o.cancellations_paying + o.credit_granted) == 0
