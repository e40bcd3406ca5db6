"""Store and handle one verified Stripe event, exactly once.

The event row is written in the same transaction as the handler's effects: a new event
takes one INSERT … ON CONFLICT DO NOTHING, and its handler runs right after. A repeat of a
processed event does nothing. A handler that raises rolls back its effects; the row is then
kept (in a transaction of its own) with the error and attempt count, ready for a retry.
Concurrent deliveries of one event serialise on the unique event id: the second insert
waits for the first transaction and then finds the event processed.
"""

import enum
import functools
import logging
import typing
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from app.auth.models import utcnow
from app.billing import gateway
from app.extensions import db
from app.webhooks.models import StripeEvent
from app.webhooks.registry import HANDLERS, Event

log = logging.getLogger("app.webhooks")


class Outcome(enum.Enum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"  # already processed earlier: no effect
    IGNORED = "ignored"  # stored, but for the other mode (test vs live)
    UNHANDLED = "unhandled"  # stored; no handler for the type
    FAILED = "failed"

    @property
    def ok(self) -> bool:
        return self is not Outcome.FAILED

    @property
    def log_level(self) -> int:
        # Stripe's retries and types we do not handle are routine: the events table keeps
        # them, and the log keeps what changed something or needs a look.
        quiet = self in (Outcome.DUPLICATE, Outcome.UNHANDLED)
        return logging.DEBUG if quiet else logging.INFO


def receive(payload: dict) -> Outcome:
    """Store and handle a verified event payload; commits. Never raises for handler errors."""
    event_id, event_type = payload["id"], payload["type"]
    try:
        outcome = _insert_and_handle(payload)
        if outcome is None and _processed(event_id):  # Stripe's retry of a done event
            db.session.commit()
            log.debug("stripe event %s (%s): already processed, no effect",
                      event_id, event_type)
            return Outcome.DUPLICATE
        if outcome is None:  # stored before but not processed: lock the row and retry
            row = _claim(payload)
            outcome = Outcome.DUPLICATE if row.processed_at is not None else _handle(row)
        db.session.commit()
    except Exception as exc:  # the handler's effects are rolled back; the event is kept
        db.session.rollback()
        log.exception("stripe event %s (%s): handling failed", event_id, event_type)
        _record_failure(payload, exc)
        return Outcome.FAILED
    log.log(outcome.log_level, "stripe event %s (%s): %s", event_id, event_type,
            outcome.value)
    return outcome


def _decide(event_type: str, livemode: bool) -> tuple[Outcome, str | None]:
    """What handling an event of this type and mode amounts to, and the note to store."""
    if livemode != gateway.livemode():
        return Outcome.IGNORED, "livemode mismatch"
    if event_type not in HANDLERS:
        return Outcome.UNHANDLED, "no handler"
    return Outcome.PROCESSED, None


class _Statements(typing.NamedTuple):
    insert: sa.Insert  # … ON CONFLICT (stripe_id) DO NOTHING RETURNING id
    processed_at: sa.Select  # of one event, by Stripe id


@functools.cache
def _statements(dialect: str) -> _Statements:
    """The hot path's two statements, built once per dialect (no per-event compiling)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = StripeEvent.__table__
    return _Statements(
        insert=insert(table).on_conflict_do_nothing(
            index_elements=[table.c.stripe_id]).returning(table.c.id),
        processed_at=sa.select(table.c.processed_at).where(
            table.c.stripe_id == sa.bindparam("stripe_id")),
    )


def _insert_and_handle(payload: dict) -> Outcome | None:
    """The common case in one statement: store a new event as processed, then handle it
    in the same transaction (a failure rolls both back). None if the id is already stored;
    on PostgreSQL the insert first waits for a concurrent delivery of the same id."""
    livemode = bool(payload.get("livemode"))
    outcome, note = _decide(payload["type"], livemode)
    now = utcnow()
    # Core on the session's own connection: the same transaction as the handler's ORM work.
    connection = db.session.connection()
    inserted = connection.execute(_statements(connection.dialect.name).insert, {
        "stripe_id": payload["id"], "type": payload["type"], "livemode": livemode,
        "created": datetime.fromtimestamp(int(payload.get("created") or 0), timezone.utc),
        "received_at": now, "processed_at": now, "attempts": 1, "note": note,
        "payload": payload,
    }).scalar()
    if inserted is None:
        return None
    if outcome is Outcome.PROCESSED:
        HANDLERS[payload["type"]](Event.from_payload(payload))
    return outcome


def _processed(stripe_id: str) -> bool:
    """Whether a stored event was processed; once set, processed_at is never cleared."""
    connection = db.session.connection()
    return connection.execute(_statements(connection.dialect.name).processed_at,
                              {"stripe_id": stripe_id}).scalar() is not None


def _locked(stripe_id: str) -> StripeEvent | None:
    return db.session.scalar(
        sa.select(StripeEvent).where(StripeEvent.stripe_id == stripe_id)
        .with_for_update().execution_options(populate_existing=True))


def _claim(payload: dict, tries: int = 3) -> StripeEvent:
    """The event's row, inserted or locked, inside the current transaction."""
    for attempt in range(tries):
        row = _locked(payload["id"])
        if row is not None:
            return row
        row = _new_row(payload)
        db.session.add(row)
        try:
            db.session.flush()  # waits for a concurrent insert of the same id to finish
            return row
        except (IntegrityError, OperationalError):
            # Another delivery stored it first; nothing else is in this transaction yet.
            db.session.rollback()
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def _new_row(payload: dict) -> StripeEvent:
    return StripeEvent(
        stripe_id=payload["id"],
        type=payload["type"],
        livemode=bool(payload.get("livemode")),
        created=datetime.fromtimestamp(int(payload.get("created") or 0), timezone.utc),
        payload=payload,
    )


def _handle(row: StripeEvent) -> Outcome:
    """Handle a stored event that failed before (a retry or an operator's replay)."""
    row.attempts += 1
    outcome, row.note = _decide(row.type, row.livemode)
    if outcome is Outcome.PROCESSED:
        HANDLERS[row.type](Event.from_payload(row.payload))
    row.processed_at = utcnow()
    row.last_error = None
    return outcome


def _record_failure(payload: dict, exc: Exception) -> None:
    message = f"{type(exc).__name__}: {exc}"[:2000]
    for _ in range(3):
        try:
            row = _locked(payload["id"])
            if row is None:
                row = _new_row(payload)
                row.attempts = 0
                db.session.add(row)
            if row.processed_at is None:  # a concurrent delivery may have succeeded meanwhile
                row.attempts = (row.attempts or 0) + 1
                row.last_error = message
            db.session.commit()
            return
        except (IntegrityError, OperationalError):
            db.session.rollback()
    log.error("stripe event %s (%s): could not record the failure", payload["id"],
              payload["type"])


def replay(row: StripeEvent) -> Outcome:
    """Handle a stored event again (operators' replay); a processed one is left alone."""
    return receive(row.payload)
