"""The audit table of every verified Stripe event."""

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.auth.models import UTCDateTime, utcnow
from app.extensions import Model


class StripeEvent(Model):
    """One row per Stripe event id; the unique id is what makes delivery idempotent."""

    __tablename__ = "stripe_events"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    stripe_id: so.Mapped[str] = so.mapped_column(sa.String(255), unique=True)
    type: so.Mapped[str] = so.mapped_column(sa.String(100), index=True)
    livemode: so.Mapped[bool]
    # Stripe's time; None when the event's own `created` is malformed.
    created: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    received_at: so.Mapped[datetime] = so.mapped_column(
        UTCDateTime(), default=utcnow, index=True)
    processed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    # Why a processed event had no effect ("no handler", "livemode mismatch"), if it had none.
    note: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    # The body exactly as Stripe signed it (UTF-8 text of one JSON object).
    payload: so.Mapped[str] = so.mapped_column(sa.Text)

    @property
    def data(self) -> dict[str, Any]:
        """The stored body, parsed."""
        parsed: dict[str, Any] = json.loads(self.payload)  # one JSON object, checked on arrival
        return parsed

    @property
    def status(self) -> str:
        if self.processed_at is not None:
            return "processed"
        return "failed" if self.last_error else "pending"

    def __repr__(self) -> str:
        return f"<StripeEvent {self.stripe_id} {self.type} {self.status}>"
