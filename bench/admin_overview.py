"""The console's overview on many customers: `python -m bench.admin_overview`.

Seeds N customers (default 100,000) with bulk inserts into a fresh, migrated database
(a temporary SQLite file; `--db postgres` a scratch PostgreSQL database, see
bench/servers.py), then times `app.admin.metrics.overview()` (all its queries, the figures
built) against a floor measured in the same run: one pass over the invoices, the largest
table it reads, reading a column of every row (`SELECT sum(amount_paid) FROM invoices`: a
bare `count(*)` may count a small index instead). Prints each time (the median of
`--repeat` runs) and the ratio overview/floor. Not part of `make test`; `seed` is also
what the query-count test uses.
"""

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.admin_rows import Batch

DAY = timedelta(days=1)
CHUNK = 5_000


def seed(n: int, now: datetime, first_id: int = 1) -> None:
    """Insert `n` customers in bulk (in an app context; committed): a mix of monthly,
    annual, trialing, past-due and cancelled subscribers with their invoices, every fifth
    with an upgrade, every fourth referred (half of them converted, with credit)."""
    batch = Batch(CHUNK)
    for uid in range(first_id, first_id + n):
        start = now - (uid % 120) * DAY - timedelta(hours=uid % 24)
        batch.add("users", id=uid, email=f"c{uid}@example.com", username=f"c{uid}",
                  created_at=start, referral_code=f"r{uid}")
        kind = uid % 10
        interval, amount = ("year", 12000) if kind == 6 else ("month", 1000)
        status = {7: "trialing", 8: "past_due", 9: "canceled"}.get(kind, "active")
        sid = f"sub_{uid}"
        batch.add("subscriptions",
                  user_id=uid, stripe_subscription_id=sid, stripe_customer_id=f"cus_{uid}",
                  status=status, stripe_item_id=f"si_{uid}", interval=interval, amount=amount,
                  currency="gbp", current_period_start=start,
                  current_period_end=start + 30 * DAY,
                  trial_start=start if kind == 7 else None,
                  trial_end=start + 14 * DAY if kind == 7 else None,
                  ended_at=start + 40 * DAY if kind == 9 and start + 40 * DAY < now else None,
                  snapshot_at=now, created_at=start)
        periods = 1 if kind in (6, 7) else 4
        for p in range(periods):
            begins = start + p * 30 * DAY
            if begins > now:
                break
            ends = begins + (365 if kind == 6 else 14 if kind == 7 else 30) * DAY
            failing = kind == 8 and p == periods - 1
            paid = 0 if kind == 7 else amount
            refunded = uid % 97 == 0 and not failing
            batch.add("invoices",
                      user_id=uid, stripe_invoice_id=f"in_{uid}_{p}", stripe_subscription_id=sid,
                      status="open" if failing else "paid", currency="gbp",
                      period_start=begins, period_end=ends, created_at=begins,
                      amount_due=amount, amount_paid=0 if failing else paid,
                      amount_refunded=amount if refunded else 0,
                      refunded_at=begins + DAY if refunded else None,
                      paid_at=None if failing else begins,
                      failed_at=begins + DAY if failing or uid % 13 == 0 else None)
        if uid % 5 == 0:
            batch.add("user_upgrades", purchaser_id=uid, recipient_id=uid, amount=2500,
                      currency="gbp", completed_at=start, created_at=start, updated_at=start)
        if uid % 4 == 0 and uid > first_id:
            converted = start + DAY if uid % 8 == 0 else None
            batch.add("referrals", id=uid, referrer_id=uid - 1, referred_id=uid,
                      created_at=start, converted_at=converted,
                      conversions=1 if converted else 0)
            if converted:
                for who, reason in ((uid - 1, "referral_given"), (uid, "referral_received")):
                    batch.add("credit_entries", user_id=who, days=30, reason=reason,
                              referral_id=uid, conversion=1, created_at=converted)
    batch.commit()


@contextlib.contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "postgres":
        from bench.servers import postgres_database

        with postgres_database() as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="bench-admin-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


def timed(call: Any, repeat: int) -> float:
    """The median wall time of `repeat` calls, in seconds (after one warm-up call)."""
    call()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def run(kind: str, customers: int, repeat: int) -> dict[str, Any]:
    from flask_migrate import upgrade

    from app import create_app
    from app.admin.metrics import overview
    from app.config import normalise_database_url
    from app.extensions import db

    with database(kind) as url:
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "BILLING_ENABLED": False,
                          "STRIPE_SECRET_KEY": "", "SERVER_NAME": None,
                          "SQLALCHEMY_DATABASE_URI": normalise_database_url(url)})
        with app.app_context():
            upgrade()
            now = datetime.now(UTC)
            began = time.perf_counter()
            seed(customers, now)
            seeded = time.perf_counter() - began
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.execute(sa.text("VACUUM ANALYZE"))
            invoices = db.session.scalar(sa.text("SELECT count(*) FROM invoices"))

            def floor() -> None:
                db.session.scalar(sa.text("SELECT sum(amount_paid) FROM invoices"))
                db.session.rollback()

            def figures() -> None:
                overview(now)
                db.session.rollback()

            floor_s, overview_s = timed(floor, repeat), timed(figures, repeat)
            db.session.remove()
            db.engine.dispose()
    return {"db": kind, "customers": customers, "invoices": invoices, "seed_s": seeded,
            "floor_s": floor_s, "overview_s": overview_s, "ratio": overview_s / floor_s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    result = run(args.db, args.customers, args.repeat)
    print(f"{result['db']}: {result['customers']:,} customers, {result['invoices']:,} invoices "
          f"(seeded in {result['seed_s']:.1f} s)")
    print(f"  floor (SELECT sum(amount_paid) FROM invoices): {result['floor_s'] * 1000:.1f} ms")
    print(f"  overview (every figure; median of {args.repeat}): "
          f"{result['overview_s'] * 1000:.1f} ms")
    print(f"  ratio overview/floor: {result['ratio']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
