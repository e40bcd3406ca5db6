"""What operators do to stored events, shared by `flask billing replay` and the console."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.webhooks.models import StripeEvent
from app.webhooks.processing import Outcome, replay


@dataclass(frozen=True)
class Replayed:
    """One replay: the event, what came of it, and the stored error if it still fails."""

    stripe_id: str
    type: str
    outcome: Outcome
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.outcome in (Outcome.FAILED, Outcome.MALFORMED)


def failed_condition() -> sa.ColumnElement[bool]:
    """Events not processed yet: their handling failed (or never finished)."""
    return StripeEvent.processed_at.is_(None)


def failed_events() -> list[StripeEvent]:
    """Every event not processed yet, oldest first: replayed in the order they happened."""
    return list(db.session.scalars(sa.select(StripeEvent).where(failed_condition())
                                   .order_by(StripeEvent.created.asc().nulls_last(),
                                             StripeEvent.id)))


def _last_error(stripe_id: str) -> str:
    db.session.rollback()  # see what the failed attempt stored
    return db.session.scalar(sa.select(StripeEvent.last_error)
                             .where(StripeEvent.stripe_id == stripe_id)) or "unknown error"


def replay_events(rows: Iterable[StripeEvent]) -> Iterator[Replayed]:
    """Handle each stored event again, each committed on its own (processed ones are left
    alone); what came of each, as it is done."""
    for row in rows:
        stripe_id, event_type = row.stripe_id, row.type
        outcome = replay(row, tracebacks=False)
        error = _last_error(stripe_id) if outcome in (Outcome.FAILED, Outcome.MALFORMED) \
            else None
        yield Replayed(stripe_id, event_type, outcome, error)
