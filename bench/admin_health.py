"""A believable day for the console's webhook and outbox pages, for `make screenshots`.

`events(now)` writes the last 24 hours of Stripe events as the webhook endpoint would have
stored them: more in the working day than at night, most processed within a second or two,
a few late (Stripe's own retries) and a few that failed with the long reasons real failures
have. `jobs(now)` writes the outbox as a worker would leave it: done jobs, jobs due now,
some waiting for their next attempt, some leased by a worker (one whose lease ran out) and
some failed for good. Rows only: nothing here is sent to Stripe or run.
"""

import json
import random
import string
from datetime import datetime, timedelta

import sqlalchemy as sa

SECOND, MINUTE, HOUR = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)

# What a small subscription business hears from Stripe, roughly as often.
TYPES = (("invoice.created", 8), ("invoice.finalized", 8), ("invoice.paid", 8),
         ("invoice.payment_succeeded", 8), ("customer.subscription.updated", 7),
         ("payment_intent.succeeded", 9), ("charge.succeeded", 9), ("customer.updated", 4),
         ("checkout.session.completed", 3), ("customer.subscription.created", 2),
         ("payment_method.attached", 2), ("invoice.payment_failed", 1),
         ("customer.subscription.deleted", 1), ("charge.refunded", 1))

FAILURES = (
    ("invoice.paid", 3, "OperationalError: (sqlite3.OperationalError) database is locked "
     "[SQL: UPDATE subscriptions SET status=?, current_period_start=?, current_period_end=?, "
     "updated_at=? WHERE subscriptions.stripe_subscription_id = ?] (Background on this error "
     "at: https://sqlalche.me/e/20/e3q8)"),
    ("customer.subscription.updated", 1, "MalformedObject: subscription {sub}: "
     "items.data[0].current_period_end is not a whole number of seconds (got "
     "'2026-12-06T09:00:00Z')"),
    ("invoice.payment_failed", 2, "StripeUnavailable: retrieve invoice {inv}: Stripe did not "
     "answer within 20 s (Read timed out. (read timeout=20)); Stripe will deliver the event "
     "again"),
    ("checkout.session.completed", 5, "RetryLater: the checkout session {cs} names user 48213, "
     "who has no pending checkout here; waiting for the checkout's own row before applying "
     "it"),
    ("charge.refunded", 1, "IntegrityError: (sqlite3.IntegrityError) UNIQUE constraint failed: "
     "credit_entries.referral_id, credit_entries.conversion, credit_entries.reason"),
)


def _id(rng: random.Random, prefix: str, length: int = 24) -> str:
    """An id shaped like Stripe's (never one Stripe knows)."""
    return prefix + "_" + "".join(rng.choices(string.ascii_letters + string.digits, k=length))


def _busy(hour: datetime) -> float:
    """Events an hour at that time of day (UTC): a quiet night, a busy afternoon."""
    return {0: 3, 1: 2, 2: 2, 3: 2, 4: 3, 5: 5, 6: 9, 7: 14, 8: 20, 9: 24, 10: 26, 11: 25,
            12: 27, 13: 30, 14: 31, 15: 28, 16: 26, 17: 22, 18: 18, 19: 16, 20: 14,
            21: 10, 22: 7, 23: 5}[hour.hour]


def events(now: datetime, seed: int = 22) -> int:
    """Write the last 24 hours of events (in an app context; committed); how many."""
    from app.extensions import db
    from app.webhooks.models import StripeEvent

    rng = random.Random(seed)
    names, weights = zip(*TYPES, strict=True)
    rows = []
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    for back in range(23, -1, -1):
        hour = this_hour - back * HOUR
        for _ in range(max(0, round(rng.gauss(_busy(hour), _busy(hour) ** 0.5)))):
            received = hour + rng.uniform(0, 3600) * SECOND
            if received >= now:
                continue
            late = rng.random() < 0.03  # delivered again by Stripe after a failed attempt
            created = received - (rng.uniform(60, 1800) if late else rng.uniform(0.2, 2.5)) * SECOND
            rows.append(_event(rng, rng.choices(names, weights)[0], created, received,
                               processed=received + rng.uniform(0.02, 0.6) * SECOND))
    for n, (kind, attempts, reason) in enumerate(FAILURES):
        received = now - (20 - 4 * n) * HOUR + rng.uniform(0, 3000) * SECOND
        rows.append(_event(rng, kind, received - rng.uniform(0.3, 2) * SECOND, received,
                           processed=None, attempts=attempts,
                           error=reason.format(sub=_id(rng, "sub"), inv=_id(rng, "in"),
                                               cs=_id(rng, "cs_test", 58))))
    db.session.execute(sa.insert(StripeEvent), rows)
    db.session.commit()
    return len(rows)


