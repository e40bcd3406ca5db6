"""Customers' billing rows written in bulk, for the console's overview: what
bench/admin_overview.py (100,000 customers, to time the figures) and bench/admin_history.py
(a few hundred with a believable 90 days, for `make screenshots`) both write.

Plain Core inserts of dicts, a chunk at a time, as the app's webhooks would have left the
rows; in an app context, on a migrated database. Each table's defaults fill the columns a
caller leaves out, so every row of one insert has the same keys.
"""

from typing import Any

import sqlalchemy as sa

# In the order they are inserted: a row only points at rows of the tables before it.
TABLES = ("users", "subscriptions", "invoices", "user_upgrades", "referrals", "credit_entries")

DEFAULTS: dict[str, dict[str, Any]] = {
    "users": {"password_hash": "x", "level": "member", "is_admin": False,
              "session_token": "t", "credit_until": None},
    "subscriptions": {"stripe_price_id": "price", "trial_start": None, "trial_end": None,
                      "cancel_at_period_end": False, "canceled_at": None, "ended_at": None,
                      "payment_failed_at": None, "credit_days": 0},
    "invoices": {"status": "paid", "amount_refunded": 0, "refunded_at": None,
                 "paid_at": None, "failed_at": None, "lines": [], "tax": 0,
                 "needs_action": False, "description": "", "billing_reason": None},
    "user_upgrades": {"type": "gold", "status": "complete", "level_before": "member",
                      "amount_refunded": 0, "refunded_at": None},
    "referrals": {"converted_at": None, "credited_at": None, "conversions": 0},
    "credit_entries": {"referral_id": None, "conversion": None, "note": None},
}


class Batch:
    """Rows waiting to be inserted, by table; written every `chunk` users and on `commit`."""

    def __init__(self, chunk: int = 5_000) -> None:
        self.chunk = chunk
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}

    def add(self, table: str, **row: Any) -> None:
        self.rows[table].append({**DEFAULTS[table], **row})
        if table == "users" and len(self.rows["users"]) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        from app.extensions import db

        for name in TABLES:
            if self.rows[name]:
                db.session.execute(sa.insert(db.metadata.tables[name]), self.rows[name])
                self.rows[name].clear()

    def commit(self) -> None:
        from app.extensions import db

        self.flush()
        db.session.commit()
