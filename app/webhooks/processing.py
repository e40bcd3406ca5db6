"""Store and handle one verified Stripe event, exactly once.

One statement claims an event: INSERT … ON CONFLICT (stripe_id) DO UPDATE … WHERE
processed_at IS NULL RETURNING id. It stores a new event, or takes over a stored one that was never
processed (Stripe's retry after a failure, an operator's replay), marking it processed;
for an event processed before it returns no row, and the delivery is a duplicate with no
effect. The handler runs right after, in the same transaction (the ORM session's), so the
row and the handler's effects commit together or not at all. A handler that raises rolls
both back; a second upsert, in a transaction of its own, then keeps the event with its
error and attempt count, ready for the retry. An event with no handler to run (an unknown
type, the other mode) is stored by the claim alone, in a Core transaction: no ORM session.

Concurrent deliveries of one event serialise on the unique event id: the second statement
waits for the first transaction, then finds the event processed (no row), or
claims it itself if the first rolled back.
"""

import enum
import functools
import logging
import typing
from datetime import datetime, timezone

import sqlalchemy as sa

from app.auth.models import utcnow
from app.billing import gateway
from app.extensions import db
from app.webhooks.models import StripeEvent
from app.webhooks.registry import HANDLERS, Event

log = logging.getLogger("app.webhooks")


class Outcome(enum.Enum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"  # processed before: no effect
    IGNORED = "ignored"  # stored, but for the other mode (test vs live)
    UNHANDLED = "unhandled"  # stored; no handler for the type
    FAILED = "failed"

    @property
    def ok(self) -> bool:
        return self is not Outcome.FAILED


def receive(payload: dict) -> Outcome:
    """Store and handle a verified event payload; commits. Never raises for handler errors."""
    event_id, event_type = payload["id"], payload["type"]
    outcome, note = _decide(event_type, bool(payload.get("livemode")))
    try:
        if outcome is Outcome.PROCESSED:
            # Core on the session's own connection: one transaction with the handler's work.
            claimed = _claim(db.session.connection(), payload, note)
            if claimed:
                HANDLERS[event_type](Event.from_payload(payload))
            db.session.commit()
        else:  # nothing to run, so no ORM session: store it and answer
            with db.engine.begin() as connection:
                claimed = _claim(connection, payload, note)
        if not claimed:
            outcome = Outcome.DUPLICATE
    except Exception as exc:  # the handler's effects are rolled back; the event is kept
        db.session.rollback()
        log.exception("stripe event %s (%s): handling failed", event_id, event_type)
        _record_failure(payload, exc)
        return Outcome.FAILED
    log.info("stripe event %s (%s): %s", event_id, event_type, outcome.value)
    return outcome


def replay(row: StripeEvent) -> Outcome:
    """Handle a stored event again (operators' replay); a processed one is left alone."""
    return receive(row.payload)


def _decide(event_type: str, livemode: bool) -> tuple[Outcome, str | None]:
    """What handling an event of this type and mode amounts to, and the note to store."""
    if livemode != gateway.livemode():
        return Outcome.IGNORED, "livemode mismatch"
    if event_type not in HANDLERS:
        return Outcome.UNHANDLED, "no handler"
    return Outcome.PROCESSED, None


def _claim(connection: sa.Connection, payload: dict, note: str | None) -> bool:
    """Store the event as processed, or mark a stored unprocessed one so. False if it was
    processed before: a duplicate, with nothing to do."""
    now = utcnow()
    claimed = connection.execute(_upserts(connection.dialect.name).claim, {
        **_columns(payload), "received_at": now, "processed_at": now, "attempts": 1,
        "note": note, "last_error": None,
    }).scalar()
    return claimed is not None


def _record_failure(payload: dict, exc: Exception) -> None:
    """Keep the event with its error and one more attempt, unless a concurrent delivery
    processed it meanwhile; in a transaction of its own."""
    try:
        connection = db.session.connection()
        connection.execute(_upserts(connection.dialect.name).fail, {
            **_columns(payload), "received_at": utcnow(), "processed_at": None,
            "attempts": 1, "note": None,
            "last_error": f"{type(exc).__name__}: {exc}"[:2000],
        })
        db.session.commit()
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        log.exception("stripe event %s (%s): could not record the failure", payload["id"],
                      payload["type"])


def _columns(payload: dict) -> dict:
    return {
        "stripe_id": payload["id"], "type": payload["type"],
        "livemode": bool(payload.get("livemode")),
        "created": datetime.fromtimestamp(int(payload.get("created") or 0), timezone.utc),
        "payload": payload,
    }


class _Upserts(typing.NamedTuple):
    claim: sa.Insert  # … DO UPDATE SET processed_at … WHERE unprocessed RETURNING id
    fail: sa.Insert  # … DO UPDATE SET last_error, attempts + 1 WHERE unprocessed


@functools.cache
def _upserts(dialect: str) -> _Upserts:
    """The two statements, built once per dialect (both speak ON CONFLICT … DO UPDATE)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = StripeEvent.__table__
    unprocessed = table.c.processed_at.is_(None)
    claim, fail = insert(table), insert(table)
    return _Upserts(
        claim=claim.on_conflict_do_update(
            index_elements=[table.c.stripe_id], where=unprocessed,
            set_={"processed_at": claim.excluded.processed_at, "note": claim.excluded.note,
                  "last_error": None, "attempts": table.c.attempts + 1},
        ).returning(table.c.id),
        fail=fail.on_conflict_do_update(
            index_elements=[table.c.stripe_id], where=unprocessed,
            set_={"last_error": fail.excluded.last_error, "attempts": table.c.attempts + 1},
        ),
    )
