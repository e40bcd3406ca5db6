"""The simulation: people sign up (some through a friend's link) and live their months,
each step choosing by a seeded RNG what they do; Stripe's calendar runs between steps;
operators grant credit and refund upgrades; after each step the invariants are checked.

A step is about a day (18 to 30 hours, so that charges fall at every hour of the day,
the last hour before midnight included). In a step: the clock moves (Stripe renews, charges,
retries and reminds as it falls due), then people act (before the app has heard of the
step's renewals: events in flight), then the courier delivers every new event and the
worker runs until nothing new happens, then the invariants are checked for every user the
step touched, for anyone not checked for a month, and for everyone at the end.
"""

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import sqlalchemy as sa

import app.auth.models as auth_models
from app.auth.models import Level, User
from app.billing.models import BillingInfo
from app.catalog.sync import sync_catalog
from app.extensions import db
from app.referrals.models import CreditEntry
from app.timeline import timeline_for
from app.upgrades.models import UpgradeStatus, UserUpgrade
from app.webhooks.registry import handled_types
from tests.simulation.invariants import Checker
from tests.simulation.people import (
    DECLINED,
    FAILS_LATER,
    MASTERCARD,
    VISA,
    ActionFailed,
    Person,
    sign_up,
)
from tests.simulation.report import Report, Violation
from tests.simulation.world import Stripe, World

HOUR = 3600


@dataclass(frozen=True)
class Settings:
    users: int = 40
    months: int = 12
    seed: int = 1
    duplicate: float = 0.5  # the share of events delivered twice
    act: float = 0.025  # the chance a person does something on a given day
    sweep_days: int = 30  # every user is checked at least this often (in steps)
    page_share: float = 0.3  # the share of user checks that also read /settings
    # A fixed start, so that a seed replays the same life (whatever today's date).
    start: datetime = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)

    @property
    def steps(self) -> int:
        return round(self.months * 30.44)


def simulate(app, stripe_url: str, mailbox, settings: Settings, database: str = "") -> Report:
    """Run a life on `app` against a freshly reset emulator; the report says what held."""
    began = time.monotonic()
    report = Report(settings.seed, settings.users, settings.months, database)
    rng = random.Random(settings.seed)
    stripe = Stripe(stripe_url)
    with app.app_context():
        sync_catalog()
        db.session.commit()
    world = World(app, stripe, mailbox, random.Random(settings.seed + 1), handled_types(),
                  settings.duplicate)
    world.start_at(settings.start)
    hashing = auth_models.generate_password_hash
    # Sign-up hashes the password with scrypt (half a second here, by design); the
    # simulation is about money, so its people's passwords get a cheap hash.
    auth_models.generate_password_hash = partial(hashing, method="pbkdf2:sha256:1")
    try:
        Life(world, rng, settings, report).run()
    finally:
        auth_models.CLOCK_OFFSET = timedelta(0)
        auth_models.generate_password_hash = hashing
    report.events = world.courier.events
    report.deliveries = world.courier.posts
    report.failed_deliveries = world.courier.failures
    report.jobs = world.jobs
    report.seconds = time.monotonic() - began
    return report


