"""The world a simulation lives in: the app on its database, the Stripe emulator's
whole-world clock with the app's clock following it, the courier that delivers Stripe's
events to the webhook endpoint, and the worker.

Why the whole-world clock (`/_emulator/clock/advance`) and not a test clock per user: the
app has one "now" (`app.auth.models.CLOCK_OFFSET`), so every user's clock would have to be
advanced in lockstep anyway (one request per user per simulated day instead of one), and
the app creates its Stripe customers without `test_clock`. Both advances run the same
calendar code in the emulator (`ops/calendar.py`): renewals in two moments, retries,
reminders, each event dated at its own moment.
"""

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import requests

import app.auth.models as auth_models
from app.extensions import db
from app.outbox.worker import work
from tests.stripe_objects import signature_header

DAY = 86_400
API_KEY = "sk_test_emulator"
WEBHOOK_SECRET = "whsec_simulation"
# Stripe retries a failed delivery for up to three days.
RETRY_FOR = 3 * DAY


class Stripe:
    """The emulator over HTTP: its API (as the SDK would call it) and its control
    endpoints."""

    def __init__(self, url: str):
        self.url = url
        self.http = requests.Session()
        self.http.trust_env = False  # no proxy look-up per request: 127.0.0.1 only
        self.http.headers["Authorization"] = f"Bearer {API_KEY}"

    def control(self, method: str, path: str, **body) -> dict:
        response = self.http.request(method, f"{self.url}/_emulator/{path}",
                                     json=body or None, timeout=60)
        if response.status_code >= 500:
            raise RuntimeError(f"emulator {path}: {response.status_code} {response.text}")
        return response.json()

    def get(self, path: str, params: Iterable[tuple[str, object]] = ()) -> dict:
        response = self.http.get(f"{self.url}/v1/{path}", params=list(params), timeout=60)
        response.raise_for_status()
        return response.json()

    def now(self) -> int:
        return int(self.control("GET", "clock")["now"])


@dataclass
class Delivery:
    event: dict
    body: bytes
    first_failed_at: int | None = None  # emulator time of the first non-2xx answer
    ok: bool = False  # answered 2xx at least once


@dataclass
class Courier:
    """Stripe's deliveries to the app's webhook endpoint, made deterministic: after each
    step every new event of a type the endpoint takes is delivered at least once, some
    twice, all in a seeded random order (Stripe promises no order); a delivery answered
    non-2xx is delivered again in a later round, for up to three simulated days."""

    client: object  # the app's Flask test client
    stripe: Stripe
    rng: random.Random
    types: list[str]
    duplicate: float  # the share of deliveries made twice
    seen: set[str] = field(default_factory=set)
    retrying: list[Delivery] = field(default_factory=list)
    given_up: list[Delivery] = field(default_factory=list)
    malformed: list[dict] = field(default_factory=list)
    events: int = 0
    posts: int = 0
    failures: int = 0  # non-2xx answers
    # Every post since the last `drain()`: (event, status code), in the order posted.
    log: list[tuple[dict, int]] = field(default_factory=list)
    since: int = 0  # emulator time: no unseen event is older than this

    def new_events(self) -> list[dict]:
        """Events not seen before, oldest first."""
        found, cursor = [], None
        while True:
            params = [("types[]", t) for t in self.types]
            params += [("created[gte]", self.since - 1), ("limit", 100)]
            if cursor:
                params.append(("starting_after", cursor))
            page = self.stripe.get("events", params)
            data = page["data"]
            found.extend(e for e in data if e["id"] not in self.seen)
            if not page["has_more"] or not data:
                break
            cursor = data[-1]["id"]
        found.reverse()
        self.seen.update(e["id"] for e in found)
        self.events += len(found)
        return found

    def round(self, now: int) -> list[dict]:
        """Deliver what is new and what waits for a retry; returns the new events."""
        new = self.new_events()
        batch = [Delivery(e, json.dumps(e).encode()) for e in new] + self.retrying
        posts = batch + [d for d in batch if self.rng.random() < self.duplicate]
        self.rng.shuffle(posts)
        for delivery in posts:
            if self._send(delivery):
                delivery.ok = True
            else:
                self.failures += 1
                delivery.first_failed_at = delivery.first_failed_at or now
        self.retrying = []
        for delivery in batch:
            if delivery.ok:
                continue
            assert delivery.first_failed_at is not None
            if now - delivery.first_failed_at >= RETRY_FOR:
                self.given_up.append(delivery)
            else:
                self.retrying.append(delivery)
        return new

    def _send(self, delivery: Delivery) -> bool:
        self.posts += 1
        response = self.client.post(  # type: ignore[attr-defined]
            "/webhooks/stripe", data=delivery.body, headers={
                "Content-Type": "application/json",
                "Stripe-Signature": signature_header(delivery.body, WEBHOOK_SECRET)})
        self.log.append((delivery.event, response.status_code))
        if response.status_code == 200 and \
                (response.get_json(silent=True) or {}).get("outcome") == "malformed":
            # Kept as failed and answered 2xx (a retry of the same bytes cannot help):
            # an event Stripe sent that the app could not read.
            self.malformed.append(delivery.event)
        return 200 <= response.status_code < 300

    def failed_for_good(self) -> list[tuple[dict, str]]:
        """Events no delivery will fix, with why (each said once by the caller)."""
        return [(d.event, "answered non-2xx for three days") for d in self.given_up] + \
            [(e, "kept as malformed") for e in self.malformed]

    def drain(self) -> list[tuple[dict, int]]:
        log, self.log = self.log, []
        return log


class World:
    """The app, the emulator and their clocks; `settle()` runs deliveries and the worker
    until nothing new happens."""

    def __init__(self, app, stripe: Stripe, mailbox, rng: random.Random, types: list[str],
                 duplicate: float):
        self.app = app
        self.stripe = stripe
        self.mailbox = mailbox  # the SMTP server's (tests/mailbox.py)
        self.client = app.test_client()
        self.runner = app.test_cli_runner()
        self.courier = Courier(self.client, stripe, rng, types, duplicate)
        self.jobs = 0
        self.follow()
        self.courier.since = self.now

    @property
    def now(self) -> int:
        """The emulator's time (and the app's), in Unix seconds."""
        return int(auth_models.utcnow().timestamp())

    def follow(self) -> None:
        """Set the app's clock to the emulator's."""
        offset = self.stripe.control("GET", "clock")["offset"]
        auth_models.CLOCK_OFFSET = timedelta(seconds=offset)

    def start_at(self, moment: datetime) -> None:
        """Move the emulator's clock (and the app's) to `moment`, if it is ahead."""
        ahead = int((moment - datetime.now(UTC)).total_seconds()) - \
            self.stripe.control("GET", "clock")["offset"]
        if ahead > 0:
            self.stripe.control("POST", "clock/advance", seconds=ahead)
        self.follow()
        self.courier.since = self.now

    def advance(self, seconds: int) -> None:
        self.stripe.control("POST", "clock/advance", seconds=seconds)
        self.follow()

    def run_worker(self) -> int:
        with self.app.app_context():
            ran = work(worker="simulation", once=True)
            db.session.remove()
        self.jobs += ran
        return ran

    def settle(self, rounds: int = 8) -> list[dict]:
        """Deliver new events and run due jobs until quiet; the events delivered."""
        delivered: list[dict] = []
        for _ in range(rounds):
            listed_at = self.now  # whatever comes later is created at this time or after
            new = self.courier.round(listed_at)
            delivered += new
            ran = self.run_worker()
            if not new and not ran:
                break
        self.courier.since = listed_at
        return delivered