def _event(rng: random.Random, kind: str, created: datetime, received: datetime, *,
           processed: datetime | None, attempts: int = 1,
           error: str | None = None) -> dict[str, object]:
    stripe_id = _id(rng, "evt")
    body = {"id": stripe_id, "object": "event", "type": kind, "livemode": False,
            "created": int(created.timestamp()),
            "data": {"object": {"id": _id(rng, kind.split(".")[0][:3])}}}
    return {"stripe_id": stripe_id, "type": kind, "livemode": False, "created": created,
            "received_at": received, "processed_at": processed, "attempts": attempts,
            "last_error": error, "note": None, "payload": json.dumps(body)}


def jobs(now: datetime, seed: int = 22) -> None:
    """Write an outbox a worker has been busy with (in an app context; committed)."""
    from app.extensions import db
    from app.outbox.models import Job

    rng = random.Random(seed)
    rows: list[dict[str, object]] = []

    def job(kind: str, key: str, status: str, created: datetime, **state: object) -> None:
        rows.append({"kind": kind, "key": key, "payload": {"key": key}, "status": status,
                     "attempts": 0, "run_after": created, "locked_until": None,
                     "locked_by": None, "last_error": None, "result": None,
                     "created_at": created, "finished_at": None, **state})

    def email(template: str, record: str) -> str:
        return f"email:{template}:{record}:{rng.randrange(1000, 1400)}"

    for _ in range(140):  # the day's work, done
        created = now - rng.uniform(0.2, 24) * HOUR
        job("email", email("payment_receipt", _id(rng, "in")), "done", created, attempts=1,
            finished_at=created + rng.uniform(1, 20) * SECOND, result="sent")
    for _ in range(3):  # queued a moment ago: due now
        created = now - rng.uniform(5, 50) * SECOND
        job("invoice-paid", f"invoice-paid:{rng.randrange(5000, 6000)}", "pending", created)
    created = now - 9 * MINUTE  # failed once; its next attempt is in a few minutes
    job("email", email("payment_failed", _id(rng, "in")), "pending", created, attempts=2,
        run_after=now + 4 * MINUTE, last_error="SMTPServerDisconnected: Connection unexpectedly "
        "closed by smtp.mail-relay.example.net while sending DATA")
    job("retry-invoice", f"retry-invoice:{_id(rng, 'in')}", "pending", now - 2 * HOUR,
        run_after=now + 22 * HOUR)
    for worker, minutes in (("worker-1.prod:4817", 4.5), ("worker-2.prod:5230", 2.0)):
        job("email", email("trial_will_end", _id(rng, "sub")), "running", now - MINUTE,
            attempts=1, locked_by=worker, locked_until=now + minutes * MINUTE)
    job("grace-end", f"grace-end:{_id(rng, 'sub')}:2", "running", now - 25 * MINUTE, attempts=3,
        locked_by="worker-3.prod:901", locked_until=now - 6 * MINUTE)  # its worker died
    failed = (
        ("email", email("payment_receipt", _id(rng, "in")), 5,
         "SMTPRecipientsRefused: {'rosa.quinn.1187@example.com': (550, b'5.1.1 <rosa.quinn."
         "1187@example.com>: Recipient address rejected: User unknown in virtual mailbox "
         "table')}"),
        ("stop-unneeded-subscription", f"stop-unneeded-{rng.randrange(100, 400)}", 5,
         f"CardError: update subscription {_id(rng, 'sub')}: This customer has no attached "
         "payment source or default payment method. Please consider adding a default payment "
         "method."),
        ("invoice-pdf", f"invoice-pdf:{_id(rng, 'in')}", 1,
         "no runner for job kind 'invoice-pdf'"),
        ("grace-end", f"grace-end:{_id(rng, 'sub')}:1", 5,
         "the worker stopped during each of its 5 attempts"),
    )
    for n, (kind, key, attempts, reason) in enumerate(failed):
        finished = now - (3 + 5 * n) * HOUR
        job(kind, key, "failed", finished - HOUR, attempts=attempts, finished_at=finished,
            last_error=reason)
    db.session.execute(sa.insert(Job), rows)
    db.session.commit()