class Life:
    def __init__(self, world: World, rng: random.Random, settings: Settings, report: Report):
        self.world, self.rng, self.settings, self.report = world, rng, settings, report
        self.app = world.app
        self.checker = Checker(world, report)
        self.sample = random.Random(settings.seed + 2)  # which checks read the page
        self.people: dict[int, Person] = {}
        self.checked: dict[int, int] = {}  # user id -> the step of their last check
        self.overdue: set[int] = set()  # users told a renewal failed, not paid since
        self.ledger_seen = 0  # the last credit entry told
        steps = settings.steps
        founders = max(1, settings.users // 4)
        self.signups = sorted([0] * founders + [rng.randrange(int(steps * 0.6))
                                                for _ in range(settings.users - founders)])

    def run(self) -> None:
        steps = self.settings.steps
        for step in range(steps):
            self.checker.step = step
            if step:
                self.world.advance(self.rng.randint(18 * HOUR, 30 * HOUR))
            touched: set[int] = set()
            while self.signups and self.signups[0] == step:
                self.signups.pop(0)
                touched.add(self._sign_up(step))
            for person in list(self.people.values()):
                # "Your payment failed" makes people come back sooner.
                chance = 0.25 if person.user_id in self.overdue else self.settings.act
                if self.rng.random() < chance:
                    touched |= self._act(person)
            touched |= self._operators()
            events = self.world.settle()
            touched |= self._owners(events)
            self._follow_dunning(events)
            self._tell_deliveries()
            self._tell_ledger()
            self.checker.charges(events)
            # Stripe's state and ours change only with events and actions, which touch
            # their users; time alone may still move what a page says: whoever was not
            # looked at for a while is looked at now (everyone on the last day).
            stale = {u for u in self.people if u not in touched and
                     step - self.checked.get(u, -1) >= self.settings.sweep_days}
            self._check(set(self.people) if step == steps - 1 else touched | stale,
                        everything=step % self.settings.sweep_days == 0)
        for _ in range(4):  # Stripe's last retries
            self.world.advance(HOUR)
            events = self.world.settle()
            self._tell_deliveries()
            self.checker.charges(events)
            self._check(self._owners(events))
        self.checker.world_state(everything=True)
        self.report.days = steps

    def _check(self, user_ids, everything: bool = False) -> None:
        for user_id in sorted(user_ids):
            self.checked[user_id] = self.checker.step
            person = self.people.get(user_id)
            page = person.page if person and self.sample.random() < self.settings.page_share \
                else None
            self.checker.user(user_id, page)
        self.checker.world_state(everything)

    # --- people ------------------------------------------------------------------------

    def _sign_up(self, step: int) -> int:
        n = len(self.people) + 1
        code = None
        if self.people and step and self.rng.random() < 0.4:
            referrer = self.rng.choice(sorted(self.people))
            with self.app.app_context():
                code = db.session.get(User, referrer).referral_code
        person = sign_up(self.world, f"p{n:04d}", code)
        self.people[person.user_id] = person
        self.report.actions["sign up" + (" (referred)" if code else "")] += 1
        self.tell(person.user_id, f"signed up as @{person.username}" +
                  (f", referred by user {referrer}" if code else ""))
        if self.rng.random() < 0.5:  # straight on to the pricing page
            self._do(person, "subscribe", self._subscribe, person)
        return person.user_id

    def _act(self, person: Person) -> set[int]:
        """One thing the person does today, by their state; the users it touched."""
        with self.app.app_context():
            user = db.session.get(User, person.user_id)
            t = timeline_for(user)
            level = user.level
        cards = person.cards(self.app)
        live = t.state not in ("none", "ended")
        choices: list[tuple[float, str]] = []
        if not live:
            choices += [(6.0, "subscribe"), (0.4, "gift")]
            if level is Level.MEMBER:
                choices.append((0.4, "buy gold"))
        elif t.state == "past_due":
            choices += [(6.0, "fix card")]
        elif t.state == "cancelling":
            choices += [(4.0, "resume")]
        elif t.state == "incomplete":
            choices += [(1.0, "nothing")]  # waiting for the first payment to be confirmed
        else:
            choices += [(1.0, "cancel"), (1.0, "switch"), (1.0, "add card"), (0.3, "gift")]
            if len(cards) > 1:
                choices.append((0.8, "make default"))
        action = self._pick(choices)
        touched = {person.user_id}
        if action == "subscribe":
            self._do(person, "subscribe", self._subscribe, person)
        elif action == "fix card":
            self._do(person, "fix card", self._fix_card, person)
        elif action == "resume":
            self._do(person, "resume", person.resume)
        elif action == "cancel":
            self._do(person, "cancel", person.cancel)
        elif action == "switch":
            self._do(person, f"switch from {t.subscription.interval}ly", person.switch)
        elif action == "add card":
            card = FAILS_LATER if self.rng.random() < 0.3 else MASTERCARD
            self._do(person, "add card" + (" (fails later)" if card == FAILS_LATER else ""),
                     person.add_card, self.world, card)
        elif action == "make default":
            card_id = self.rng.choice([c for c, default in cards if not default])
            self._do(person, "make card default", person.make_default, card_id)
        elif action == "buy gold":
            self._do(person, "buy gold", person.buy_gold, self.world)
        elif action == "gift":
            recipient = self._gift_recipient(person)
            if recipient is not None:
                self._do(person, "gift gold", person.buy_gold, self.world, recipient.username)
                self.tell(recipient.user_id, f"receives Gold from user {person.user_id}")
                touched.add(recipient.user_id)
        return touched

    def _subscribe(self, person: Person) -> str:
        interval = "annual" if self.rng.random() < 0.4 else "monthly"
        roll = self.rng.random()
        card = FAILS_LATER if roll < 0.08 else DECLINED if roll < 0.11 else VISA
        outcome = person.subscribe(self.world, interval, card)
        if outcome == "declined":  # the person tries another card at once
            outcome = "declined, then " + person.subscribe(self.world, interval, VISA)
        return f"{interval}: {outcome}" + (" (card fails later)" if card == FAILS_LATER
                                            and outcome == "ok" else "")

    def _fix_card(self, person: Person) -> str:
        """An overdue subscriber saves a good card and makes it the default (Stripe's next
        retry charges it)."""
        outcome = person.add_card(self.world, VISA)
        if outcome != "ok":
            return outcome
        newest = max(card for card, _ in person.cards(self.app))
        return person.make_default(newest)

    def _gift_recipient(self, buyer: Person) -> Person | None:
        with self.app.app_context():
            members = list(db.session.scalars(sa.select(User.id).where(
                User.level == Level.MEMBER, User.id != buyer.user_id).order_by(User.id)))
        members = [m for m in members if m in self.people]
        return self.people[self.rng.choice(members)] if members else None

    def _do(self, person: Person, name: str, action, *args) -> None:
        try:
            outcome = action(*args)
        except ActionFailed as exc:
            outcome = "failed"
            self.checker.violate(f"@{person.username} (id {person.user_id})",
                                 "pages answer without error", f"{name}: {exc}")
        said = f"{name}: {outcome}" if ":" not in str(outcome) else f"{name} {outcome}"
        self.report.actions[said] += 1
        self.tell(person.user_id, said)

    def tell(self, user_id: int, line: str) -> None:
        """Add to the user's story, dated by the simulated time."""
        when = datetime.fromtimestamp(self.world.now, UTC)
        self.report.stories.setdefault(user_id, []).append(
            f"day {self.checker.step} {when:%Y-%m-%d %H:%M}: {line}")

    def _tell_deliveries(self) -> None:
        """Each user's story gets the events about them, in the order they were posted."""
        posted = self.world.courier.drain()
        owners = self._customers({c for e, _ in posted
                                  if isinstance(c := e["data"]["object"].get("customer"), str)})
        for event, status in posted:
            user_id = owners.get(event["data"]["object"].get("customer"))
            if user_id is not None:
                created = datetime.fromtimestamp(event["created"], UTC)
                self.tell(user_id, f"posted {event['type']} {event['data']['object']['id']} "
                          f"({event['id']}, created {created:%Y-%m-%d %H:%M:%S}): {status}")

    def _tell_ledger(self) -> None:
        """Each user's story gets their new credit entries (a referral's are made by the
        friend's payment, which is in the friend's story)."""
        with self.app.app_context():
            for entry in db.session.scalars(sa.select(CreditEntry).where(
                    CreditEntry.id > self.ledger_seen).order_by(CreditEntry.id)):
                self.ledger_seen = entry.id
                moved = f"; the charge moved to {entry.charge_moved_to:%Y-%m-%d %H:%M}" \
                    if entry.charge_moved_to else ""
                self.tell(entry.user_id, f"ledger entry {entry.id}: {entry.days:+d} days "
                          f"({entry.reason.value}), credit to {entry.after:%Y-%m-%d %H:%M}"
                          f"{moved}")

    def _pick(self, choices: list[tuple[float, str]]) -> str:
        roll = self.rng.random() * sum(w for w, _ in choices)
        for weight, name in choices:
            roll -= weight
            if roll < 0:
                return name
        return choices[-1][1]

    # --- operators ---------------------------------------------------------------------

    def _operators(self) -> set[int]:
        """Support grants credit now and then, and refunds an upgrade (the CLI verbs)."""
        touched: set[int] = set()
        runner = self.world.runner
        if self.people and self.rng.random() < 0.05:
            person = self.people[self.rng.choice(sorted(self.people))]
            days = self.rng.choice((7, 14, 30))
            result = runner.invoke(args=["billing", "grant-credit", person.email, "--days",
                                         str(days), "--reason", "Simulated goodwill"])
            self._operator_outcome("grant credit", result)
            self.tell(person.user_id, f"support grants {days} days of credit: "
                      f"{result.output.strip()}")
            touched.add(person.user_id)
        if self.rng.random() < 0.04:
            with self.app.app_context():
                upgrades = list(db.session.execute(sa.select(
                    UserUpgrade.id, UserUpgrade.recipient_id, UserUpgrade.purchaser_id).where(
                    UserUpgrade.status == UpgradeStatus.COMPLETE).order_by(UserUpgrade.id)))
            if upgrades:
                upgrade_id, recipient, purchaser = self.rng.choice(upgrades)
                result = runner.invoke(args=["billing", "refund-upgrade", str(upgrade_id)])
                self._operator_outcome("refund upgrade", result)
                for user_id in {recipient, purchaser}:
                    self.tell(user_id, f"support refunds upgrade {upgrade_id}: "
                              f"{result.output.strip()}")
                touched |= {recipient, purchaser}
        return touched

    def _operator_outcome(self, name: str, result) -> None:
        if result.exit_code == 0:
            self.report.actions[f"{name}: ok"] += 1
            return
        self.report.actions[f"{name}: refused"] += 1
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            self.report.violate(Violation(self.checker.step, "", "-", "commands answer",
                                          f"{name}: {result.exception!r}"))

    # --- whom events concern -------------------------------------------------------------

    def _follow_dunning(self, events: list[dict]) -> None:
        """Who has been told a payment failed (and has not paid or ended since)."""
        for event in events:
            kind = event["type"]
            if kind not in ("invoice.payment_failed", "invoice.paid",
                            "customer.subscription.deleted"):
                continue
            owners = self._owners([event])
            if kind == "invoice.payment_failed":
                self.overdue |= owners
            else:
                self.overdue -= owners

    def _owners(self, events: list[dict]) -> set[int]:
        return set(self._customers({c for e in events if isinstance(
            c := e["data"]["object"].get("customer"), str)}).values())

    def _customers(self, customers: set[str]) -> dict[str, int]:
        """Our users by their Stripe customer id."""
        if not customers:
            return {}
        with self.app.app_context():
            return dict(db.session.execute(sa.select(
                BillingInfo.stripe_customer_id, BillingInfo.user_id).where(
                BillingInfo.stripe_customer_id.in_(customers))).all())
