"""The invariants a simulation checks after each step, each comparing what the app holds or
says with what Stripe holds, or with itself. A check adds to `report.checked` and reports
each difference as a `Violation` naming the user and what differs."""

import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.auth.models import User
from app.billing.models import BillingInfo
from app.emails.send import message_id
from app.extensions import db
from app.money import format_money
from app.outbox.models import Job, JobStatus
from app.referrals.models import CreditEntry, CreditReason
from app.subscriptions.models import Subscription
from app.timeline import timeline_for
from app.webhooks.models import StripeEvent
from tests.simulation.report import Report, Violation

DAY = timedelta(days=1)
# The app's word for a subscription whose next payment it does not state as a date: an
# overdue one (it says the payment failed and until when Premium is kept) and one whose
# first payment is being confirmed. Stripe's own statuses for the same.
NO_DATE_STATES = {"past_due", "incomplete"}
NO_DATE_STATUSES = {"past_due", "unpaid", "incomplete"}
PLAN_WHEN = re.compile(r'<p class="plan-when">(.*?)</p>', re.S)
PROMISES = ("Renews on", "Next payment", "first payment")


def moment(timestamp: int | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp is not None else None


def day(value: datetime) -> str:
    return f"{value:%-d %B %Y}"


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


class Checker:
    def __init__(self, world, report: Report):
        self.world, self.report = world, report
        self.app, self.stripe = world.app, world.stripe
        self.step = 0
        self.reported: set[tuple[str, str]] = set()  # (invariant, key) said once
        self.mails_seen = 0
        self.received: dict[str, int] = {}  # Message-ID -> times received

    # --- bookkeeping ---------------------------------------------------------------

    def count(self, invariant: str) -> None:
        self.report.checked[invariant] += 1

    def violate(self, user: str, invariant: str, detail: str, key: str | None = None,
                user_id: int | None = None) -> None:
        """Report a difference (once per `key`, for one that persists across steps)."""
        if key is not None:
            if (invariant, key) in self.reported:
                return
            self.reported.add((invariant, key))
        if user_id is None and (found := re.search(r"\(id (\d+)\)", user)):
            user_id = int(found.group(1))
        today = datetime.fromtimestamp(self.world.now, UTC).date().isoformat()
        self.report.violate(Violation(self.step, today, user, invariant, detail, user_id))

    @staticmethod
    def who(user: User) -> str:
        return f"@{user.username} (id {user.id})"

    # --- each subscription row is Stripe's object ----------------------------------

    def user(self, user_id: int, page=None) -> None:
        """Rows, the next payment (and the settings page, given the person's `page`), the
        ledger: everything about one user."""
        with self.app.app_context():
            user = db.session.get(User, user_id)
            customer = db.session.scalar(sa.select(BillingInfo.stripe_customer_id)
                                         .where(BillingInfo.user_id == user_id))
            rows = {r.stripe_subscription_id: r for r in db.session.scalars(
                sa.select(Subscription).where(Subscription.user_id == user_id))}
            stripe_subs = self._stripe_subscriptions(customer) if customer else []
            self._rows(user, rows, stripe_subs)
            upcoming = self._next_charge(user, stripe_subs)
            self._ledger(user)
            who = self.who(user)
        if page is not None and upcoming is not False:
            self._settings_page(who, page, upcoming)

    def _stripe_subscriptions(self, customer: str) -> list[dict]:
        return self.stripe.get("subscriptions", [("customer", customer), ("status", "all"),
                                                 ("limit", 100)])["data"]

    def _rows(self, user: User, rows: dict[str, Subscription], stripe_subs: list[dict]) -> None:
        for sub in stripe_subs:
            self.count("row equals Stripe's subscription")
            row = rows.pop(sub["id"], None)
            if row is None:
                self.violate(self.who(user), "row equals Stripe's subscription",
                             f"Stripe's {sub['status']} subscription {sub['id']} has no row",
                             key=f"{sub['id']}:{sub['status']}")
                continue
            differs = [f"{name}: row {mine!r}, Stripe {theirs!r}"
                       for name, mine, theirs in _fields(row, sub) if mine != theirs]
            if differs:
                said = f"{sub['id']}: " + "; ".join(differs)
                self.violate(self.who(user), "row equals Stripe's subscription", said, key=said)
        for stripe_id in rows:
            self.violate(self.who(user), "row equals Stripe's subscription",
                         f"row {stripe_id} has no subscription at Stripe", key=stripe_id)

    # --- the next payment the app states is Stripe's upcoming invoice --------------

    def _next_charge(self, user: User, stripe_subs: list[dict]):
        """Compare; returns Stripe's upcoming invoice (None: none), or False when the app
        rightly states no date (an overdue or unconfirmed subscription). A difference is
        reported once for as long as it lasts unchanged."""
        t = timeline_for(user)
        live = [s for s in stripe_subs if s["status"] not in ("canceled", "incomplete_expired")]
        if len(live) > 1:
            self.violate(self.who(user), "one live subscription",
                         f"Stripe has {len(live)}: {[s['id'] for s in live]}",
                         key=",".join(s["id"] for s in live))
        if t.state in NO_DATE_STATES or any(s["status"] in NO_DATE_STATUSES for s in live):
            return False
        self.count("next payment equals Stripe's upcoming invoice")
        upcoming = None
        for sub in live:
            upcoming = upcoming or self._preview(sub)
        charge = t.next_charge
        if charge is None and upcoming is None:
            return None
        if charge is None:
            differs = "no payment stated"
            problem = (f"the app states no next payment ({t.state}); Stripe will charge "
                       f"{_money(upcoming)} on {_when(upcoming)}")
        elif upcoming is None:
            differs = "no upcoming invoice"
            problem = (f"the app states {format_money(charge.amount, charge.currency)} on "
                       f"{day(charge.at)} ({t.state}); Stripe has no upcoming invoice")
        elif (charge.amount, day(charge.at)) != (upcoming["amount_due"], _when(upcoming)):
            differs = "amount" if charge.amount != upcoming["amount_due"] else "date"
            problem = (f"the app states {format_money(charge.amount, charge.currency)} on "
                       f"{day(charge.at)} ({t.state}, due {charge.due.isoformat()}); "
                       f"Stripe's upcoming invoice: {_money(upcoming)} on {_when(upcoming)} "
                       f"(next_payment_attempt "
                       f"{moment(upcoming['next_payment_attempt']).isoformat()}, subscription "
                       f"{_subscription_of(upcoming)})")
        else:
            return upcoming
        # Said once per subscription and kind of difference: it comes back every month.
        sub_id = t.subscription.stripe_subscription_id if t.subscription else None
        self.violate(self.who(user), "next payment equals Stripe's upcoming invoice", problem,
                     key=f"{user.id}:{sub_id}:{differs}")
        return upcoming

    def _preview(self, sub: dict) -> dict | None:
        response = self.stripe.http.post(f"{self.stripe.url}/v1/invoices/create_preview",
                                         data={"customer": sub["customer"],
                                               "subscription": sub["id"]}, timeout=60)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def _settings_page(self, who: str, page, upcoming: dict | None) -> None:
        """The settings page states the same next payment (or none)."""
        self.count("settings page states Stripe's next payment")
        found = PLAN_WHEN.search(page("/settings"))
        said = plain(found.group(1)) if found else ""
        if upcoming is None:
            if any(p in said for p in PROMISES):
                self.violate(who, "settings page states Stripe's next payment",
                             f"the page says {said!r}; Stripe has no upcoming invoice",
                             key=f"{who}:none")
        else:
            for kind, expected in (("date", _when(upcoming)), ("amount", _money(upcoming))):
                if expected not in said:
                    self.violate(who, "settings page states Stripe's next payment",
                                 f"the page says {said!r}; Stripe's upcoming invoice: "
                                 f"{_money(upcoming)} on {_when(upcoming)}",
                                 key=f"{who}:{_subscription_of(upcoming)}:{kind}")
                    break

    # --- the ledger adds up ----------------------------------------------------------

    def _ledger(self, user: User) -> None:
        self.count("ledger adds up to the credit")
        after = None
        for entry in db.session.scalars(sa.select(CreditEntry).where(
                CreditEntry.user_id == user.id).order_by(CreditEntry.id)):
            if entry.before != after:
                self.violate(self.who(user), "ledger adds up to the credit",
                             f"entry {entry.id} starts from {entry.before}, the entry before "
                             f"ended at {after}", key=f"chain:{entry.id}")
            start = max(entry.created_at, entry.before or entry.created_at)
            floor = None
            if entry.reason is not CreditReason.REVERSAL:  # a grant stacks from now at least
                expected, slack = start + entry.days * DAY, timedelta(seconds=1)
            else:  # takes whole days off (rounded), never below now unless already below
                before = entry.before or entry.created_at
                expected, slack = before + entry.days * DAY, DAY / 2
                floor = min(before, entry.created_at)
            if entry.reason is CreditReason.REVERSAL and entry.days > 0:
                self.violate(self.who(user), "ledger adds up to the credit",
                             f"entry {entry.id} reverses a grant by adding {entry.days} days "
                             f"(before {entry.before}, made {entry.created_at}, after "
                             f"{entry.after}; moved the charge to {entry.charge_moved_to})",
                             key=f"sign:{entry.id}")
            elif entry.after is None or abs(entry.after - expected) > slack or \
                    (floor is not None and entry.after < floor):
                self.violate(self.who(user), "ledger adds up to the credit",
                             f"entry {entry.id} ({entry.reason.value}, {entry.days:+d} days; "
                             f"before {entry.before}, made {entry.created_at}) ends at "
                             f"{entry.after}, not {expected}", key=f"sum:{entry.id}")
            after = entry.after
        if user.credit_until != after:
            self.violate(self.who(user), "ledger adds up to the credit",
                         f"credit_until is {user.credit_until}, the ledger says {after}",
                         key=f"until:{user.id}:{user.credit_until}")

    # --- no charge for a day held as credit ------------------------------------------

    def charges(self, events: list[dict]) -> None:
        """Each invoice paid (above zero) in these events bought days the user did not
        hold as credit when it was charged."""
        paid = [e["data"]["object"] for e in events
                if e["type"] == "invoice.paid" and e["data"]["object"]["amount_paid"] > 0]
        if not paid:
            return
        with self.app.app_context():
            for invoice in paid:
                self._charge(invoice)

    def _charge(self, invoice: dict) -> None:
        user = db.session.scalar(sa.select(User).join(BillingInfo).where(
            BillingInfo.stripe_customer_id == invoice["customer"]))
        if user is None:
            return
        self.count("no charge for a day held as credit")
        charged_at = moment(invoice["status_transitions"]["paid_at"] or invoice["created"])
        held = db.session.scalar(sa.select(CreditEntry).where(
            CreditEntry.user_id == user.id, CreditEntry.created_at <= charged_at)
            .order_by(CreditEntry.created_at.desc(), CreditEntry.id.desc()).limit(1))
        if held is None:
            return
        moved = held.charge_moved_to is not None and \
            held.stripe_subscription_id == _subscription_of(invoice)
        credit_end = held.charge_moved_to if moved else held.after
        lines = [line for line in invoice["lines"]["data"] if line["amount"] > 0]
        if credit_end is None or not lines:
            return
        begins = moment(min(line["period"]["start"] for line in lines))
        ends = moment(max(line["period"]["end"] for line in lines))
        overlap = min(ends, credit_end) - max(begins, charged_at)
        if overlap >= DAY:
            self.violate(self.who(user), "no charge for a day held as credit",
                         f"invoice {invoice['id']} ({_money(invoice, 'amount_paid')}, "
                         f"{invoice['billing_reason']}) charged at {charged_at.isoformat()} for "
                         f"{begins.date()}–{ends.date()}; ledger entry {held.id} "
                         f"({held.days:+d} days, {held.reason.value}) holds credit to "
                         f"{credit_end.isoformat()}" + (" (the charge moved there)" if moved
                                                        else ""))

    # --- the world: e-mails, events, jobs --------------------------------------------

    def world_state(self, everything: bool = False) -> None:
        """After each step: events the courier could not deliver, failed jobs, e-mails
        received twice. With `everything` (now and then, and at the end) also the stored
        events, each e-mail against its job, and the messages each kind calls for."""
        with self.app.app_context():
            self._events(everything)
            self._jobs()
            self._emails(everything)
            if everything:
                self._intended()

    def _events(self, stored: bool) -> None:
        self.count("no event left failed")
        for event, why in self.world.courier.failed_for_good():
            self.violate("-", "no event left failed", f"{event['id']} ({event['type']}): "
                         f"{why}", key=event["id"])
        if not stored:
            return
        waiting = {d.event["id"] for d in self.world.courier.retrying}
        for row in db.session.scalars(sa.select(StripeEvent).where(
                StripeEvent.processed_at.is_(None))):
            if row.stripe_id not in waiting:
                self.violate("-", "no event left failed",
                             f"{row.stripe_id} ({row.type}) stored as failed after "
                             f"{row.attempts} attempt(s): {row.last_error}",
                             key=row.stripe_id)

    def _jobs(self) -> None:
        self.count("no job failed")
        for job in db.session.scalars(sa.select(Job).where(Job.status == JobStatus.FAILED)):
            self.violate("-", "no job failed", f"{job.key}: {job.last_error}", key=job.key)

    def _emails(self, everything: bool) -> None:
        """Each message sent once: no Message-ID arrives twice; and (with `everything`)
        every e-mail job done is one message in the mailbox, which holds nothing else."""
        self.count("one e-mail per intended message")
        mailbox = self.world.mailbox.messages
        for message in mailbox[self.mails_seen:]:
            ident = str(message["Message-ID"])
            self.received[ident] = self.received.get(ident, 0) + 1
            if self.received[ident] > 1:
                self.violate("-", "one e-mail per intended message",
                             f"message {ident} ({message['Subject']}, to {message['To']}) "
                             f"received {self.received[ident]} times", key=ident)
        self.mails_seen = len(mailbox)
        self.report.emails = len(mailbox)
        if not everything:
            return
        done = {message_id(key): key for key in db.session.scalars(sa.select(Job.key).where(
            Job.kind == "email", Job.status == JobStatus.DONE))}
        for ident in self.received:
            if ident not in done:
                self.violate("-", "one e-mail per intended message",
                             f"message {ident} matches no e-mail job", key=ident)
        for ident, key in done.items():
            if ident not in self.received:
                self.violate("-", "one e-mail per intended message",
                             f"{key} is done but never arrived", key=key)

    def _intended(self) -> None:
        """Per message kind: one referral-credit message per grant on the ledger; one
        "started" per subscription that started (any but incomplete ones), one "access
        ended" per one that ended."""
        keys = set(db.session.scalars(sa.select(Job.key).where(Job.kind == "email")))
        for entry_id, user_id in db.session.execute(sa.select(
                CreditEntry.id, CreditEntry.user_id).where(
                CreditEntry.days > 0, CreditEntry.reason != CreditReason.REVERSAL)):
            if f"email:referral_credit:credit-{entry_id}:{user_id}" not in keys:
                self.violate(f"(id {user_id})", "one e-mail per intended message",
                             f"no referral_credit message for ledger entry {entry_id}",
                             key=f"credit-{entry_id}")
        for sub_id, user_id, status in db.session.execute(sa.select(
                Subscription.stripe_subscription_id, Subscription.user_id,
                Subscription.status)):
            expected = [] if status.value in ("incomplete", "incomplete_expired") \
                else ["subscription_started"]
            if status.value == "canceled":
                expected.append("access_ended")
            for template in expected:
                if f"email:{template}:{sub_id}:{user_id}" not in keys:
                    self.violate(f"(id {user_id})", "one e-mail per intended message",
                                 f"no {template} message for {status.value} subscription "
                                 f"{sub_id}", key=f"{template}:{sub_id}")


def _fields(row: Subscription, sub: dict) -> list[tuple[str, object, object]]:
    item = sub["items"]["data"][0]
    return [
        ("status", row.status.value, sub["status"]),
        ("price", row.stripe_price_id, item["price"]["id"]),
        ("interval", row.interval, item["price"]["recurring"]["interval"]),
        ("amount", row.amount, item["price"]["unit_amount"]),
        ("current_period_end", int(row.current_period_end.timestamp()),
         item["current_period_end"]),
        ("trial_end", int(row.trial_end.timestamp()) if row.trial_end else None,
         sub["trial_end"]),
        ("cancel_at_period_end", row.cancel_at_period_end, sub["cancel_at_period_end"]),
    ]


def _subscription_of(invoice: dict) -> str | None:
    return ((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription")


def _when(invoice: dict) -> str:
    return day(moment(invoice["next_payment_attempt"]))


def _money(invoice: dict, field: str = "amount_due") -> str:
    return format_money(invoice[field], invoice["currency"])
