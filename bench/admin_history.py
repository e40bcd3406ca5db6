"""A believable 90 days for the console's overview, for `make screenshots`.

`history(customers, now, first_id)` writes a few hundred customers (bench/admin_rows.py) as
the app's webhooks would have left them: a base that joined before the window and newcomers
at a growing pace, fewer at weekends; monthly Premium paid at once, annual after its 14-day
free trial (some trials lapse); renewals that fail, most won back within a week, the rest
cancelled when the retries run out; people who cancel at the end of a period; a few refunds;
one-time upgrades (some refunded); referrals that convert on the first payment, with credit
both sides (taken back when that payment is refunded); and an operator's credit now and then.

The overview counts whatever is in the tables, so these customers carry Stripe ids that
Stripe has never heard of: put them in after the pages that ask Stripe (the drift report).
The randomness is seeded: the same day gives the same pictures.
"""

import random
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from bench.admin_rows import Batch

MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
WINDOW = 90  # days, as app/admin/metrics.py draws them
TRIAL_DAYS = 14
RETRY_DAYS = 14  # Stripe's retries of a failed renewal, then the subscription is cancelled
REFERRAL_DAYS = 45  # each side, as app/referrals/service.py grants

FIRST = ("olivia", "noah", "amelia", "leo", "isla", "oscar", "ava", "arthur", "mia", "theo",
         "ivy", "finn", "freya", "jack", "rosa", "hugo", "elena", "omar", "priya", "kai",
         "nadia", "luca", "zara", "felix", "maeve", "tomas", "ines", "ravi", "sofia", "ezra")
LAST = ("okafor", "lindqvist", "moreau", "tanaka", "novak", "byrne", "costa", "haddad",
        "kowalski", "nguyen", "fischer", "mensah", "ortega", "patel", "quinn", "rossi",
        "sato", "varga", "walsh", "young", "ahmed", "bianchi", "dubois", "evans")


@dataclass(frozen=True)
class Prices:
    """What the catalog charges, in minor units of `currency`."""

    monthly: int
    annual: int
    gold: int
    platinum: int
    currency: str


def history(customers: int, now: datetime, first_id: int, seed: int = 22) -> None:
    """Write `customers` customers whose lives shape the 90 days ending `now` (in an app
    context; committed). Their user ids start at `first_id`."""
    from flask import current_app

    amounts = current_app.config["CATALOG_AMOUNTS"]
    prices = Prices(amounts["premium_monthly"], amounts["premium_annual"], amounts["gold"],
                    amounts["platinum"], current_app.config["BILLING_CURRENCY"])
    rng = random.Random(seed)
    batch = Batch()
    earlier: list[int] = []
    for n, joined in enumerate(sorted(_joining(rng, customers, now))):
        life = _Life(batch, rng, first_id + n, joined, now, prices)
        life.sign_up()
        if rng.random() < 0.88:
            life.subscribe("year" if rng.random() < 0.3 else "month")
        if rng.random() < 0.14:
            life.upgrade()
        if earlier and rng.random() < 0.2:
            life.referred_by(rng.choice(earlier[-150:]))
        if rng.random() < 0.03:
            life.granted_credit()
        earlier.append(life.uid)
    batch.commit()


def _joining(rng: random.Random, customers: int, now: datetime) -> list[datetime]:
    """When each customer signs up: half in the 300 days before the window, the rest in it,
    half as many again a day at its end as at its start, two thirds as many at weekends."""
    start = now - (WINDOW - 1) * DAY
    days = [start + d * DAY for d in range(WINDOW)]  # today last
    weights = [(1 + 0.5 * d / WINDOW) * (0.65 if day.weekday() >= 5 else 1.0)
               for d, day in enumerate(days)]
    before = customers // 2
    times = [start - rng.uniform(0, 300) * DAY for _ in range(before)]
    for day in rng.choices(days, weights, k=customers - before):
        times.append(day.replace(hour=rng.choice((8, 9, 11, 12, 13, 14, 17, 19, 20, 21)),
                                 minute=rng.randrange(60)))
    return [t for t in times if t <= now]


def _id(rng: random.Random, prefix: str) -> str:
    """An id shaped like Stripe's (never one Stripe knows)."""
    return prefix + "_" + "".join(rng.choices(string.ascii_letters + string.digits, k=24))


class _Life:
    """One customer's rows, written as their story goes."""

    def __init__(self, batch: Batch, rng: random.Random, uid: int, joined: datetime,
                 now: datetime, prices: Prices):
        self.batch, self.rng, self.uid, self.joined, self.now = batch, rng, uid, joined, now
        self.prices = prices
        self.first_paid: datetime | None = None  # the first payment with money taken
        self.first_refunded: datetime | None = None  # that payment refunded in full
        self.refunded: datetime | None = None  # the latest payment refunded in full

    def sign_up(self) -> None:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        self.batch.add("users", id=self.uid, email=f"{first}.{last}.{self.uid}@example.com",
                       username=f"{first}_{last}_{self.uid}", created_at=self.joined,
                       referral_code=f"h{self.uid}")

    def subscribe(self, interval: str) -> None:
        """Premium from the day they join: annual after a free trial, monthly paid at once;
        renewed every period until they cancel, a renewal fails for good or is refunded."""
        rng, now = self.rng, self.now
        sid, amount = _id(rng, "sub"), (self.prices.annual if interval == "year"
                                        else self.prices.monthly)
        sub = {"status": "active", "ended_at": None, "canceled_at": None,
               "cancel_at_period_end": False, "payment_failed_at": None}
        start = self.joined
        if interval == "year":
            trial_end = start + TRIAL_DAYS * DAY
            sub.update(trial_start=start, trial_end=trial_end)
            self._invoice(sid, 0, start, trial_end, "subscription_create")
            if trial_end > now:
                return self._subscription(sid, interval, amount, start, trial_end,
                                          {**sub, "status": "trialing"})
            if rng.random() < 0.35:  # the trial lapses: never a payment
                return self._subscription(sid, interval, amount, start, trial_end, {
                    **sub, "status": "canceled", "ended_at": trial_end,
                    "canceled_at": trial_end - rng.uniform(1, 10) * DAY})
            start = trial_end
        length = (365 if interval == "year" else 30) * DAY
        while True:
            end = start + length
            outcome = self._charge(sid, amount, start, end, renewal=start > self.joined)
            if outcome == "refunded":  # and cancelled there and then
                return self._subscription(sid, interval, amount, start, end, {
                    **sub, "status": "canceled", "ended_at": self.refunded,
                    "canceled_at": self.refunded})
            if outcome == "retrying":
                return self._subscription(sid, interval, amount, start, end, {
                    **sub, "status": "past_due", "payment_failed_at": start})
            if outcome == "lost":
                return self._subscription(sid, interval, amount, start, end, {
                    **sub, "status": "canceled", "ended_at": start + RETRY_DAYS * DAY,
                    "canceled_at": start + RETRY_DAYS * DAY, "payment_failed_at": start})
            if end > now:
                if interval == "month" and rng.random() < 0.04:  # asked to stop at the end
                    sub.update(cancel_at_period_end=True, canceled_at=now - rng.uniform(0, 5) * DAY)
                return self._subscription(sid, interval, amount, start, end, sub)
            if interval == "month" and rng.random() < 0.03:  # cancelled at the period's end
                return self._subscription(sid, interval, amount, start, end, {
                    **sub, "status": "canceled", "ended_at": end, "cancel_at_period_end": True,
                    "canceled_at": end - rng.uniform(1, 20) * DAY})
            start = end

    def _charge(self, sid: str, amount: int, start: datetime, end: datetime, *,
                renewal: bool) -> str:
        """One period's invoice: "paid" (at once, or won back by a retry or a new card),
        "retrying" (failed, Stripe still trying), "lost" (the retries ran out: written off)
        or "refunded" (paid, then refunded in full)."""
        rng, now = self.rng, self.now
        reason = "subscription_cycle" if renewal else "subscription_create"
        if renewal and rng.random() < 0.08:
            back = start + rng.choice((1, 2, 3, 3, 5, 6)) * DAY + rng.uniform(0, 10) * HOUR
            if rng.random() < 0.75 and back <= now:
                self._invoice(sid, amount, start, end, reason, paid_at=back, failed_at=start)
                return "paid"
            if start + RETRY_DAYS * DAY > now:
                self._invoice(sid, amount, start, end, reason, status="open", failed_at=start)
                return "retrying"
            self._invoice(sid, amount, start, end, reason, status="uncollectible",
                          failed_at=start)
            return "lost"
        paid = start + rng.randrange(1, 30) * MINUTE
        refunded = paid + rng.uniform(0.5, 4) * DAY if rng.random() < 0.015 else None
        self.refunded = refunded if refunded is not None and refunded <= now else None
        self._invoice(sid, amount, start, end, reason, paid_at=paid, refunded_at=self.refunded)
        if self.first_paid is None:
            self.first_paid, self.first_refunded = paid, self.refunded
        return "refunded" if self.refunded else "paid"

    def _invoice(self, sid: str, amount: int, start: datetime, end: datetime, reason: str, *,
                 status: str = "paid", paid_at: datetime | None = None,
                 failed_at: datetime | None = None,
                 refunded_at: datetime | None = None) -> None:
        paid = amount if status == "paid" else 0
        self.batch.add("invoices", user_id=self.uid, stripe_invoice_id=_id(self.rng, "in"),
                       stripe_subscription_id=sid, status=status, currency=self.prices.currency,
                       billing_reason=reason, period_start=start, period_end=end,
                       created_at=start, amount_due=amount, amount_paid=paid,
                       amount_refunded=paid if refunded_at else 0, refunded_at=refunded_at,
                       paid_at=paid_at or (start if status == "paid" else None),
                       failed_at=failed_at)

    def _subscription(self, sid: str, interval: str, amount: int, start: datetime,
                      end: datetime, state: dict[str, object]) -> None:
        self.batch.add("subscriptions", user_id=self.uid, stripe_subscription_id=sid,
                       stripe_customer_id=_id(self.rng, "cus"),
                       stripe_item_id=_id(self.rng, "si"), interval=interval, amount=amount,
                       currency=self.prices.currency, current_period_start=start,
                       current_period_end=end, snapshot_at=self.now, created_at=self.joined,
                       **state)

    def upgrade(self) -> None:
        """A one-time upgrade in their first two months; one in ten refunded days later."""
        rng = self.rng
        paid = self.joined + rng.uniform(0, 60) * DAY
        if paid > self.now:
            return
        kind, amount = ("platinum", self.prices.platinum) if rng.random() < 0.3 else \
            ("gold", self.prices.gold)
        refunded = paid + rng.uniform(0.2, 3) * DAY if rng.random() < 0.1 else None
        if refunded is not None and refunded > self.now:
            refunded = None
        self.batch.add("user_upgrades", purchaser_id=self.uid, recipient_id=self.uid, type=kind,
                       status="refunded" if refunded else "complete", amount=amount,
                       currency=self.prices.currency, completed_at=paid, created_at=paid,
                       updated_at=refunded or paid, amount_refunded=amount if refunded else 0,
                       refunded_at=refunded)

    def referred_by(self, referrer: int) -> None:
        """Came through `referrer`'s link; converted by their first payment, which gives
        both credit (taken back if that payment is refunded in full)."""
        converted = self.first_paid
        self.batch.add("referrals", id=self.uid, referrer_id=referrer, referred_id=self.uid,
                       created_at=self.joined, converted_at=converted, credited_at=converted,
                       conversions=1 if converted else 0)
        if converted is None:
            return
        for who, reason in ((referrer, "referral_given"), (self.uid, "referral_received")):
            self._credit(who, REFERRAL_DAYS, reason, converted, referral_id=self.uid)
            if self.first_refunded is not None:
                self._credit(who, -REFERRAL_DAYS, "reversal", self.first_refunded,
                             referral_id=self.uid)

    def granted_credit(self) -> None:
        """An operator's apology: a week or two of credit."""
        when = self.joined + self.rng.uniform(1, 80) * DAY
        if when <= self.now:
            self._credit(self.uid, self.rng.choice((7, 7, 14)), "admin_grant", when,
                         note="Sorry for the outage")

    def _credit(self, who: int, days: int, reason: str, when: datetime, *,
                referral_id: int | None = None, note: str | None = None) -> None:
        self.batch.add("credit_entries", user_id=who, days=days, reason=reason,
                       referral_id=referral_id, conversion=1 if referral_id else None,
                       note=note, created_at=when)
